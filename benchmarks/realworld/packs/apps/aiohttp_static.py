"""aiohttp's static route at /static over a directory, with follow_symlinks=True.

    python aiohttp_static.py --port PORT --directory DIR

follow_symlinks=True is the setting CVE-2024-23334 needs: operators turn it on to serve links
they placed inside the static folder. Runs in the release's venv; it must import nothing from
Fixguard.
"""

from __future__ import annotations

from aiohttp import web
from app_cli import arguments


async def health(request: web.Request) -> web.Response:
    return web.Response(text="ok")


def main() -> None:
    args = arguments(directory=True)
    app = web.Application()
    app.router.add_get("/health", health)
    app.router.add_static("/static", args.directory, follow_symlinks=True)
    web.run_app(app, host="127.0.0.1", port=args.port, print=None)


if __name__ == "__main__":
    main()
