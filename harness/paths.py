"""Where the harness keeps its own state: never inside the user's work tree."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path


def cache_dir(repo: Path) -> Path:
    """A per-repository cache dir under $XDG_CACHE_HOME (or ~/.cache)/fixguard."""
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "fixguard"
    key = hashlib.sha256(str(repo.resolve()).encode()).hexdigest()[:16]
    path = base / f"{repo.name}-{key}"
    path.mkdir(parents=True, exist_ok=True)
    return path
