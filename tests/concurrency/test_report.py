"""Failure reports name the mode, seed and attempt, the counts, the yields and a repro line."""

from __future__ import annotations

import pytest

from harness.concurrency import (
    Budget,
    Failure,
    Mode,
    RaceResult,
    ThreadRace,
    Violation,
    assert_holds,
    format_failure,
    format_pass,
    race_threads,
)


def broken() -> RaceResult:
    return RaceResult(
        name="races.capacity_limit",
        mode=Mode.PREEMPT,
        seed=99,
        workers=16,
        attempts=3,
        elapsed=0.2,
        budget=2.0,
        failure=Failure(
            Violation("7 tickets were created; the cap is 5", {"successes": 7}, {"successes": 5}),
            attempt=3,
            seed=99,
            yield_points=tuple(f"w{i} shop/tickets.py:{40 + i}" for i in range(30)),
        ),
        time_to_failure=0.2,
        repro="FIXGUARD_SEED=99 FIXGUARD_ATTEMPT=3 python -m pytest -q 't.py::x'",
    )


def test_a_failure_report_has_everything_a_reader_needs() -> None:
    text = format_failure(broken())
    assert text.splitlines()[0] == "races.capacity_limit: 7 tickets were created; the cap is 5"
    assert "mode=preempt workers=16 seed=99 attempt=3" in text
    assert "observed: successes=7" in text and "expected: successes=5" in text
    assert "w0 shop/tickets.py:40" in text and "6 more" in text
    assert (
        text.splitlines()[-1]
        == "  repro: FIXGUARD_SEED=99 FIXGUARD_ATTEMPT=3 python -m pytest -q 't.py::x'"
    )


def test_assert_holds_raises_the_report_and_passes_a_clean_run() -> None:
    with pytest.raises(AssertionError, match="cap is 5"):
        assert_holds(broken())
    clean = RaceResult("n", Mode.BARRIER, 1, 2, attempts=10, elapsed=0.5, budget=0.5)
    assert assert_holds(clean) is clean
    assert (
        format_pass(clean) == "n: held for 10 attempt(s) in 0.50s (mode=barrier workers=2 seed=1)"
    )


def test_the_repro_command_names_this_test_and_replays_the_attempt(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def check(state: int, results: object) -> Violation | None:
        return Violation("attempt 2", {}, {}) if state == 2 else None

    config = ThreadRace(
        workers=2, mode=Mode.BARRIER, budget=Budget(seconds=5, max_attempts=9), seed=5
    )
    result = race_threads("r", lambda a: a, lambda s, i: None, check, config)
    assert result.repro.startswith("FIXGUARD_SEED=5 FIXGUARD_ATTEMPT=2 python -m pytest -q '")
    assert "test_report.py::test_the_repro_command_names_this_test" in result.repro

    monkeypatch.setenv("FIXGUARD_SEED", "5")
    monkeypatch.setenv("FIXGUARD_ATTEMPT", "2")
    config = ThreadRace(workers=2, mode=Mode.BARRIER, budget=Budget(seconds=5, max_attempts=9))
    replay = race_threads("r", lambda a: a, lambda s, i: None, check, config)
    assert (replay.seed, replay.attempts, replay.failing_attempt) == (5, 1, 2)
