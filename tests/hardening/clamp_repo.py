"""A two-commit repo whose tests mark where they run and sleep, and the real CLI run on it.

The claim's tests touch `<FIXGUARD_TEST_MARKS>/<where>-<ns>` (`where` is `base`, `head` or
`mutants`) and then sleep `FIXGUARD_TEST_SLEEP` seconds, so a test can tell which stage a
`harness verify` subprocess has reached and kill it there.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

from tests.manifests import claim_table
from tests.verify.conftest import BASE as CLAMP_BASE
from tests.verify.conftest import FIX as CLAMP_FIX
from tests.verify.conftest import commit, git, verify_args

TESTS = """\
import os
import time
from pathlib import Path

import pytest

from pkg.calc import clamp


def mark() -> None:
    marks = os.environ.get("FIXGUARD_TEST_MARKS")
    if marks:
        cwd = os.getcwd()
        where = "mutants" if "fixguard-mutants-" in cwd else Path(cwd).name
        Path(marks, f"{where}-{time.monotonic_ns()}").touch()
    time.sleep(float(os.environ.get("FIXGUARD_TEST_SLEEP", "0")))


def test_low():
    mark()
    assert clamp(-5, 0, 10) == 0


def test_high():
    mark()
    assert clamp(50, 0, 10) == 10


def test_bad_bounds():
    mark()
    with pytest.raises(ValueError):
        clamp(1, 5, 0)
"""

BASE = {
    "pkg/__init__.py": "",
    "pkg/calc.py": CLAMP_BASE["pkg/calc.py"],
    "pyproject.toml": "[project]\nname = 'clamp'\nversion = '0'\n",
}
FIX = {"pkg/calc.py": CLAMP_FIX["pkg/calc.py"], "tests/test_clamp.py": TESTS}

#: Three claims, one verdict each by design (the manifest lives outside the repo).
MANIFEST = (
    claim_table(
        "upper-bound",
        "clamp honours the upper bound; the guard is killed by another test",
        tests=["tests/test_clamp.py::test_high"],
    )
    + claim_table(
        "lower-bound",
        "the lower bound held before the fix",
        tests=["tests/test_clamp.py::test_low"],
    )
    + claim_table(
        "inverted-bounds-claim-tests-only",
        "with only its own test, removing the `low > high` guard survives",
        tests=["tests/test_clamp.py::test_high"],
        run={"guard_tests": "claim"},
    )
)
EXPECTED = {
    "upper-bound": "VERIFIED",
    "lower-bound": "NOT_REPRODUCED",
    "inverted-bounds-claim-tests-only": "UNGUARDED",
}


def make_repo(root: Path) -> Path:
    repo = root / "repo"
    repo.mkdir(parents=True)
    git(repo, "init", "-q", "-b", "main")
    commit(repo, BASE, "clamp: first version")
    commit(repo, FIX, "clamp: honour the upper bound; reject inverted bounds")
    return repo


def tree_state(repo: Path) -> tuple[str, str]:
    """A hash of every file outside .git (names, bytes, modes) and `git status --porcelain`."""
    digest = hashlib.sha256()
    for path in sorted(p for p in repo.rglob("*") if ".git" not in p.relative_to(repo).parts):
        digest.update(f"{path.relative_to(repo)}:{path.lstat().st_mode}".encode())
        if path.is_file():
            digest.update(path.read_bytes())
    return digest.hexdigest(), git(repo, "status", "--porcelain", "--ignored")


def isolated_env(root: Path, *, cache: Path, sleep: float) -> dict[str, str]:
    """A private temp root, ledger and cache: nothing shared with other runs on the machine."""
    for sub in ("tmp", "marks"):
        (root / sub).mkdir(exist_ok=True)
    return {
        **os.environ,
        "TMPDIR": str(root / "tmp"),
        "FIXGUARD_CACHE_DIR": str(cache),
        "FIXGUARD_TEST_MARKS": str(root / "marks"),
        "FIXGUARD_TEST_SLEEP": str(sleep),
        "PYTHONDONTWRITEBYTECODE": "1",
    }


def verify_command(repo: Path, out: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "harness.cli", *verify_args(repo, out, "--workers", "1", *args)]


def start(command: list[str], env: dict[str, str], cwd: Path, log: Path) -> subprocess.Popen[bytes]:
    """The CLI in its own session (so a kill reaches it alone, as the OOM killer would)."""
    with log.open("wb") as sink:
        return subprocess.Popen(
            command, cwd=cwd, env=env, stdout=sink, stderr=subprocess.STDOUT, start_new_session=True
        )


def worktree_lines(repo: Path) -> list[str]:
    return git(repo, "worktree", "list").splitlines()
