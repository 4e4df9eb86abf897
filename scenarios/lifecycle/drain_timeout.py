"""lifecycle.drain_timeout: once a stop() timed out draining, start() refuses to run again."""

from __future__ import annotations

from harness.pack import Target, Violation, WorkerResult, scenario

from ._common import HANG_FACTOR, Attempt, LifecycleBinding, ServiceCheck
from ._tasks import cancel_all


class _DrainTimeout(ServiceCheck):
    name = "lifecycle.drain_timeout"
    forcing = "stuck"

    async def work(self, state: Attempt, index: int) -> None:
        stopped = await self.stop_stuck(state)
        if stopped is False:
            state.extra["stop"] = (
                f"stop() did not return within {HANG_FACTOR} x settle="
                f"{self.binding.settle}s: its drain timeout never fired"
            )
            return
        if isinstance(stopped, Exception):  # a stop that reports the timeout is fine
            state.extra["stop"] = f"stop() raised {type(stopped).__name__}"
        try:
            await self.start(state)
        except Exception as exc:  # any refusal counts unless names are given
            names = self.binding.unrestartable_errors
            state.extra["refused"] = not names or type(exc).__name__ in names
            state.extra["error"] = f"{type(exc).__name__}: {exc}"
        else:
            state.extra["refused"] = False

    async def check(self, state: Attempt, results: list[WorkerResult]) -> Violation | None:
        try:
            if "refused" not in state.extra:
                return Violation(
                    state.extra.get("stop", "stop() never returned"),
                    observed={"stop_returned": False},
                    expected={"stop_returned": True},
                )
            if state.extra["refused"]:
                return None
            error = state.extra.get("error")
            return Violation(
                "start() ran again after stop() timed out draining the old loop "
                + (
                    f"(it raised {error}, not one of {self.binding.unrestartable_errors})"
                    if error
                    else "(the service must be marked unrestartable, or two loops run at once)"
                ),
                observed={"start_after_drain_timeout": "raised " + error if error else "ran"},
                expected={"start_after_drain_timeout": "raises"},
            )
        finally:
            await cancel_all(state.spawned())


@scenario("lifecycle.drain_timeout", binding=LifecycleBinding)
def a_drain_timeout_makes_start_raise(binding: LifecycleBinding, target: Target) -> None:
    """Make the loop ignore stop, stop() (it times out), then start() must raise."""
    _DrainTimeout(binding, target).verdict()
