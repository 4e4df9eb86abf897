"""lifecycle.loop_errors: when the background loop dies, the error is logged, not lost."""

from __future__ import annotations

import logging

from harness.pack import Target, Violation, WorkerResult, assert_holds, scenario
from scenarios._shared import RecordCapture

from ._common import Attempt, LifecycleBinding, ServiceCheck
from ._tasks import wait_until


def _names(message: str, error: BaseException) -> bool:
    text = str(error)
    return (bool(text) and text in message) or type(error).__name__ in message


class _LoopErrors(ServiceCheck):
    name = "lifecycle.loop_errors"
    forcing = "failing"
    stops = False

    async def work(self, state: Attempt, index: int) -> None:
        capture = RecordCapture(logging.ERROR)
        root = logging.getLogger()
        root.addHandler(capture)
        try:
            await self.start(state)
            spawned = state.spawned()
            await wait_until(lambda: all(t.done() for t in spawned), self.binding.settle)
            await wait_until(lambda: bool(capture.records), 0.05)
            # Retrieve the exception so asyncio does not log it for the service at GC time.
            state.extra["errors"] = [
                task.exception() for task in spawned if task.done() and not task.cancelled()
            ]
        finally:
            root.removeHandler(capture)
        state.extra["records"] = capture.records

    async def check(self, state: Attempt, results: list[WorkerResult]) -> Violation | None:
        try:
            records = state.extra.get("records", [])
            with_error = [r for r in records if r.exc_info and r.exc_info[1] is not None]
            if with_error:
                return None
            # log.error("poller died: %s", exc) without a traceback still tells the operator:
            # the loss this check proves is an error nobody hears of, not a missing traceback.
            errors = [e for e in state.extra.get("errors", []) if e is not None]
            if any(_names(r.getMessage(), e) for r in records for e in errors):
                return None
            return Violation(
                "the background loop died and nothing was logged at ERROR with the exception "
                "(the task's exception is never retrieved, so the failure is silent)",
                observed={"error_records": len(records), "with_traceback": 0},
                expected={"with_traceback": ">= 1"},
                details=tuple(f"logged: {r.levelname} {r.getMessage()[:120]}" for r in records[:2]),
            )
        finally:
            await self.cleanup(state)

    def verdict(self) -> None:
        # No notes here: the race's own report is the verdict.
        __tracebackhide__ = True
        assert_holds(self.race())


@scenario("lifecycle.loop_errors", binding=LifecycleBinding)
def a_dying_loop_is_logged_not_lost(binding: LifecycleBinding, target: Target) -> None:
    """Make the background work raise: an ERROR record carrying the exception is logged."""
    _LoopErrors(binding, target).verdict()
