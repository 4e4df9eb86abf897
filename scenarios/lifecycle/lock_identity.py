"""lifecycle.lock_identity: stop() interleaved with queued start()s never rebinds the lock."""

from __future__ import annotations

from harness.pack import Target, UserError, Violation, WorkerResult, scenario

from ._common import HANG_FACTOR, Attempt, LifecycleBinding, ServiceCheck
from ._tasks import describe_tasks

#: Contender i runs stop() when i is in this set, start() otherwise: stops among queued starts.
_STOPPERS = {1, 4}
_CONTENDERS = 6


class _LockIdentity(ServiceCheck):
    name = "lifecycle.lock_identity"

    def workers(self) -> int:
        return _CONTENDERS

    async def setup(self, attempt: int) -> Attempt:
        state = await super().setup(attempt)
        lock_attr = self.binding.lock_attr
        if not hasattr(state.service, lock_attr):
            raise UserError(
                f"binding.lock_attr={lock_attr!r}: {type(state.service).__name__} has no "
                "such attribute (name the lifecycle lock)",
                where="binding.lock_attr",
            )
        await self.start(state)
        state.before.clear()  # the loop start() just spawned is one of those counted
        state.extra["lock"] = getattr(state.service, lock_attr)
        return state

    async def work(self, state: Attempt, index: int) -> None:
        name = self.binding.stop if index in _STOPPERS else self.binding.start
        try:
            returned = await self.patiently(getattr(state.service, name)(), f"a queued {name}()")
        except Exception as exc:  # a start() refused while a stop runs rebinds nothing
            self.notes.add(f"a queued {name}() raised {type(exc).__name__}: {exc}")
            return
        if not returned:
            state.extra.setdefault("hung", []).append(f"{name}()")

    async def check(self, state: Attempt, results: list[WorkerResult]) -> Violation | None:
        lock_attr = self.binding.lock_attr
        loops = state.loops()
        try:
            hung = state.extra.get("hung", [])
            if hung:  # callers queued forever on the lifecycle lock: a deadlock
                return Violation(
                    f"{len(hung)} queued call(s) ({', '.join(hung)}) did not return within "
                    f"{HANG_FACTOR} x settle={self.binding.settle}s",
                    observed={"hung_calls": len(hung)},
                    expected={"hung_calls": 0},
                )
            same = getattr(state.service, lock_attr) is state.extra["lock"]
            if same and len(loops) <= 1:
                return None
            why = (
                f"{lock_attr} was replaced by a new object during stop(): a caller "
                "queued on the old lock and one on the new lock both proceed"
                if not same
                else f"{len(loops)} background loops run at once ({describe_tasks(loops)})"
            )
            return Violation(
                why,
                observed={"lock_rebound": not same, "loops_running": len(loops)},
                expected={"lock_rebound": False, "loops_running": "<= 1"},
            )
        finally:
            await self.cleanup(state, loops)


@scenario("lifecycle.lock_identity", binding=LifecycleBinding)
def the_lifecycle_lock_is_never_rebound(binding: LifecycleBinding, target: Target) -> None:
    """Start, then race stop()s against queued start()s: same lock object, at most one loop."""
    _LockIdentity(binding, target).verdict()
