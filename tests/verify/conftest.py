"""Small throwaway git repositories with a bug, a fix commit and a regression test."""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path

import pytest

from ..manifests import claim_table

GIT_ENV = {
    "GIT_AUTHOR_NAME": "t",
    "GIT_AUTHOR_EMAIL": "t@example.invalid",
    "GIT_COMMITTER_NAME": "t",
    "GIT_COMMITTER_EMAIL": "t@example.invalid",
}


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args],
        cwd=repo,
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, **GIT_ENV},
    ).stdout


def commit(repo: Path, files: dict[str, str], message: str) -> str:
    for rel, text in files.items():
        path = repo / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", message)
    return git(repo, "rev-parse", "HEAD").strip()


def make_repo(
    tmp_path: Path, base: dict[str, str], fix: dict[str, str], message: str = "fix"
) -> Path:
    """tmp_path/repo: HEAD~1 holds a `pkg` package with `base`'s files, HEAD adds `fix`'s."""
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    commit(repo, {"pkg/__init__.py": "", **base}, "base")
    commit(repo, fix, message)
    return repo


def verify_args(repo: Path, out: Path, *args: str) -> list[str]:
    """`harness verify` of the repo's last commit, its reports in `out`."""
    return ["verify", "--repo", str(repo), "--base", "HEAD~1", "--out", str(out), *args]


def tree_hash(repo: Path) -> str:
    """Hash of every file outside .git: the work tree must come back byte-identical."""
    digest = hashlib.sha256()
    for path in sorted(p for p in repo.rglob("*") if ".git" not in p.relative_to(repo).parts):
        digest.update(str(path.relative_to(repo)).encode())
        if path.is_file():
            digest.update(path.read_bytes())
    return digest.hexdigest()


BASE = {
    "pkg/__init__.py": "",
    "pkg/calc.py": "def clamp(value, low, high):\n    return max(low, value)\n",
    "tests/test_smoke.py": "from pkg.calc import clamp\n\n\ndef test_low():\n    assert clamp(-5, 0, 10) == 0\n",
    "pyproject.toml": "[project]\nname = 'third'\nversion = '0'\n\n[tool.pytest.ini_options]\naddopts = '-q'\n",
}
FIX = {
    "pkg/calc.py": (
        "def clamp(value, low, high):\n"
        "    if low > high:\n"
        "        raise ValueError('low must not exceed high')\n"
        "    return min(high, max(low, value))\n"
    ),
    "tests/test_clamp.py": (
        "import pytest\n\nfrom pkg.calc import clamp\n\n\n"
        "def test_high():\n    assert clamp(50, 0, 10) == 10\n    assert clamp(10, 0, 10) == 10\n\n\n"
        "def test_bad_bounds():\n    with pytest.raises(ValueError):\n        clamp(1, 5, 0)\n"
        "    assert clamp(5, 5, 5) == 5\n"
    ),
}


@pytest.fixture
def no_plugin_autoload(monkeypatch: pytest.MonkeyPatch) -> None:
    """The tiny projects need no third-party pytest plugin: autoloading them costs seconds a
    run, and one that warns at start fails a project that sets `filterwarnings = error`."""
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")


#: Only the claim's own tests count, and test_high never reaches FIX's new guard: UNGUARDED.
UNGUARDED_MANIFEST = claim_table(
    "upper-bound",
    "clamp honours the upper bound",
    tests=["tests/test_clamp.py::test_high"],
    run={"guard_tests": "claim"},
)


@pytest.fixture
def third_repo(tmp_path: Path) -> Path:
    """A repo that is not the sample: base with a clamp bug, HEAD fixes it and adds tests."""
    repo = tmp_path / "third"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    commit(repo, BASE, "clamp: first version")
    commit(repo, FIX, "clamp: honour the upper bound; reject inverted bounds")
    return repo
