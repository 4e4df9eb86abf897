"""Where the harness keeps its own state: never inside the user's work tree."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from . import git
from .errors import UserError


def repo_identity(repo: Path) -> str:
    """The repository's root commit (stable across clones and paths), else a hash of the path."""
    try:
        proc = git.run(repo, "rev-list", "--max-parents=0", "HEAD")
    except UserError:  # no git, or not a folder
        return hashlib.sha256(str(repo.resolve()).encode()).hexdigest()[:16]
    roots = proc.stdout.split()
    if proc.returncode == 0 and roots:
        return sorted(roots)[0][:16]
    return hashlib.sha256(str(repo.resolve()).encode()).hexdigest()[:16]


def cache_dir(repo: Path) -> Path:
    """A per-repository cache dir: $FIXGUARD_CACHE_DIR, else $XDG_CACHE_HOME or ~/.cache/fixguard.

    Keyed by the root commit, so a fresh CI clone (restore it with actions/cache) and every
    materialised sample share finished mutants; results are keyed by content, never by path.
    """
    path = _cache_base() / f"{repo.name}-{repo_identity(repo)}"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _cache_base() -> Path:
    configured = os.environ.get("FIXGUARD_CACHE_DIR")
    if configured:
        return Path(configured)
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "fixguard"


def bytecode_dir() -> Path:
    """Where test runs keep compiled modules (PYTHONPYCACHEPREFIX): never beside the sources.

    pytest rewrites and compiles every test module, conftest.py and plugin module again in
    each run when nothing may be written, and a run's checkouts are new temp dirs; the prefix
    mirrors each source's absolute path, so the installed packages' compiled modules are shared
    by every run, and a checkout's are removed with it (`harness.cleanup`).
    `$FIXGUARD_BYTECODE_DIR` puts it elsewhere: compiled code depends on its source alone, so a
    calibration that gives each case a fresh result store can still share it.
    """
    configured = os.environ.get("FIXGUARD_BYTECODE_DIR")
    return Path(configured) if configured else _cache_base() / "bytecode"


def bytecode_env() -> dict[str, str]:
    """Env for a test run that may cache compiled modules in `bytecode_dir()`.

    An empty PYTHONDONTWRITEBYTECODE counts as unset, so this turns writing back on even where
    the user's environment turns it off: the files go to the prefix, never into their tree.
    """
    return {"PYTHONDONTWRITEBYTECODE": "", "PYTHONPYCACHEPREFIX": str(bytecode_dir())}


def bytecode_mirror(path: Path | str) -> Path:
    """The prefix's copy of the folder `path`: the compiled modules of the sources under it."""
    return bytecode_dir() / Path(os.path.abspath(path)).relative_to("/")
