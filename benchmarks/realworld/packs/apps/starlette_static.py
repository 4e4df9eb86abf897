"""Starlette's StaticFiles mounted at /static over a directory, served by uvicorn.

    python starlette_static.py --port PORT --directory DIR

The app a user of the release would write: the package's own StaticFiles, nothing in front of
it, so whatever the check sees is the release's behaviour. Runs in the release's venv; it must
import nothing from Fixguard.
"""

from __future__ import annotations

from app_cli import arguments, serve_asgi
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles


async def health(request: Request) -> PlainTextResponse:
    return PlainTextResponse("ok")


def main() -> None:
    args = arguments(directory=True)
    app = Starlette(
        routes=[
            Route("/health", health),
            Mount("/static", app=StaticFiles(directory=args.directory), name="static"),
        ]
    )
    serve_asgi(app, args.port)


if __name__ == "__main__":
    main()
