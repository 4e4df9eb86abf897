"""lifecycle.concurrent_start: N concurrent start() calls spawn exactly one background task."""

from __future__ import annotations

import asyncio

from harness.concurrency.report import assert_holds
from harness.concurrency.result import Violation, WorkerResult
from harness.scenario import scenario
from harness.targets.base import Target

from ._common import (
    Attempt,
    LifecycleBinding,
    cancel_all,
    describe_tasks,
    make_service,
    method,
    run,
)


@scenario("lifecycle.concurrent_start", binding=LifecycleBinding)
def concurrent_starts_spawn_exactly_one_task(binding: LifecycleBinding, target: Target) -> None:
    """Start the service from N coroutines at once; exactly one background task exists after."""

    async def setup(attempt: int) -> Attempt:
        service = make_service(target)
        method(service, binding.start, "start")
        return Attempt(service, set(asyncio.all_tasks()))

    async def work(state: Attempt, index: int) -> None:
        await getattr(state.service, binding.start)()

    async def check(state: Attempt, results: list[WorkerResult]) -> Violation | None:
        spawned = state.loops()
        try:
            if len(spawned) == 1:
                return None
            return Violation(
                f"{binding.starters} concurrent start() calls spawned {len(spawned)} background "
                f"tasks ({describe_tasks(spawned)}); exactly 1 may run (the running check and "
                "the create_task are not under one lock)",
                observed={"tasks_spawned": len(spawned)},
                expected={"tasks_spawned": 1},
            )
        finally:
            try:
                await asyncio.wait_for(getattr(state.service, binding.stop)(), binding.settle)
            except Exception:  # cleanup only; the check's verdict is above
                pass
            await cancel_all(state.spawned())

    assert_holds(run("lifecycle.concurrent_start", binding, setup, work, check, binding.starters))
