"""lifecycle.lock_identity: stop() interleaved with queued start()s never rebinds the lock."""

from __future__ import annotations

from harness.pack import Target, UserError, Violation, WorkerResult, scenario

from ._common import (
    HANG_FACTOR,
    Attempt,
    LifecycleBinding,
    Notes,
    describe_tasks,
    fresh,
    judge,
    patiently,
    stop_and_cancel,
)

#: Contender i runs stop() when i is in this set, start() otherwise: stops among queued starts.
_STOPPERS = {1, 4}
_CONTENDERS = 6


@scenario("lifecycle.lock_identity", binding=LifecycleBinding)
def the_lifecycle_lock_is_never_rebound(binding: LifecycleBinding, target: Target) -> None:
    """Start, then race stop()s against queued start()s: same lock object, at most one loop."""
    notes = Notes()

    async def setup(attempt: int) -> Attempt:
        state = fresh(target, binding)
        service = state.service
        if not hasattr(service, binding.lock_attr):
            raise UserError(
                f"binding.lock_attr={binding.lock_attr!r}: {type(service).__name__} has no "
                "such attribute (name the lifecycle lock)",
                where="binding.lock_attr",
            )
        await getattr(service, binding.start)()
        state.before.clear()  # the loop start() just spawned is one of those counted
        state.extra["lock"] = getattr(service, binding.lock_attr)
        return state

    async def work(state: Attempt, index: int) -> None:
        name = binding.stop if index in _STOPPERS else binding.start
        try:
            returned = await patiently(
                getattr(state.service, name)(), binding.settle, notes, f"a queued {name}()"
            )
        except Exception as exc:  # a start() refused while a stop runs rebinds nothing
            notes.add(f"a queued {name}() raised {type(exc).__name__}: {exc}")
            return
        if not returned:
            state.extra.setdefault("hung", []).append(f"{name}()")

    async def check(state: Attempt, results: list[WorkerResult]) -> Violation | None:
        loops = state.loops()
        try:
            hung = state.extra.get("hung", [])
            if hung:  # callers queued forever on the lifecycle lock: a deadlock
                return Violation(
                    f"{len(hung)} queued call(s) ({', '.join(hung)}) did not return within "
                    f"{HANG_FACTOR} x settle={binding.settle}s",
                    observed={"hung_calls": len(hung)},
                    expected={"hung_calls": 0},
                )
            same = getattr(state.service, binding.lock_attr) is state.extra["lock"]
            if same and len(loops) <= 1:
                return None
            why = (
                f"{binding.lock_attr} was replaced by a new object during stop(): a caller "
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
            await stop_and_cancel(state, binding, loops)

    judge("lifecycle.lock_identity", binding, notes, setup, work, check, _CONTENDERS)
