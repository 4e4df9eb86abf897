"""lifecycle.orphans: a stop() that times out leaves no orphan task behind.

An orphan is a task of the service that is still pending after stop() returned while the service
no longer holds a reference to it: nobody can cancel, await or even see it. A fix may cancel the
task, or keep it tracked (and refuse to restart); forgetting it is the bug.
"""

from __future__ import annotations

import asyncio

from harness.pack import Target, Violation, WorkerResult, scenario

from ._common import Attempt, LifecycleBinding, ServiceCheck
from ._tasks import cancel_all, describe_tasks, tracked_tasks


class _Orphans(ServiceCheck):
    name = "lifecycle.orphans"
    forcing = "stuck"

    async def work(self, state: Attempt, index: int) -> None:
        # Reporting the timeout by raising is allowed: only a hung stop() is noted.
        if await self.stop_stuck(state) is False:
            state.extra["hung"] = True
        for _ in range(3):  # let cancellations the fix issued be delivered
            await asyncio.sleep(0)

    async def check(self, state: Attempt, results: list[WorkerResult]) -> Violation | None:
        pending = state.loops()
        orphans = [t for t in pending if t not in tracked_tasks(state.service)]
        try:
            if not orphans and not state.extra.get("hung"):
                return None
            return Violation(
                f"{len(orphans)} task(s) still pending after stop() returned and no longer "
                f"referenced by the service ({describe_tasks(orphans)}): a drain timeout must "
                "cancel what it gave up on, or keep tracking it; forgotten, it runs on as an "
                "orphan",
                observed={"orphan_tasks": len(orphans), "stop_hung": bool(state.extra.get("hung"))},
                expected={"orphan_tasks": 0, "stop_hung": False},
            )
        finally:
            await cancel_all(pending)


@scenario("lifecycle.orphans", binding=LifecycleBinding)
def no_task_outlives_a_stop_timeout(binding: LifecycleBinding, target: Target) -> None:
    """Make the loop ignore stop, stop() (it times out): no pending task is left untracked."""
    _Orphans(binding, target).verdict()
