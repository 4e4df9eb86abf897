"""The asyncio runner: the gather gate, exact counts, and the seam the explorer plugs into."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any

import pytest

from harness.concurrency import (
    AsyncRace,
    Budget,
    RaceResult,
    Violation,
    WorkerResult,
    gather_gate,
    race_async,
)
from harness.errors import UserError


class Counter:
    def __init__(self, locked: bool):
        self.value = 0
        self._lock = asyncio.Lock() if locked else None

    async def _bump(self) -> None:
        current = self.value
        await asyncio.sleep(0)  # the read-modify-write spans a suspension point
        self.value = current + 1

    async def increment(self) -> None:
        if self._lock is None:
            await self._bump()
        else:
            async with self._lock:
                await self._bump()


def lost_update(counter: Counter, results: list[WorkerResult]) -> Violation | None:
    if counter.value != len(results):
        return Violation("increments were lost", {"value": counter.value}, {"value": len(results)})
    return None


CONFIG = AsyncRace(workers=8, budget=Budget(seconds=0.5, max_attempts=20))


def test_the_gate_releases_every_coroutine_together_and_collects_every_result() -> None:
    order: list[str] = []

    async def main() -> list[WorkerResult]:
        def make(i: int) -> Callable[[], Coroutine[Any, Any, int]]:
            async def contender() -> int:
                order.append(f"run{i}")
                if i == 2:
                    raise ValueError("two")
                return i

            return contender

        return await gather_gate([make(i) for i in range(4)])

    results = asyncio.run(main())
    assert [r.value for r in results] == [0, 1, None, 3]
    assert isinstance(results[2].error, ValueError)
    assert sorted(order) == ["run0", "run1", "run2", "run3"]


def test_an_unlocked_read_modify_write_loses_updates_on_the_first_attempt() -> None:
    result = race_async(
        "lost", lambda _: Counter(locked=False), lambda c, i: c.increment(), lost_update, CONFIG
    )
    assert result.broken and result.failing_attempt == 1
    assert result.failure is not None
    assert result.failure.violation.observed == {"value": 1}


def test_a_locked_counter_holds() -> None:
    result = race_async(
        "lost", lambda _: Counter(locked=True), lambda c, i: c.increment(), lost_update, CONFIG
    )
    assert not result.broken and result.attempts >= 3


class RecordingScheduler:
    """A real scheduler: runs each attempt on a fresh loop and records the seeds it was given."""

    def __init__(self) -> None:
        self.seeds: list[int] = []

    def run(self, main: Callable[[], Coroutine[Any, Any, Any]], *, seed: int) -> Any:
        self.seeds.append(seed)
        return asyncio.run(main())


def test_a_scheduler_plugs_into_the_seam_and_gets_one_seed_per_attempt() -> None:
    scheduler = RecordingScheduler()
    config = AsyncRace(workers=3, budget=Budget(seconds=5, max_attempts=4), seed=7)

    def race(scheduler: RecordingScheduler) -> RaceResult:
        return race_async(
            "seam",
            lambda _: Counter(locked=True),
            lambda c, i: c.increment(),
            lost_update,
            config,
            scheduler=scheduler,
        )

    result = race(scheduler)
    assert result.attempts == 4 and len(set(scheduler.seeds)) == 4
    again = RecordingScheduler()
    race(again)
    assert again.seeds == scheduler.seeds


def test_async_setup_and_check_run_inside_the_attempt_loop() -> None:
    async def setup(attempt: int) -> Counter:
        return Counter(locked=True)

    async def check(counter: Counter, results: list[WorkerResult]) -> Violation | None:
        await asyncio.sleep(0)
        return lost_update(counter, results)

    result = race_async("async-hooks", setup, lambda c, i: c.increment(), check, CONFIG)
    assert not result.broken


def test_both_runner_and_scheduler_is_a_user_error() -> None:
    with pytest.raises(UserError, match="both given"):
        race_async(
            "x",
            lambda _: None,
            lambda s, i: asyncio.sleep(0),
            lambda s, r: None,
            runner=lambda main, seed: asyncio.run(main()),
            scheduler=RecordingScheduler(),
        )
    with pytest.raises(UserError, match=r"scheduler=.*run\(main"):
        race_async(
            "x",
            lambda _: None,
            lambda s, i: asyncio.sleep(0),
            lambda s, r: None,
            scheduler=object(),  # type: ignore[arg-type]
        )
