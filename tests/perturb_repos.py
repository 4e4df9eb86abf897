"""Git repos of the narrow-window race projects in tests/data/perturb (base commit, fix commit)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

DATA = Path(__file__).parent / "data" / "perturb"
KINDS = ("quota", "inbox", "cache")
#: The claim's test and fix file of each kind.
TESTS = {
    "quota": "tests/test_quota.py::test_grants_exactly_the_limit_under_contention",
    "inbox": "tests/test_inbox.py::test_duplicate_submissions_are_saved_once",
    "cache": "tests/test_cache.py::test_only_one_thread_adds_a_fresh_key",
}
SYNC_TESTS = {"inbox": "tests/test_inbox.py::test_duplicate_submissions_are_saved_once_sync"}
FIX_FILES = {"quota": "quota/store.py", "inbox": "inbox/inbox.py", "cache": "cache/simple.py"}


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-c", "user.email=t@example.com", "-c", "user.name=t", *args],
        cwd=repo,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()


def make_repo(kind: str, dest: Path) -> Path:
    """`dest` as a git repo: HEAD~1 holds the bug and its test, HEAD the fix."""
    source = DATA / kind
    shutil.copytree(source / "base", dest)
    _git(dest, "init", "-q", "-b", "main")
    _git(dest, "add", "-A")
    _git(dest, "commit", "-q", "-m", "base: the bug and its test")
    shutil.copytree(source / "head", dest, dirs_exist_ok=True)
    _git(dest, "add", "-A")
    _git(dest, "commit", "-q", "-m", "fix: take a lock")
    return dest


def checkout(repo: Path, rev: str, dest: Path) -> Path:
    """A plain copy of `rev` (no .git) at `dest`."""
    dest.mkdir(parents=True)
    archive = subprocess.run(
        ["git", "archive", rev], cwd=repo, check=True, capture_output=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)
    return dest
