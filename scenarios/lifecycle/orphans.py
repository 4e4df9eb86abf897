"""lifecycle.orphans: a stop() that times out leaves no orphan task behind.

An orphan is a task of the service that is still pending after stop() returned while the service
no longer holds a reference to it: nobody can cancel, await or even see it. A fix may cancel the
task, or keep it tracked (and refuse to restart); forgetting it is the bug.
"""

from __future__ import annotations

import asyncio

from harness.pack import Target, Violation, WorkerResult, scenario

from . import stubs
from ._common import (
    Attempt,
    LifecycleBinding,
    Notes,
    cancel_all,
    describe_tasks,
    inside_work,
    make_service,
    method,
    patiently,
    require,
    run,
    tracked_tasks,
)


@scenario("lifecycle.orphans", binding=LifecycleBinding)
def no_task_outlives_a_stop_timeout(binding: LifecycleBinding, target: Target) -> None:
    """Make the loop ignore stop, stop() (it times out): no pending task is left untracked."""
    overrides = require(binding, "stuck")
    notes = Notes()

    async def setup(attempt: int) -> Attempt:
        service = make_service(target, overrides)
        method(service, binding.start, "start")
        method(service, binding.stop, "stop")
        state = Attempt(service, set(asyncio.all_tasks()))
        state.extra["entered"] = stubs.entered()
        return state

    async def work(state: Attempt, index: int) -> None:
        await getattr(state.service, binding.start)()
        await inside_work(state.extra["entered"], binding.settle)
        try:
            if not await patiently(
                getattr(state.service, binding.stop)(),
                binding.settle,
                notes,
                "stop() after its drain timed out",
            ):
                state.extra["hung"] = True
        except Exception:  # reporting the timeout by raising is allowed
            pass
        for _ in range(3):  # let cancellations the fix issued be delivered
            await asyncio.sleep(0)

    async def check(state: Attempt, results: list[WorkerResult]) -> Violation | None:
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

    notes.verdict(
        "lifecycle.orphans", binding, run("lifecycle.orphans", binding, setup, work, check, 1)
    )
