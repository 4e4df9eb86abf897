"""The lifecycle pack on small services: each check fails on its buggy shape, passes when fixed."""

from __future__ import annotations

import asyncio
import logging
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any

import pytest

import scenarios.lifecycle  # noqa: F401 - registers the checks
from harness.errors import UserError
from harness.scenario import run
from harness.targets import TargetSpec, launch
from tests.packs.support import in_process

logger = logging.getLogger("tests.lifecycle")


async def _noop() -> None:
    await asyncio.sleep(0)


@dataclass(eq=False)
class Poller:
    """The sample's buggy poller: no lock around start, lock rebound in stop, no unrestartable
    flag, the drained task left running, the loop's death never logged."""

    work: Any = _noop
    interval: float = 0.01
    drain_timeout: float = 0.05
    _task: asyncio.Task[None] | None = field(default=None, init=False)
    _stop_event: asyncio.Event = field(default_factory=asyncio.Event, init=False)
    _lifecycle_lock: asyncio.Lock = field(default_factory=asyncio.Lock, init=False)

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    async def _loop(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            await self.work()
            with suppress(TimeoutError):  # the interval passed with no stop
                await asyncio.wait_for(stop.wait(), self.interval)

    async def start(self) -> None:
        if not self.running:
            await self._spawn()

    async def _spawn(self) -> None:
        """A fresh stop event and the loop's task, after a yield (the window a race needs)."""
        await asyncio.sleep(0)
        self._stop_event = asyncio.Event()
        self._task = asyncio.create_task(self._loop(self._stop_event))

    async def stop(self) -> None:
        self._lifecycle_lock = asyncio.Lock()
        await self._drain()

    async def _drain(self) -> None:
        """Signal the loop and wait up to drain_timeout for it; the task is forgotten after."""
        task = self._task
        if task is not None:
            self._stop_event.set()
            try:
                await asyncio.wait_for(asyncio.shield(task), self.drain_timeout)
            except TimeoutError:
                await self._timed_out(task)
            self._task = None

    async def _timed_out(self, task: asyncio.Task[None]) -> None:
        """The bug: the task that did not drain is left running."""


class FixedPoller(Poller):
    def __init__(self, **kwargs: Any):
        super().__init__(**kwargs)
        self._unrestartable = False

    async def _loop(self, stop: asyncio.Event) -> None:
        try:
            await super()._loop(stop)
        except Exception:
            logger.exception("poller loop died")
            raise

    async def start(self) -> None:
        async with self._lifecycle_lock:
            if self._unrestartable:
                raise RuntimeError("a previous stop timed out; this poller cannot restart")
            if not self.running:
                await self._spawn()

    async def stop(self) -> None:
        async with self._lifecycle_lock:
            await self._drain()

    async def _timed_out(self, task: asyncio.Task[None]) -> None:
        self._unrestartable = True
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


class StaleEventPoller(FixedPoller):
    """Restart bug: the stop event is created once, so a restarted loop sees it set and exits."""

    async def start(self) -> None:
        async with self._lifecycle_lock:
            if not self.running:
                self._task = asyncio.create_task(self._loop(self._stop_event))


STUCK = {"work": "scenarios.lifecycle.stubs:never_returns", "drain_timeout": 0.05}
FAILING = {"work": "scenarios.lifecycle.stubs:raises"}


def check(name: str, factory: Any, **binding: Any) -> str | None:
    binding = {"budget": 0.3, "stuck": STUCK, "failing": FAILING, **binding}
    return in_process(name, binding, factory, within=15)


@pytest.mark.parametrize("strategy", ["asyncio", "random"])
def test_concurrent_starts_spawn_exactly_one_task(strategy: str) -> None:
    failure = check("lifecycle.concurrent_start", Poller, strategy=strategy)
    assert failure is not None and "background tasks (Poller._loop" in failure
    assert "expected: tasks_spawned=1" in failure
    assert check("lifecycle.concurrent_start", FixedPoller, strategy=strategy) is None


def test_a_clean_stop_allows_a_restart() -> None:
    failure = check("lifecycle.restart", StaleEventPoller)
    assert failure is not None and "observed: new_tasks=0" in failure
    assert check("lifecycle.restart", FixedPoller) is None


@pytest.mark.parametrize("strategy", ["asyncio", "pct"])
def test_a_drain_timeout_makes_start_raise(strategy: str) -> None:
    failure = check("lifecycle.drain_timeout", Poller, strategy=strategy)
    assert failure is not None and "start() ran again after stop() timed out" in failure
    assert check("lifecycle.drain_timeout", FixedPoller, strategy=strategy) is None


def test_no_task_outlives_a_stop_timeout() -> None:
    failure = check("lifecycle.orphans", Poller)
    assert failure is not None and "no longer referenced by the service (Poller._loop)" in failure
    assert check("lifecycle.orphans", FixedPoller) is None


def test_the_lifecycle_lock_is_never_rebound() -> None:
    failure = check("lifecycle.lock_identity", Poller)
    assert failure is not None and "_lifecycle_lock was replaced" in failure
    assert check("lifecycle.lock_identity", FixedPoller) is None


def test_a_dying_loop_is_logged_not_lost() -> None:
    failure = check("lifecycle.loop_errors", Poller)
    assert failure is not None and "nothing was logged at ERROR" in failure
    assert check("lifecycle.loop_errors", FixedPoller) is None


def test_a_check_that_needs_stuck_work_says_so() -> None:
    with launch(TargetSpec(kind="python", factory=FixedPoller)) as target:
        with pytest.raises(UserError, match=r"binding\.stuck: missing"):
            run("lifecycle.orphans", {}, target)
        with pytest.raises(UserError, match=r"binding\.lock_attr='_lock'"):
            run("lifecycle.lock_identity", {"lock_attr": "_lock"}, target)


# --- precision: a refused caller or a slow stop is a finding, not a second loop or a hang -------


class RefusingPoller(FixedPoller):
    """Correct, but a start() that finds another start in progress raises instead of waiting."""

    def __init__(self, **kwargs: Any):
        super().__init__(**kwargs)
        self._starting = False

    async def start(self) -> None:
        if self._starting:
            raise RuntimeError("already starting")
        self._starting = True
        try:
            await super().start()
        finally:
            self._starting = False


class SlowStopPoller(FixedPoller):
    """Correct, but its stop() takes twice the binding's settle (a busy machine)."""

    async def stop(self) -> None:
        await asyncio.sleep(0.1)
        await super().stop()


class TerseLogPoller(FixedPoller):
    """Logs the loop's death as one ERROR line naming the exception, without a traceback."""

    async def _loop(self, stop: asyncio.Event) -> None:
        try:
            await Poller._loop(self, stop)
        except Exception as exc:
            logger.error("poller loop died: %s", exc)
            raise


@pytest.mark.parametrize(
    ("name", "factory", "says"),
    [
        ("lifecycle.concurrent_start", RefusingPoller, "start() raised RuntimeError"),
        ("lifecycle.restart", SlowStopPoller, "the clean stop() took"),
    ],
)
def test_out_of_class_behaviour_is_a_finding(name: str, factory: Any, says: str) -> None:
    from harness.findings import collect

    with collect() as seen:
        assert check(name, factory, settle=0.05) is None
    assert len(seen) == 1 and says in seen[0].problem, [str(f) for f in seen]
    assert seen[0].repro.startswith("FIXGUARD_SEED=")
    failure = check(name, factory, settle=0.05, server_errors="fail")
    assert failure is not None and 'server_errors = "fail"' in failure and says in failure


def test_a_stop_that_never_returns_is_still_a_hang() -> None:
    class HungStop(FixedPoller):
        async def stop(self) -> None:
            await asyncio.Event().wait()

    failure = check("lifecycle.restart", HungStop, settle=0.02)
    assert failure is not None and "a clean stop() did not return within 5 x settle" in failure


def test_an_error_line_naming_the_exception_is_logged_enough() -> None:
    assert check("lifecycle.loop_errors", TerseLogPoller) is None
