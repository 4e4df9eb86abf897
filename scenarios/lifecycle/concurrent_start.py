"""lifecycle.concurrent_start: N concurrent start() calls spawn exactly one background task."""

from __future__ import annotations

from harness.pack import Target, Violation, WorkerResult, scenario

from ._common import Attempt, LifecycleBinding, ServiceCheck
from ._tasks import describe_tasks


class _ConcurrentStart(ServiceCheck):
    name = "lifecycle.concurrent_start"
    stops = False
    expected_errors = (Exception,)

    def workers(self) -> int:
        return self.binding.starters

    async def work(self, state: Attempt, index: int) -> None:
        await self.start(state)

    async def check(self, state: Attempt, results: list[WorkerResult]) -> Violation | None:
        starters = self.binding.starters
        spawned = state.loops()
        # A start() that refuses a concurrent caller ("already starting") spawns no second
        # loop: a finding; the loop count below is the verdict.
        refused = [r.error for r in results if r.error is not None]
        if refused:
            kinds = ", ".join(sorted({type(e).__name__ for e in refused}))
            self.notes.add(
                f"start() raised {kinds} for some of {starters} concurrent callers "
                f"(first: {refused[0]})"
            )
        try:
            if len(spawned) == 1:
                return None
            return Violation(
                f"{starters} concurrent start() calls spawned {len(spawned)} background "
                f"tasks ({describe_tasks(spawned)}); exactly 1 may run (the running check and "
                "the create_task are not under one lock)",
                observed={"tasks_spawned": len(spawned)},
                expected={"tasks_spawned": 1},
            )
        finally:
            await self.cleanup(state)


@scenario("lifecycle.concurrent_start", binding=LifecycleBinding)
def concurrent_starts_spawn_exactly_one_task(binding: LifecycleBinding, target: Target) -> None:
    """Start the service from N coroutines at once; exactly one background task exists after."""
    _ConcurrentStart(binding, target).verdict()
