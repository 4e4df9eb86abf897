"""lifecycle.orphans: a stop() that times out does not leave the drained task running."""

from __future__ import annotations

import asyncio

from harness.concurrency.report import assert_holds
from harness.concurrency.result import Violation, WorkerResult
from harness.scenario import scenario
from harness.targets.base import Target

from . import stubs
from ._common import (
    Attempt,
    LifecycleBinding,
    cancel_all,
    describe_tasks,
    inside_work,
    make_service,
    method,
    require,
    run,
)


@scenario("lifecycle.orphans", binding=LifecycleBinding)
def no_task_outlives_a_stop_timeout(binding: LifecycleBinding, target: Target) -> None:
    """Make the loop ignore stop, stop() (it times out): no task of the service is left pending."""
    overrides = require(binding, "stuck")

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
            await asyncio.wait_for(getattr(state.service, binding.stop)(), binding.settle)
        except TimeoutError:
            state.extra["hung"] = True
        except Exception:  # reporting the timeout by raising is allowed
            pass
        for _ in range(3):  # let cancellations the fix issued be delivered
            await asyncio.sleep(0)

    async def check(state: Attempt, results: list[WorkerResult]) -> Violation | None:
        left = state.loops()
        try:
            if not left and not state.extra.get("hung"):
                return None
            return Violation(
                f"{len(left)} task(s) still pending after stop() returned ({describe_tasks(left)})"
                ": a drain timeout must cancel (and await) what it gave up on, or the task "
                "runs on as an orphan",
                observed={"orphan_tasks": len(left), "stop_hung": bool(state.extra.get("hung"))},
                expected={"orphan_tasks": 0, "stop_hung": False},
            )
        finally:
            await cancel_all(left)

    assert_holds(run("lifecycle.orphans", binding, setup, work, check, 1))
