"""Every git command the harness runs: one runner, one set of messages for what goes wrong.

Read-only except where a caller asks otherwise (worktrees, the sample's commits). Paths come
back as they are (`café.py`, `my mod.py`), never as quoted octal escapes, and a bad ref or a
folder that is not a repository gets the same message wherever it is met.
"""

from __future__ import annotations

import io
import logging
import subprocess
import tarfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .errors import UserError

log = logging.getLogger(__name__)

#: Paths in git's output as they are (`café.py`), not as quoted octal escapes, which would not
#: name a file (and would not end in `.py`).
QUOTE_PATHS_AS_THEY_ARE = ("-c", "core.quotePath=false")
_BAD_REF_HINT = "check the branch or sha; in CI fetch enough history (fetch-depth: 0)"


def _run(
    repo: Path, args: tuple[str, ...], env: Mapping[str, str] | None, text: bool
) -> subprocess.CompletedProcess[Any]:
    log.debug("git %s (in %s)", " ".join(args), repo)
    if not Path(repo).is_dir():
        raise UserError(f"repo={str(repo)!r} is not a folder")
    try:
        return subprocess.run(
            ["git", *QUOTE_PATHS_AS_THEY_ARE, *args],
            cwd=repo,
            env=dict(env) if env is not None else None,
            capture_output=True,
            text=text,
            errors="replace" if text else None,
        )
    except FileNotFoundError:
        raise UserError("git is not installed or not on PATH") from None


def run(
    repo: Path, *args: str, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`git args…` in `repo`, text out, never raising for git's own exit code."""
    return _run(repo, args, env, text=True)


def run_bytes(repo: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    """The same, bytes out (file contents, archives)."""
    return _run(repo, args, None, text=False)


def git(repo: Path, *args: str, check: bool = True) -> str:
    """Run git in `repo` and return stdout. A failure is a UserError quoting git's message."""
    proc = run(repo, *args)
    if check and proc.returncode != 0:
        stderr = proc.stderr.strip()
        message = stderr.splitlines()[-1] if stderr else "failed"
        raise UserError(f"git {' '.join(args[:2])}: {message}", where=str(repo))
    return proc.stdout


def repo_root(path: Path) -> Path:
    """The top of the work tree `path` is in."""
    if not path.exists():
        raise UserError(f"repo={str(path)!r} does not exist")
    proc = run(path, "rev-parse", "--show-toplevel")
    if proc.returncode != 0:
        raise UserError(f"repo={str(path)!r} is not inside a git repository")
    return Path(proc.stdout.strip())


def resolve_commit(repo: Path, ref: str, *, field: str) -> str:
    """The full sha of the commit `ref` names, or a UserError naming `field` and the value."""
    if not Path(repo).exists() or run(repo, "rev-parse", "--git-dir").returncode != 0:
        raise UserError(f"repo={str(repo)!r} is not inside a git repository")
    proc = run(repo, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    sha = proc.stdout.strip()
    if proc.returncode != 0 or not sha:
        raise UserError(
            f"{field}={ref!r} is not a commit in this repository",
            where=str(repo),
            hint=_BAD_REF_HINT,
        )
    return sha


def show_bytes(repo: Path, rev: str, path: str) -> bytes | None:
    """The bytes of `path` at `rev`, or None when it does not exist there."""
    proc = run_bytes(repo, "show", f"{rev}:{path}")
    return proc.stdout if proc.returncode == 0 else None


def show(repo: Path, rev: str, path: str) -> str | None:
    """The text of `path` at `rev`, or None when it does not exist there."""
    data = show_bytes(repo, rev, path)
    return None if data is None else data.decode("utf-8", errors="replace")


def tree_id(repo: Path, rev: str) -> str:
    return git(repo, "rev-parse", f"{rev}^{{tree}}").strip()


def export(repo: Path, rev: str, dest: Path) -> None:
    """Write the tree of `rev` into `dest` (created) without touching the repo's work tree."""
    dest.mkdir(parents=True, exist_ok=True)
    proc = run_bytes(repo, "archive", "--format=tar", rev)
    if proc.returncode != 0:
        stderr = proc.stderr.decode(errors="replace").strip()
        raise UserError(f"rev={rev!r}: git archive failed: {stderr}", where=str(repo))
    with tarfile.open(fileobj=io.BytesIO(proc.stdout)) as tar:
        tar.extractall(dest, filter="data")
