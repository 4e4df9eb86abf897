"""SIGKILL a mutation run at a random point: the user's tree is byte-identical, and a rerun
keeps every finished result without running it again."""

from __future__ import annotations

import hashlib
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from harness.mutation import run_mutation, scope_from_diff

from .conftest import FAST_PYTEST, LOCK_BASE, LOCK_FIX, FixRepo, mutate_args, options

CLI = "import sys; from harness.cli.main import main; sys.exit(main(sys.argv[1:]))"


def cli(repo: FixRepo, store: Path, *args: str) -> list[str]:
    """`harness mutate` in a process of its own, so a test can kill it."""
    flags = [f"--pytest-arg={arg}" for arg in FAST_PYTEST]
    return [sys.executable, "-c", CLI, *mutate_args(repo, store, *args, *flags)]


def tree_hash(root: Path) -> str:
    """Every file under root (including .git), its path, mode and bytes."""
    digest = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file() or p.is_symlink()):
        digest.update(str(path.relative_to(root)).encode())
        digest.update(oct(path.lstat().st_mode).encode())
        digest.update(path.read_bytes() if path.is_file() else os.readlink(path).encode())
    return digest.hexdigest()


def stored_ids(store: Path) -> set[str]:
    if not store.exists():
        return set()
    try:
        with sqlite3.connect(store) as db:
            return {row[0] for row in db.execute("SELECT id FROM mutants")}
    except sqlite3.OperationalError:
        return set()


def test_sigkill_leaves_the_tree_intact_and_resume_reuses_finished_results(fix_repo, tmp_path):
    repo = fix_repo(LOCK_BASE, LOCK_FIX)
    before = tree_hash(repo.path)
    store = tmp_path / "results.sqlite3"
    seed = random.randrange(1_000_000)
    rng = random.Random(seed)
    command = cli(repo, store, "--workers", "1", "--repeats", "2")
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    children: list[psutil.Process] = []
    try:
        deadline = time.monotonic() + 90
        while not stored_ids(store) and proc.poll() is None and time.monotonic() < deadline:
            children = psutil.Process(proc.pid).children(recursive=True) or children
            time.sleep(0.05)
        assert proc.poll() is None, f"the run ended before it could be killed (seed={seed})"
        time.sleep(rng.uniform(0.0, 0.6))  # a random point after the first finished mutant
        children = psutil.Process(proc.pid).children(recursive=True) or children
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
        for child in children:  # the killed run's pytest processes (own sessions) go too
            try:
                child.kill()
            except psutil.NoSuchProcess:
                pass

    assert tree_hash(repo.path) == before, f"the user's tree changed (seed={seed})"
    finished = stored_ids(store)
    assert finished, f"no finished result survived the SIGKILL (seed={seed})"

    scope = scope_from_diff(repo.path, repo.base, repo.head)
    result = run_mutation(options(repo, scope, rev=scope.rev, workers=1, repeats=2, store=store))
    assert tree_hash(repo.path) == before
    ids = {m.id for m in result.mutants}
    assert finished <= ids, f"resume lost finished results (seed={seed})"
    for mutant in result.mutants:
        assert mutant.cached == (mutant.id in finished), (mutant.id, seed)
        assert mutant.status.is_detected
    assert stored_ids(store) == ids


@pytest.mark.usefixtures("ctrl_c")
def test_ctrl_c_keeps_finished_results_and_exits_130(fix_repo, tmp_path):
    repo = fix_repo(LOCK_BASE, LOCK_FIX)
    before = tree_hash(repo.path)
    store = tmp_path / "results.sqlite3"
    command = cli(repo, store, "--workers", "2", "--repeats", "3", "--min-kills", "3")
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 90
        while not stored_ids(store) and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert proc.poll() is None, "the run ended before Ctrl-C"
        at_interrupt = stored_ids(store)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    assert "aborted" in err or "interrupted" in err
    assert stored_ids(store) >= at_interrupt
    assert tree_hash(repo.path) == before
