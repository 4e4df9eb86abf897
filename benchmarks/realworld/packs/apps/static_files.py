"""A download service on Starlette: GET /files/{name} serves files with StaticFiles.

The service under test for Starlette's FileResponse: a Range header is parsed on the event loop
thread before the file is opened, so whatever that parser costs, every other request waits for.
It serves a 64 KiB report written to a temporary folder at startup.

    python static_files.py --port 8000
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from app_cli import arguments, serve_asgi
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

FILES = Path(tempfile.mkdtemp(prefix="fixguard-static-"))
(FILES / "report.csv").write_bytes(b"day,orders\n" + b"2026-01-01,17\n" * 4680)


async def health(request: Request) -> JSONResponse:
    return JSONResponse({"ok": True})


app = Starlette(
    routes=[
        Route("/health", health),
        Mount("/files", app=StaticFiles(directory=FILES), name="files"),
    ]
)


def main() -> None:
    serve_asgi(app, arguments(__doc__.splitlines()[0]).port)


if __name__ == "__main__":
    main()
