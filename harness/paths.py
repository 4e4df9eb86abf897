"""Where the harness keeps its own state: never inside the user's work tree."""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path


def repo_identity(repo: Path) -> str:
    """The repository's root commit (stable across clones and paths), else a hash of the path."""
    proc = subprocess.run(
        ["git", "rev-list", "--max-parents=0", "HEAD"], cwd=repo, capture_output=True, text=True
    )
    roots = proc.stdout.split()
    if proc.returncode == 0 and roots:
        return sorted(roots)[0][:16]
    return hashlib.sha256(str(repo.resolve()).encode()).hexdigest()[:16]


def cache_dir(repo: Path) -> Path:
    """A per-repository cache dir: $FIXGUARD_CACHE_DIR, else $XDG_CACHE_HOME or ~/.cache/fixguard.

    Keyed by the root commit, so a fresh CI clone (restore it with actions/cache) and every
    materialised sample share finished mutants; results are keyed by content, never by path.
    """
    configured = os.environ.get("FIXGUARD_CACHE_DIR")
    if configured:
        base = Path(configured)
    else:
        base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "fixguard"
    path = base / f"{repo.name}-{repo_identity(repo)}"
    path.mkdir(parents=True, exist_ok=True)
    return path
