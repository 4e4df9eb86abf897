"""lifecycle.restart: after a clean stop(), start() brings the background loop back."""

from __future__ import annotations

import asyncio

from harness.pack import Target, Violation, WorkerResult, scenario

from ._common import HANG_FACTOR, Attempt, LifecycleBinding, ServiceCheck
from ._tasks import describe_tasks, wait_until


class _Restart(ServiceCheck):
    name = "lifecycle.restart"

    async def work(self, state: Attempt, index: int) -> None:
        await self.start(state)
        state.extra["first"] = state.loops()
        if not await self.patiently(self.stop(state), "the clean stop()"):
            state.extra["hung"] = True
            return
        await self.start(state)
        await asyncio.sleep(0)

    async def check(self, state: Attempt, results: list[WorkerResult]) -> Violation | None:
        try:
            if state.extra.get("hung"):
                return Violation(
                    f"a clean stop() did not return within {HANG_FACTOR} x settle="
                    f"{self.binding.settle}s, so start() could not run again",
                    observed={"stop_returned": False},
                    expected={"stop_returned": True},
                )
            first = state.extra.get("first", [])
            await wait_until(lambda: bool(state.loops()), 0.05)
            live = [t for t in state.loops() if t not in first]
            if len(live) == 1 and not any(t in state.loops() for t in first):
                return None
            return Violation(
                f"after start/stop/start, {len(live)} new background task(s) are running "
                f"({describe_tasks(live) or 'none'}) and {sum(not t.done() for t in first)} "
                "old one(s); a restart must run exactly one fresh loop (is the stop signal "
                "left set, or the old task never awaited?)",
                observed={
                    "new_tasks": len(live),
                    "old_tasks_alive": sum(not t.done() for t in first),
                },
                expected={"new_tasks": 1, "old_tasks_alive": 0},
            )
        finally:
            await self.cleanup(state)


@scenario("lifecycle.restart", binding=LifecycleBinding)
def a_clean_stop_allows_a_restart(binding: LifecycleBinding, target: Target) -> None:
    """start(), stop(), start(): one live background task afterwards, and not the old one."""
    _Restart(binding, target).verdict()
