"""Laying the head's tests and pytest config over the base, without touching anything else."""

from __future__ import annotations

import re
from pathlib import Path

from harness.testpaths import DEFAULT_TEST_PATHS, TEST_CONFIG, is_test_path
from harness.verify.workspace import CONFIG_SECTIONS, overlay_tests, splice_section, worktrees

from .conftest import commit, git, tree_hash

BASE_PYPROJECT = """[project]
name = "x"
dependencies = ["requests==2.0"]

[tool.pytest.ini_options]
addopts = "-q"

[tool.ruff]
line-length = 80
"""
HEAD_PYPROJECT = """[project]
name = "x"
dependencies = ["requests==3.0"]

[tool.pytest.ini_options]
addopts = "-q"
filterwarnings = ["error::ResourceWarning"]

[tool.ruff]
line-length = 100
"""


def test_splice_takes_only_the_pytest_section() -> None:
    out = splice_section(BASE_PYPROJECT, HEAD_PYPROJECT, CONFIG_SECTIONS["pyproject.toml"])
    assert 'filterwarnings = ["error::ResourceWarning"]' in out
    assert "requests==2.0" in out and "requests==3.0" not in out  # the base's dependencies stay
    assert "line-length = 80" in out and "line-length = 100" not in out
    assert len(re.findall(r"^\[tool\.pytest\.ini_options\]", out, re.M)) == 1


def test_setup_cfg_section() -> None:
    base = "[metadata]\nname = x\n\n[tool:pytest]\naddopts = -q\n"
    head = "[metadata]\nname = y\n\n[tool:pytest]\naddopts = -q -W error\n"
    out = splice_section(base, head, CONFIG_SECTIONS["setup.cfg"])
    assert "name = x" in out and "addopts = -q -W error" in out and "name = y" not in out


def test_overlay_and_worktrees_leave_the_user_tree_alone(tmp_path: Path) -> None:
    repo = tmp_path / "r"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    base = commit(
        repo,
        {
            "app.py": "X = 1\n",
            "pyproject.toml": BASE_PYPROJECT,
            "tests/test_a.py": "def test_a(): pass\n",
        },
        "base",
    )
    head = commit(
        repo,
        {
            "app.py": "X = 2\n",
            "pyproject.toml": HEAD_PYPROJECT,
            "tests/test_a.py": "def test_a(): assert 1\n",
            "tests/test_new.py": "def test_new(): pass\n",
            "tests/conftest.py": "",
        },
        "head",
    )
    before = tree_hash(repo)
    with worktrees(
        repo, base, head, test_paths=("tests/**", "**/conftest.py", "pyproject.toml")
    ) as (b, h):
        assert (b.path / "app.py").read_text() == "X = 1\n"  # base source
        assert (b.path / "tests" / "test_new.py").exists()  # head tests
        assert (b.path / "tests" / "test_a.py").read_text() == "def test_a(): assert 1\n"
        assert "filterwarnings" in (b.path / "pyproject.toml").read_text()
        assert "requests==2.0" in (b.path / "pyproject.toml").read_text()
        assert sorted(b.overlaid) == [
            "pyproject.toml",
            "tests/conftest.py",
            "tests/test_a.py",
            "tests/test_new.py",
        ]
        assert (h.path / "app.py").read_text() == "X = 2\n"
        paths = [b.path, h.path]
    assert not any(p.exists() for p in paths)
    assert tree_hash(repo) == before
    assert git(repo, "worktree", "list").count("\n") == 1
    # The default test paths take a root conftest.py and root test files too, as the mutation
    # scope does (the two once disagreed: the base kept its own root conftest.py).
    commit(repo, {"conftest.py": "ROOT = 'head'\n", "test_root.py": "def test_r(): pass\n"}, "root")
    rooted = tmp_path / "rooted"
    rooted.mkdir()
    laid = overlay_tests(repo, "HEAD", rooted, DEFAULT_TEST_PATHS)
    assert {"conftest.py", "test_root.py"} <= set(laid)
    assert all(is_test_path(path) for path in laid if path not in TEST_CONFIG)
    # Overlaying again is idempotent.
    target = tmp_path / "copy"
    target.mkdir()
    (target / "pyproject.toml").write_text(BASE_PYPROJECT)
    first = overlay_tests(repo, head, target, ("tests/**", "pyproject.toml"))
    assert overlay_tests(repo, head, target, ("tests/**", "pyproject.toml")) == []
    assert "tests/test_new.py" in first
