"""lifecycle.drain_timeout: once a stop() timed out draining, start() refuses to run again."""

from __future__ import annotations

import asyncio

from harness.pack import Target, Violation, WorkerResult, scenario

from . import stubs
from ._common import (
    HANG_FACTOR,
    Attempt,
    LifecycleBinding,
    Notes,
    cancel_all,
    inside_work,
    make_service,
    method,
    patiently,
    require,
    run,
)


@scenario("lifecycle.drain_timeout", binding=LifecycleBinding)
def a_drain_timeout_makes_start_raise(binding: LifecycleBinding, target: Target) -> None:
    """Make the loop ignore stop, stop() (it times out), then start() must raise."""
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
        service = state.service
        await getattr(service, binding.start)()
        await inside_work(state.extra["entered"], binding.settle)
        try:
            if not await patiently(
                getattr(service, binding.stop)(),
                binding.settle,
                notes,
                "stop() after its drain timed out",
            ):
                state.extra["stop"] = (
                    f"stop() did not return within {HANG_FACTOR} x settle="
                    f"{binding.settle}s: its drain timeout never fired"
                )
                return
        except Exception as exc:  # a stop that reports the timeout is fine
            state.extra["stop"] = f"stop() raised {type(exc).__name__}"
        try:
            await getattr(service, binding.start)()
        except Exception as exc:  # any refusal counts unless names are given
            names = binding.unrestartable_errors
            state.extra["refused"] = not names or type(exc).__name__ in names
            state.extra["error"] = f"{type(exc).__name__}: {exc}"
        else:
            state.extra["refused"] = False

    async def check(state: Attempt, results: list[WorkerResult]) -> Violation | None:
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
                    f"(it raised {error}, not one of {binding.unrestartable_errors})"
                    if error
                    else "(the service must be marked unrestartable, or two loops run at once)"
                ),
                observed={"start_after_drain_timeout": "raised " + error if error else "ran"},
                expected={"start_after_drain_timeout": "raises"},
            )
        finally:
            await cancel_all(state.spawned())

    notes.verdict(
        "lifecycle.drain_timeout",
        binding,
        run("lifecycle.drain_timeout", binding, setup, work, check, 1),
    )
