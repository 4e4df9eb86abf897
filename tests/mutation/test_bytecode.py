"""Compiled modules are cached outside the tree, and a mutant never runs a stale one."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from harness import cleanup
from harness.mutation.workspace import Workspace
from harness.paths import bytecode_dir, bytecode_env, bytecode_mirror


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("FIXGUARD_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


def value_of(root: Path, env: dict[str, str]) -> str:
    """What `m.VALUE` is when a fresh interpreter imports m from `root`."""
    proc = subprocess.run(
        [sys.executable, "-c", "import m; print(m.VALUE)"],
        cwd=root,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=True,
    )
    return proc.stdout.strip()


def test_a_same_length_mutant_in_the_same_second_is_never_served_stale(cache, tmp_path):
    root = tmp_path / "copy"
    root.mkdir()
    source = root / "m.py"
    source.write_text("VALUE = 1\n")
    space = Workspace(root, tmp_path / "probe")
    env = space.env({})
    assert value_of(root, env) == "1"
    compiled = list(bytecode_mirror(root).rglob("m.*.pyc"))
    assert compiled, "the import was compiled into the prefix"
    assert not (root / "__pycache__").exists()  # never beside the sources

    # The hazard: the same size and the same whole-second mtime, and Python trusts the old code.
    before = source.stat()
    source.write_text("VALUE = 2\n")
    os.utime(source, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert value_of(root, env) == "1"

    # Workspace.write gives each write a time of its own: the mutant, then the restored file.
    previous = space.write("m.py", "VALUE = 3\n")
    assert value_of(root, env) == "3"
    space.restore("m.py", previous)
    assert value_of(root, env) == "2"
    again = space.write("m.py", "VALUE = 4\n")
    assert value_of(root, env) == "4"
    space.restore("m.py", again)
    assert value_of(root, env) == "2"


def test_writing_is_turned_on_even_where_the_environment_turns_it_off(cache):
    env = bytecode_env()
    assert env["PYTHONPYCACHEPREFIX"] == str(bytecode_dir())
    assert bytecode_dir().is_relative_to(cache)
    # An empty value counts as unset.
    proc = subprocess.run(
        [sys.executable, "-c", "import sys; print(sys.dont_write_bytecode, sys.pycache_prefix)"],
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1", **env},
        capture_output=True,
        text=True,
        check=True,
    )
    assert proc.stdout.split() == ["False", str(bytecode_dir())]


def test_a_temp_dir_takes_its_compiled_modules_with_it(cache):
    with cleanup.temp_dir("fixguard-bytecode-test-") as folder:
        (folder / "m.py").write_text("VALUE = 1\n")
        assert value_of(folder, bytecode_env()) == "1"
        mirror = bytecode_mirror(folder)
        assert list(mirror.rglob("*.pyc"))
    assert not folder.exists()
    assert not mirror.exists()
