"""A SIGKILLed run leaves worktrees and temp dirs; the next run removes them (issue 17, 2)."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from harness import cleanup
from tests.verify.conftest import git

from .clamp_repo import isolated_env, make_repo, start, tree_state, verify_command, worktree_lines

SEED = 17
#: Each point: the stage to reach, how many of its markers to wait for (a range), then a random
#: delay. Checkout points wait for the worktree dir, the others for the claim test's markers.
STAGES = ("checkout", "base", "head", "mutants", "mutants")


@pytest.fixture
def temp_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A private temp root for this process's ledger, as TMPDIR is for the subprocesses."""
    root = tmp_path / "tmp"
    root.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(root))
    yield root


def leftovers(temp: Path) -> list[str]:
    """Every fixguard dir in the temp root, and every run still on the ledger."""
    found = [p.name for p in temp.glob("fixguard-*") if p.name != cleanup.ledger_dir().name]
    ledger = temp / cleanup.ledger_dir().name
    return found + [f"ledger:{p.name}" for p in ledger.glob("run-*.json")]


def processes_inside(root: Path) -> list[int]:
    inside = []
    for proc in psutil.process_iter(["pid", "cwd"]):
        cwd = proc.info.get("cwd") or ""
        if cwd.startswith(str(root.resolve()) + "/"):
            inside.append(proc.pid)
    return inside


# --- the ledger, on processes that really die -------------------------------------------------

OWNER = """
import sys, time
from pathlib import Path
from harness import cleanup
repo = Path(sys.argv[1])
with cleanup.temp_dir("fixguard-wt-") as root, cleanup.worktree(repo, root / "head"):
    import subprocess
    subprocess.run(["git", "worktree", "add", "--detach", str(root / "head"), "HEAD"], cwd=repo,
                   check=True, capture_output=True)
    print(root, flush=True)
    time.sleep(600)
"""


def start_owner(repo: Path, temp: Path) -> tuple[subprocess.Popen[str], Path]:
    """A process that makes a temp dir and a worktree through the ledger, then waits."""
    proc = subprocess.Popen(
        [sys.executable, "-c", OWNER, str(repo)],
        env={**os.environ, "TMPDIR": str(temp)},
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    return proc, Path(proc.stdout.readline().strip())


def test_a_dead_runs_worktree_and_dir_go_and_a_live_runs_stay(
    tmp_path: Path, temp_root: Path
) -> None:
    repo = make_repo(tmp_path)
    before = tree_state(repo)
    dead, dead_root = start_owner(repo, temp_root)
    live, live_root = start_owner(repo, temp_root)
    try:
        dead.kill()
        dead.wait()
        assert len(worktree_lines(repo)) == 3 and dead_root.is_dir()

        pruned = cleanup.prune_dead_runs(repo)

        assert pruned.runs == (dead.pid,)
        assert not dead_root.exists()
        assert live_root.is_dir() and (live_root / "head" / ".git").is_file()
        lines = worktree_lines(repo)
        assert len(lines) == 2 and str(live_root / "head") in lines[1]
        assert tree_state(repo) == before
    finally:
        live.kill()
        live.wait()
    cleanup.prune_dead_runs(repo)
    assert len(worktree_lines(repo)) == 1
    assert leftovers(temp_root) == []


def test_a_reused_pid_does_not_keep_a_dead_runs_leftovers(tmp_path: Path, temp_root: Path) -> None:
    # The record names this very process (alive), but with another start time: a dead run
    # whose pid the system handed on.
    repo = make_repo(tmp_path)
    stale = temp_root / "fixguard-wt-stale"
    git(repo, "worktree", "add", "--detach", str(stale / "head"), "HEAD")
    started = cleanup.start_time(os.getpid())
    assert started is not None
    folder = cleanup.ledger_dir()
    folder.mkdir(mode=0o700)
    record = {
        "pid": os.getpid(),
        "started": started - 3600,
        "items": [
            {"kind": "dir", "path": str(stale), "repo": ""},
            {"kind": "worktree", "path": str(stale / "head"), "repo": str(repo)},
        ],
    }
    (folder / "run-1-1.json").write_text(json.dumps(record))
    same = {**record, "started": started}
    (folder / "run-2-2.json").write_text(json.dumps(same))  # the same run: alive

    pruned = cleanup.prune_dead_runs(repo)

    assert pruned.worktrees == (str(stale / "head"),)
    assert not stale.exists() and len(worktree_lines(repo)) == 1
    assert (folder / "run-2-2.json").exists() and not (folder / "run-1-1.json").exists()


def test_paths_without_the_harness_prefix_are_never_deleted(
    tmp_path: Path, temp_root: Path
) -> None:
    keep = tmp_path / "precious"
    keep.mkdir()
    folder = cleanup.ledger_dir()
    folder.mkdir(mode=0o700)
    record = {"pid": 1, "started": 0.0, "items": [{"kind": "dir", "path": str(keep), "repo": ""}]}
    (folder / "run-1-0.json").write_text(json.dumps(record))
    cleanup.prune_dead_runs()
    assert keep.is_dir()
    assert leftovers(temp_root) == []


def test_a_ledger_folder_others_can_write_is_not_trusted(tmp_path: Path, temp_root: Path) -> None:
    target = temp_root / "fixguard-wt-victim"
    target.mkdir()
    folder = cleanup.ledger_dir()
    folder.mkdir()
    folder.chmod(0o777)
    record = {"pid": 1, "started": 0.0, "items": [{"kind": "dir", "path": str(target), "repo": ""}]}
    (folder / "run-1-0.json").write_text(json.dumps(record))
    assert cleanup.prune_dead_runs() == cleanup.Pruned()
    assert target.is_dir()


# --- SIGKILL of the real CLI -----------------------------------------------------------------


def reached(stage: str, count: int, temp: Path, marks: Path, old: list[str]) -> bool:
    if stage == "checkout":  # a worktree dir of this run, not one the last kill left
        return any(str(p) not in old for p in temp.glob("fixguard-wt-*"))
    return sum(1 for m in marks.iterdir() if m.name.startswith(stage + "-")) >= count


def wait_until(
    proc: subprocess.Popen[bytes], stage: str, count: int, temp: Path, old: list[str]
) -> None:
    deadline = time.monotonic() + 30
    while not reached(stage, count, temp, temp.parent / "marks", old):
        assert proc.poll() is None, f"verify ended (exit {proc.returncode}) before {stage}"
        assert time.monotonic() < deadline, f"no {stage} #{count} within 30s"
        time.sleep(0.01)


@pytest.mark.timeout(150)
def test_sigkill_at_random_points_then_the_next_run_leaves_nothing(tmp_path: Path) -> None:
    rng = random.Random(SEED)
    repo = make_repo(tmp_path)
    before = tree_state(repo)
    manifest = tmp_path / "harness.toml"
    manifest.write_text(
        # Its own tests kill every mutant, so no suite phase: the test stays short.
        '[[claims]]\nid = "bounds"\ntitle = "bounds"\n'
        'tests = ["tests/test_clamp.py::test_high", "tests/test_clamp.py::test_bad_bounds"]\n'
        '[claims.run]\nguard_tests = "claim"\n'
    )
    temp, marks = tmp_path / "tmp", tmp_path / "marks"
    started = time.monotonic()
    tried: list[str] = []
    previous: list[str] = []
    for i, stage in enumerate(STAGES):
        for mark in marks.glob("*"):
            mark.unlink()
        env = isolated_env(tmp_path, cache=tmp_path / f"cache-{i}", sleep=0.15)
        count = rng.randint(1, 3) if stage == "mutants" else 1
        delay = rng.uniform(0.0, 0.25)
        proc = start(
            verify_command(repo, tmp_path / f"out-{i}", "--manifest", str(manifest)),
            env,
            tmp_path,
            tmp_path / f"verify-{i}.log",
        )
        try:
            wait_until(proc, stage, count, temp, previous)
            time.sleep(delay)
            assert proc.poll() is None, "verify finished before the kill"
            # This run has pruned on start: nothing the previous kill left is there any more.
            assert [p for p in previous if os.path.lexists(p)] == []
            proc.send_signal(signal.SIGKILL)
        finally:
            proc.kill()
            proc.wait()
        left = [str(p) for p in temp.glob("fixguard-*") if p.name != cleanup.ledger_dir().name]
        registered = len(worktree_lines(repo)) - 1
        tried.append(
            f"{stage} #{count} +{delay:.2f}s (at {time.monotonic() - started:.0f}s): "
            f"left {registered} worktrees, {len(left)} dirs"
        )
        previous = left + [line.split()[0] for line in worktree_lines(repo)[1:]]
    # Leftovers there were: the kills did land mid-run.
    assert all("left 2 worktrees" in t for t in tried[1:]), tried

    env = isolated_env(tmp_path, cache=tmp_path / f"cache-{len(STAGES) - 1}", sleep=0.0)
    out = tmp_path / "out-final"
    final = subprocess.run(
        verify_command(repo, out, "--manifest", str(manifest)),
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    elapsed = time.monotonic() - started
    print(f"SIGKILL points (seed {SEED}, {elapsed:.0f}s):", *tried, sep="\n  ")
    assert final.returncode == 0, final.stdout + final.stderr
    claims = json.loads((out / "results.json").read_text())["run"]["claims"]
    assert [c["verdict"] for c in claims] == ["VERIFIED"]
    assert len(worktree_lines(repo)) == 1 and str(repo) in worktree_lines(repo)[0]
    assert leftovers(temp) == []
    assert processes_inside(tmp_path) == []
    assert tree_state(repo) == before
