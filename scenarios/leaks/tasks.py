"""leaks.tasks: no asyncio task started by the calls outlives the object's close (pyleak)."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

from harness.pack import Target, UserError, import_object, rerun_command, scenario

from ._common import Step, call_step, import_overrides

if TYPE_CHECKING:
    from pyleak import TaskLeakError


class TaskLeakBinding(BaseModel):
    """A fresh object from the python target's factory (with ``overrides``) per run."""

    model_config = ConfigDict(extra="forbid")

    #: The call that starts background work, made ``calls`` times.
    call: Step
    calls: int = Field(default=3, ge=1, le=1000)
    #: The shutdown that must end that work (``"aclose"``, ``"stop"``); None: none is needed.
    close: Step | None = None
    #: Factory keyword overrides; ``"pkg.mod:attr"`` strings are imported (e.g. a sink that
    #: never returns, so the tasks are still running when `close` is called).
    overrides: dict[str, Any] = Field(default_factory=dict)
    #: Loop turns (seconds) the background work gets before `close` is called.
    grace: float = Field(default=0.05, ge=0, le=30)


def _fresh(target: Target, overrides: dict[str, Any]) -> Any:
    factory = target.spec.factory
    if factory is None:
        raise UserError(
            f"target kind={target.spec.kind!r}: leaks.tasks builds a fresh object "
            "from a python target's factory",
            where="target.factory",
        )
    make = import_object(factory, field="factory") if isinstance(factory, str) else factory
    return make(**{**target.spec.kwargs, **import_overrides(overrides)})


def _describe(exc: TaskLeakError) -> list[str]:
    lines = []
    for task in exc.leaked_tasks[:5]:
        coro = task.task_ref.get_coro() if task.task_ref is not None else None
        name = getattr(coro, "__qualname__", task.name)
        created = ""
        if task.creation_stack:
            user = [f for f in task.creation_stack if "asyncio" not in f.filename]
            if user:
                f = user[-1]
                created = f", created at {f.filename}:{f.lineno} ({(f.line or '').strip()})"
        waiting = ""
        if task.current_stack:
            f = task.current_stack[-1]
            waiting = f", waiting at {f.filename}:{f.lineno} in {f.name}"
        lines.append(f"{name} [{task.state.value}]{created}{waiting}")
    return lines


@scenario("leaks.tasks", binding=TaskLeakBinding)
def no_task_outlives_close(binding: TaskLeakBinding, target: Target) -> None:
    """`calls` × call, then close: every task created meanwhile is done (pyleak's detector)."""
    try:
        from pyleak import TaskLeakError, no_task_leaks
    except ImportError:
        raise UserError(
            "leaks.tasks needs pyleak, which is not installed",
            where="scenario",
            hint="pip install 'fixguard[leaks]' (or pip install pyleak)",
        ) from None
    obj = _fresh(target, binding.overrides)
    leaked: TaskLeakError | None = None

    async def run() -> None:
        nonlocal leaked
        try:
            async with no_task_leaks(action="raise", enable_creation_tracking=True):
                for _ in range(binding.calls):
                    await call_step(binding.call, obj, where="binding.call")
                await asyncio.sleep(binding.grace)
                if binding.close is not None:
                    await call_step(binding.close, obj, where="binding.close")
        except TaskLeakError as exc:
            leaked = exc
            for info in exc.leaked_tasks:
                if info.task_ref is not None:
                    info.task_ref.cancel()
            await asyncio.gather(
                *(i.task_ref for i in exc.leaked_tasks if i.task_ref), return_exceptions=True
            )

    asyncio.run(run())
    if leaked is not None:
        after = f" after {binding.close}" if binding.close is not None else ""
        raise AssertionError(
            "\n".join(
                [
                    f"leaks.tasks: {leaked.task_count} asyncio task(s) started by {binding.calls} × "
                    f"{binding.call} were still pending{after}: they are fire-and-forget (never "
                    "tracked, awaited or cancelled)",
                    *(f"  {line}" for line in _describe(leaked)),
                    f"  repro: {rerun_command()}",
                ]
            )
        )
