"""The dev server of `mkdocs serve` (mkdocs.livereload.LiveReloadServer) over a directory.

    python mkdocs_livereload.py --port PORT --directory DIR

`mkdocs serve` points this server at the built site; here it points at the directory given,
with no builder (nothing is rebuilt, so every request is answered at once). Runs in the
release's venv; it must import nothing from Fixguard.
"""

from __future__ import annotations

from app_cli import arguments
from mkdocs.livereload import LiveReloadServer


def main() -> None:
    args = arguments(directory=True)
    server = LiveReloadServer(
        builder=lambda: None, host="127.0.0.1", port=args.port, root=args.directory
    )
    server.serve_forever()


if __name__ == "__main__":
    main()
