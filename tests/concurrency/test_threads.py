"""The thread runner: gate, switch interval, result collection, budget, line-level preemption."""

from __future__ import annotations

import sys
import threading
import time
from typing import Any

import pytest
from apps import narrow

from harness.concurrency import (
    Budget,
    Mode,
    Preemption,
    RaceResult,
    TargetFiles,
    ThreadRace,
    Violation,
    WorkerResult,
    format_failure,
    preempt,
    race_threads,
)
from harness.errors import UserError

CAP = 5
NARROW = TargetFiles.resolve(["apps.narrow"])


def cap_check(store: narrow.BuggyStore, results: list[WorkerResult]) -> Violation | None:
    wins = sum(r.ok for r in results)
    if wins != min(CAP, len(results)) or len(store.items) != wins:
        return Violation(
            "more creations succeeded than the cap allows",
            observed={"successes": wins, "items": len(store.items)},
            expected={"successes": CAP, "items": CAP},
        )
    return None


def race(store_cls: type, mode: Mode, seconds: float = 2.0, **kw: Any) -> RaceResult:
    config = ThreadRace(
        workers=16,
        mode=mode,
        preempt=Preemption(NARROW, **kw) if mode in (Mode.PREEMPT, Mode.PCT) else None,
        budget=Budget(seconds=seconds, max_attempts=300),
        expected_errors=(OverflowError,),
    )
    return race_threads(
        "cap", lambda _: store_cls(CAP), lambda s, i: s.create(i), cap_check, config
    )


def test_preemption_catches_a_window_no_gil_release_opens() -> None:
    started = time.perf_counter()
    result = race(narrow.BuggyStore, Mode.PREEMPT)
    assert result.broken, f"not caught in {result.attempts} attempts"
    assert time.perf_counter() - started < 5
    assert result.failure is not None
    assert result.failure.violation.observed["successes"] > CAP
    assert result.failure.yield_points, "a failing round reports its forced yields"
    assert all("narrow.py:" in point for point in result.failure.yield_points)


def test_pct_mode_catches_it_too() -> None:
    result = race(narrow.BuggyStore, Mode.PCT, points=6)
    assert result.broken and result.failure is not None and result.failure.yield_points


def test_locked_store_holds_for_the_whole_budget() -> None:
    started = time.perf_counter()
    result = race(narrow.FixedStore, Mode.PREEMPT, seconds=0.6)
    elapsed = time.perf_counter() - started
    assert not result.broken, format_failure(result)
    assert result.attempts >= 3
    assert elapsed < 4  # bounded: the budget, plus one attempt


def test_the_switch_interval_is_shrunk_during_a_run_and_restored_after() -> None:
    before = sys.getswitchinterval()
    seen: list[float] = []

    def work(state: None, index: int) -> None:
        seen.append(sys.getswitchinterval())

    config = ThreadRace(workers=4, mode=Mode.BARRIER, budget=Budget(seconds=0.01, max_attempts=1))
    race_threads("si", lambda _: None, work, lambda s, r: None, config)
    assert seen == [1e-6] * 4
    assert sys.getswitchinterval() == before


def test_workers_start_behind_the_gate() -> None:
    arrived: list[int] = []
    lock = threading.Lock()

    def work(state: None, index: int) -> int:
        with lock:
            arrived.append(index)
            return len(arrived)

    config = ThreadRace(workers=8, mode=Mode.BARRIER, budget=Budget(seconds=0.01, max_attempts=1))
    race_threads("gate", lambda _: None, work, lambda s, r: None, config)
    assert sorted(arrived) == list(range(8))


def test_a_worker_exception_is_a_failure_even_when_the_check_passes() -> None:
    def work(state: None, index: int) -> None:
        if index == 3:
            raise KeyError("boom")

    config = ThreadRace(workers=4, mode=Mode.BARRIER, budget=Budget(seconds=1, max_attempts=5))
    result = race_threads("errors", lambda _: None, work, lambda s, r: None, config)
    assert result.broken and result.failing_attempt == 1 and result.attempts == 1
    assert result.failure is not None
    assert result.failure.violation.observed == {"worker_errors": 1}
    assert "KeyError" in format_failure(result)


def test_the_budget_bounds_attempts_and_time() -> None:
    config = ThreadRace(workers=2, mode=Mode.BARRIER, budget=Budget(seconds=5, max_attempts=7))
    result = race_threads("bound", lambda _: None, lambda s, i: None, lambda s, r: None, config)
    assert result.attempts == 7 and not result.broken


def test_the_failing_attempt_and_time_to_failure_are_recorded() -> None:
    def check(state: int, results: list[WorkerResult]) -> Violation | None:
        return Violation("attempt 4", {"a": state}, {"a": "<4"}) if state == 4 else None

    config = ThreadRace(workers=2, mode=Mode.BARRIER, budget=Budget(seconds=5, max_attempts=50))
    result = race_threads("ttf", lambda attempt: attempt, lambda s, i: None, check, config)
    assert (result.attempts, result.failing_attempt) == (4, 4)
    assert result.time_to_failure is not None and 0 < result.time_to_failure <= result.elapsed


def test_the_same_seed_replays_the_same_yield_points() -> None:
    def always_fails(store: narrow.FixedStore, results: list[WorkerResult]) -> Violation:
        return Violation("recorded", {}, {})

    def run() -> tuple[str, ...]:
        config = ThreadRace(
            workers=3,
            mode=Mode.PREEMPT,
            preempt=Preemption(NARROW, probability=0.5),
            budget=Budget(seconds=5, max_attempts=1),
            seed=4242,
        )
        result = race_threads(
            "replay",
            lambda _: narrow.FixedStore(100),
            lambda s, i: s.create(i),
            always_fails,
            config,
        )
        assert result.failure is not None and result.failure.seed == 4242
        return tuple(sorted(result.failure.yield_points))

    first = run()
    assert first, "p=0.5 over a dozen line events yields at least once"
    assert [run() for _ in range(5)] == [first] * 5


def test_preemption_without_targets_is_a_user_error() -> None:
    with pytest.raises(UserError, match="preempt=None"):
        ThreadRace(mode=Mode.PREEMPT)
    with pytest.raises(UserError, match=r"preempt.targets='no.such.module'"):
        TargetFiles.resolve(["no.such.module"])


BACKENDS = [
    pytest.param(False, id="sys.settrace"),
    pytest.param(
        True,
        id="sys.monitoring",
        marks=pytest.mark.skipif(
            sys.version_info < (3, 12), reason="sys.monitoring exists from Python 3.12"
        ),
    ),
]


@pytest.mark.parametrize("monitoring", BACKENDS)
@pytest.mark.parametrize("mode", [Mode.PREEMPT, Mode.PCT])
def test_each_backend_catches_the_race_and_clears_the_fix_within_the_same_bounds(
    monitoring: bool, mode: Mode
) -> None:
    """Both line-event backends: the buggy store broken within 2 s, the locked one holding for
    its whole budget, with yields reported at the target's lines."""
    with preempt.Round(Preemption(NARROW, use_monitoring=monitoring), 0, 1, {}) as probe:
        assert probe.backend == ("sys.monitoring" if monitoring else "sys.settrace")
    kw: dict[str, Any] = {"use_monitoring": monitoring}
    if mode is Mode.PCT:
        kw["points"] = 6
    started = time.perf_counter()
    result = race(narrow.BuggyStore, mode, **kw)
    assert result.broken, f"{mode.value} missed it in {result.attempts} attempts"
    assert time.perf_counter() - started < 5
    assert result.failure is not None
    assert all("narrow.py:" in point for point in result.failure.yield_points)
    held = race(narrow.FixedStore, mode, seconds=0.6, **kw)
    assert not held.broken and held.attempts >= 3, format_failure(held)
