"""Two verifies of one repo at once, as two CI jobs on one runner (issue 17, problem 2).

They share the mutation store (one SQLite file per claim under the cache dir) and the run
ledger; each must finish with the verdicts the repo was built to produce, and neither may
remove the other's worktrees nor corrupt the store.
"""

from __future__ import annotations

import dataclasses
import json
import multiprocessing
import os
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from harness.mutation.options import MutantResult
from harness.mutation.store import ResultStore
from harness.outcomes import MutantStatus

from .clamp_repo import (
    EXPECTED,
    MANIFEST,
    isolated_env,
    make_repo,
    start,
    tree_state,
    verify_command,
    worktree_lines,
)

#: Waits for the gate file, then runs the real CLI entry point with the remaining arguments.
GATED = """
import os, runpy, sys, time
gate = sys.argv.pop(1)
while not os.path.exists(gate):
    time.sleep(0.005)
runpy.run_module("harness.cli", run_name="__main__", alter_sys=True)
"""


def verdicts(out: Path) -> dict[str, str]:
    claims = json.loads((out / "results.json").read_text())["run"]["claims"]
    return {c["claim_id"]: c["verdict"] for c in claims}


def mutant_statuses(out: Path) -> dict[tuple[str, str], str]:
    claims = json.loads((out / "results.json").read_text())["run"]["claims"]
    return {(c["claim_id"], m["id"]): m["status"] for c in claims for m in c["mutants"]}


def finish(proc: subprocess.Popen[bytes], log: Path, limit: float = 240) -> int:
    try:
        return int(proc.wait(timeout=limit))
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        raise AssertionError(
            f"verify did not finish in {limit}s:\n{log.read_text()[-2000:]}"
        ) from None


def check_store(cache: Path) -> int:
    """Every store file passes SQLite's integrity check; returns the rows they hold."""
    rows = 0
    files = sorted(cache.rglob("*.sqlite3"))
    assert files, f"no store under {cache}"
    for path in files:
        db = sqlite3.connect(path)
        try:
            assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",), path
            rows += db.execute("SELECT count(*) FROM mutants").fetchone()[0]
        finally:
            db.close()
    return rows


@pytest.mark.timeout(300)
def test_two_verifies_started_at_once_give_the_designed_verdicts(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    before = tree_state(repo)
    manifest = tmp_path / "harness.toml"
    manifest.write_text(MANIFEST)
    cache = tmp_path / "cache"
    env = isolated_env(tmp_path, cache=cache, sleep=0.0)
    gate = tmp_path / "gate"
    runs = []
    for name in ("a", "b"):
        log = tmp_path / f"verify-{name}.log"
        command = verify_command(repo, tmp_path / f"out-{name}", "--manifest", str(manifest))
        gated = [sys.executable, "-c", GATED, str(gate), *command[3:]]
        runs.append((start(gated, env, tmp_path, log), log, tmp_path / f"out-{name}"))
    time.sleep(0.5)  # both interpreters up and polling
    gate.touch()

    codes = [finish(proc, log) for proc, log, _ in runs]

    wrong = {out.name: verdicts(out) for _, _, out in runs if verdicts(out) != EXPECTED}
    print(f"concurrent verifies: 2, claims each: {len(EXPECTED)}, wrong verdicts: {wrong}")
    assert wrong == {}
    assert codes == [1, 1]  # NOT_REPRODUCED and UNGUARDED fail the default policy
    statuses = [mutant_statuses(out) for _, _, out in runs]
    assert statuses[0] == statuses[1] and statuses[0]
    assert check_store(cache) > 0
    assert len(worktree_lines(repo)) == 1
    assert tree_state(repo) == before


def head_worktrees(temp: Path) -> list[Path]:
    return [p for p in temp.glob("fixguard-wt-*/head") if (p / ".git").is_file()]


@pytest.mark.timeout(300)
def test_a_second_run_starting_does_not_prune_a_live_runs_worktrees(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    manifest = tmp_path / "harness.toml"
    manifest.write_text(MANIFEST)
    env = isolated_env(tmp_path, cache=tmp_path / "cache", sleep=0.2)
    temp = tmp_path / "tmp"
    args = ("--manifest", str(manifest), "--claim", "upper-bound")
    log_a, log_b = tmp_path / "verify-a.log", tmp_path / "verify-b.log"
    first = start(verify_command(repo, tmp_path / "out-a", *args), env, tmp_path, log_a)
    deadline = time.monotonic() + 60
    while not head_worktrees(temp):
        assert first.poll() is None, log_a.read_text()
        assert time.monotonic() < deadline
        time.sleep(0.01)
    (mine,) = head_worktrees(temp)
    second = start(verify_command(repo, tmp_path / "out-b", *args), env, tmp_path, log_b)
    # Once the second run has its own worktrees it has pruned: the first's must still be there.
    while len(head_worktrees(temp)) < 2:
        assert second.poll() is None, log_b.read_text()
        assert time.monotonic() < deadline
        time.sleep(0.01)
    assert first.poll() is None, "the first run ended before the second pruned"
    assert (mine / ".git").is_file() and str(mine) in "\n".join(worktree_lines(repo))

    assert finish(first, log_a) == 0, log_a.read_text()[-2000:]
    assert finish(second, log_b) == 0, log_b.read_text()[-2000:]
    for out in (tmp_path / "out-a", tmp_path / "out-b"):
        assert verdicts(out) == {"upper-bound": "VERIFIED"}
    assert len(worktree_lines(repo)) == 1


# --- the store alone, hammered by several processes -------------------------------------------

WRITERS = 4
ROWS = 60


def _write_rows(path: str, gate: str, writer: int) -> None:
    while not os.path.exists(gate):
        time.sleep(0.001)
    store = ResultStore(Path(path))
    try:
        for i in range(ROWS):
            # Half the keys are shared by every writer, as two runs of one mutant would be.
            key = f"shared-{i}" if i % 2 else f"w{writer}-{i}"
            store.put(key, _result(f"m{i}"), rev="r")
            assert store.get(key) is not None
    finally:
        store.close()


#: A killed mutant's result with every column filled; each row stores it under its own id.
_KILLED = MutantResult("m", "f", "o", "pkg/calc.py", 2, "-a\n+b\n", MutantStatus.KILLED, "t")


def _result(mutant_id: str) -> MutantResult:
    return dataclasses.replace(_KILLED, id=mutant_id, runs=1, kills=1, duration=0.01, tests=("t",))


def test_several_processes_opening_and_writing_one_store_at_once(tmp_path: Path) -> None:
    path, gate = tmp_path / "store.sqlite3", tmp_path / "gate"
    ctx = multiprocessing.get_context("spawn")
    writers = [
        ctx.Process(target=_write_rows, args=(str(path), str(gate), w)) for w in range(WRITERS)
    ]
    for proc in writers:
        proc.start()
    time.sleep(1.0)  # every writer imported and waiting, so they open the new file together
    gate.touch()
    for proc in writers:
        proc.join(120)
    assert [proc.exitcode for proc in writers] == [0] * WRITERS
    assert check_store(tmp_path) == WRITERS * ROWS // 2 + ROWS // 2


def test_a_write_waits_for_another_runs_long_transaction(tmp_path: Path) -> None:
    # SQLite's default wait (Python's 5 s) is shorter than a busy runner's stall can be: a run
    # whose write gave up would crash instead of recording its mutant.
    path = tmp_path / "store.sqlite3"
    ResultStore(path).close()
    other = sqlite3.connect(path, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")
    release = threading.Timer(6.0, other.commit)
    release.start()
    started = time.monotonic()
    try:
        store = ResultStore(path)
        store.put("k", _result("m1"), rev="r")
        store.close()
    finally:
        release.join()
        other.close()
    assert time.monotonic() - started >= 5.5
    assert check_store(tmp_path) == 1
