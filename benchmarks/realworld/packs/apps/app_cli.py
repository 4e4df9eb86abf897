"""The command line every app here takes, and the uvicorn call that serves the ASGI ones.

The apps import it as a sibling module: `python apps/NAME.py` puts this folder first on
sys.path. Like them it runs in the release's venv, so it imports only the standard library,
and uvicorn only when it serves an ASGI app (the other releases' venvs have none).
"""

from __future__ import annotations

import argparse
from typing import Any

HOST = "127.0.0.1"


def arguments(description: str | None = None, *, directory: bool = False) -> argparse.Namespace:
    """`--port` (required); with `directory`, also the `--directory` the app serves."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--port", type=int, required=True)
    if directory:
        parser.add_argument("--directory", required=True)
    return parser.parse_args()


def serve_asgi(app: Any, port: int) -> None:
    """Serve `app` on loopback until stopped, logging only warnings."""
    import uvicorn

    uvicorn.run(app, host=HOST, port=port, log_level="warning")
