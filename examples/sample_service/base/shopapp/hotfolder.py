"""A hot folder: files dropped into it are imported once, by scan()."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

logger = logging.getLogger(__name__)


class HotFolder:
    def __init__(self, folder: str | Path, handler: Callable[[str, bytes], None]):
        self.folder = Path(folder)
        self._handler = handler
        self._done: set[str] = set()

    def scan(self) -> list[str]:
        """Import every new file in the folder; returns the names imported."""
        imported = []
        for path in sorted(self.folder.iterdir()):
            if not path.is_file() or path.name in self._done:
                continue
            self._handler(path.name, path.read_bytes())
            self._done.add(path.name)
            imported.append(path.name)
        return imported
