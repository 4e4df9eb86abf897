"""Read-only git access: resolve refs, read files and diffs at a revision, export a tree."""

from __future__ import annotations

import io
import subprocess
import tarfile
from pathlib import Path

from ..errors import UserError

#: Paths in git's output as they are (`café.py`), not as quoted octal escapes, which would not
#: name a file (and would not end in `.py`).
QUOTE_PATHS_AS_THEY_ARE = ("-c", "core.quotePath=false")


def git(repo: Path, *args: str, check: bool = True) -> str:
    """Run `git -C repo args…` and return stdout; a failure is a UserError naming the command."""
    proc = subprocess.run(
        ["git", "-C", str(repo), *QUOTE_PATHS_AS_THEY_ARE, *args],
        capture_output=True,
        text=True,
        errors="replace",
    )
    if check and proc.returncode != 0:
        raise UserError(
            f"git {' '.join(args)!r} failed in repo={str(repo)!r}: {proc.stderr.strip()}",
            hint="check that the path is a git repository and the refs exist",
        )
    return proc.stdout


def resolve_commit(repo: Path, ref: str, *, field: str) -> str:
    """Return the full sha of `ref`, or raise a UserError naming `field`."""
    if not (Path(repo) / ".git").exists() and not _is_git_dir(repo):
        raise UserError(
            f"repo={str(repo)!r}: not a git repository",
            hint="run from inside the project or pass --repo PATH",
        )
    proc = subprocess.run(
        ["git", "-C", str(repo), "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"],
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0 or not proc.stdout.strip():
        raise UserError(
            f"{field}={ref!r}: not a commit in {repo}",
            hint="write a branch, tag or sha that `git rev-parse` accepts",
        )
    return proc.stdout.strip()


def _is_git_dir(repo: Path) -> bool:
    proc = subprocess.run(
        ["git", "-C", str(repo), "rev-parse", "--git-dir"], capture_output=True, text=True
    )
    return proc.returncode == 0


def show(repo: Path, rev: str, path: str) -> str | None:
    """The text of `path` at `rev`, or None when it does not exist there."""
    proc = subprocess.run(
        ["git", "-C", str(repo), "show", f"{rev}:{path}"],
        capture_output=True,
    )
    if proc.returncode != 0:
        return None
    return proc.stdout.decode("utf-8", errors="replace")


def tree_id(repo: Path, rev: str) -> str:
    return git(repo, "rev-parse", f"{rev}^{{tree}}").strip()


def export(repo: Path, rev: str, dest: Path) -> None:
    """Write the tree of `rev` into `dest` (created) without touching the repo's work tree."""
    dest.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run(
        ["git", "-C", str(repo), "archive", "--format=tar", rev],
        capture_output=True,
    )
    if proc.returncode != 0:
        raise UserError(
            f"rev={rev!r}: git archive failed: {proc.stderr.decode(errors='replace').strip()}"
        )
    with tarfile.open(fileobj=io.BytesIO(proc.stdout)) as tar:
        tar.extractall(dest, filter="data")
