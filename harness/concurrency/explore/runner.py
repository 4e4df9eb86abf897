"""Run a scenario once on a fresh `ControlledLoop` and classify what happened."""

from __future__ import annotations

import asyncio
import inspect
import linecache
import os
import traceback
from collections.abc import Awaitable, Callable
from typing import Any

from ...errors import UserError
from .loop import (
    Chooser,
    ControlledLoop,
    DeadlockDetected,
    StepLimitExceeded,
    UncontrolledOperationError,
)
from .result import Failure, FailureKind, RunRecord
from .schedule import encode
from .strategies import Schedule, Strategy

Scenario = Callable[[], Awaitable[Any]]

_ASYNCIO_DIR = os.path.dirname(asyncio.__file__)

#: How many of the last decisions a failure's trace shows.
TRACE_TAIL = 40
#: Extra steps allowed for cancelling leftover tasks after a scenario ends.
CLEANUP_STEPS = 10_000


class _Fifo:
    def choose(self, owners: Any, step: int) -> int:
        return 0


def run_one(
    scenario: Scenario,
    chooser: Chooser,
    *,
    strategy: Strategy | None = None,
    max_steps: int = 100_000,
    check_orphans: bool = True,
    early_timers: bool = False,
) -> RunRecord:
    """Run `scenario` once with `chooser` deciding every step; never raises for a failing run.

    Raises `UncontrolledOperationError` when the scenario used a thread or real I/O (also when
    the scenario caught that error itself), since no schedule of such a run is controlled.
    """
    loop = ControlledLoop(chooser, max_steps=max_steps, early_timers=early_timers)
    failure: Failure | None = None
    try:
        main = loop.create_task(_as_coroutine(scenario))
        try:
            loop.run_until_complete(main)
        except DeadlockDetected:
            failure = _blocked_failure(loop)
        except StepLimitExceeded as error:
            failure = Failure(FailureKind.STEP_LIMIT, str(error), _task_listing(loop, main=None))
        except UncontrolledOperationError:
            raise
        except (KeyboardInterrupt, SystemExit):
            raise
        except BaseException as error:  # the scenario's own exception, CancelledError included
            failure = Failure(
                FailureKind.EXCEPTION, _one_line(error), _scenario_traceback(error), exception=error
            )
        if loop.refusals:
            raise loop.refusals[0]
        if failure is None:
            failure = _callback_failure(loop)
        if failure is None and check_orphans:
            failure = _orphan_failure(loop, main)
        choices = tuple(c for _, c in loop.decisions)
        return RunRecord(
            strategy=strategy if strategy is not None else Schedule(encode(choices)),
            choices=choices,
            widths=tuple(w for w, _ in loop.decisions),
            steps=loop.steps,
            tasks=len(loop.tasks),
            failure=failure,
            trace=tuple(loop.label(o) for o in loop.decision_owners[-TRACE_TAIL:]),
            virtual_time=loop.time(),
        )
    finally:
        _cleanup(loop)


def _as_coroutine(scenario: Scenario) -> Any:
    awaitable = scenario()
    if inspect.iscoroutine(awaitable):
        return awaitable
    if not inspect.isawaitable(awaitable):
        raise UserError(
            f"scenario={scenario!r} returned {type(awaitable).__name__}, not an awaitable",
            hint="pass an `async def` function that takes no arguments "
            "(functools.partial binds arguments)",
        )

    async def wrapper() -> Any:
        return await awaitable

    return wrapper()


def _scenario_traceback(error: BaseException) -> str:
    """The traceback without the explorer's and asyncio's own frames."""
    frames = [
        frame
        for frame in traceback.extract_tb(error.__traceback__)
        if frame.filename != __file__ and not frame.filename.startswith(_ASYNCIO_DIR)
    ]
    head = "Traceback (most recent call last):\n"
    body = "".join(traceback.format_list(frames))
    return head + body + "".join(traceback.format_exception_only(error))


def _one_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0]}" if text else type(error).__name__


def where(task: asyncio.Task[Any]) -> str:
    """`file.py:42 async with b:`: the innermost line outside asyncio where a task is suspended."""
    coro: Any = task.get_coro()
    frames = []
    while coro is not None:
        frame = getattr(coro, "cr_frame", None) or getattr(coro, "gi_frame", None)
        if frame is not None:
            frames.append(frame)
        coro = getattr(coro, "cr_await", None) or getattr(coro, "gi_yieldfrom", None)
    if not frames:
        return "not started"
    own = [f for f in frames if not f.f_code.co_filename.startswith(_ASYNCIO_DIR)]
    frame = (own or frames)[-1]
    code = frame.f_code
    line = linecache.getline(code.co_filename, frame.f_lineno).strip()
    return f"{os.path.basename(code.co_filename)}:{frame.f_lineno} {line}"


def _task_listing(loop: ControlledLoop, main: asyncio.Task[Any] | None) -> str:
    lines = []
    for task in loop.tasks:
        if task.done() or task is main:
            continue
        lines.append(f"  {loop.label(loop.serial(task))} waits at {where(task)}")
    return "pending tasks:\n" + "\n".join(lines) if lines else ""


def _blocked_failure(loop: ControlledLoop) -> Failure:
    blocked = [loop.label(loop.serial(t)) for t in loop.tasks if not t.done()]
    message = f"{', '.join(blocked)} blocked forever with no timer pending"
    return Failure(FailureKind.DEADLOCK, message, _task_listing(loop, main=None))


def _callback_failure(loop: ControlledLoop) -> Failure | None:
    for context in loop.callback_errors:
        error = context.get("exception")
        text = str(context.get("message", ""))
        if error is not None and text.startswith("Exception in callback"):
            return Failure(
                FailureKind.CALLBACK_ERROR,
                f"a callback raised {_one_line(error)}",
                "".join(traceback.format_exception(error)),
                exception=error,
            )
    return None


def _orphan_failure(loop: ControlledLoop, main: asyncio.Task[Any]) -> Failure | None:
    pending = [t for t in loop.tasks if t is not main and not t.done()]
    if not pending:
        return None
    names = ", ".join(loop.label(loop.serial(t)) for t in pending)
    message = f"{len(pending)} task(s) still pending when the scenario returned: {names}"
    return Failure(FailureKind.ORPHAN_TASKS, message, _task_listing(loop, main))


def _cleanup(loop: ControlledLoop) -> None:
    """Cancel what is left (as asyncio.run does), FIFO and bounded, then close the loop."""
    loop._chooser = _Fifo()
    loop.early_timers = False
    loop.detect_deadlock = False
    loop._max_steps = loop.steps + CLEANUP_STEPS
    pending = [t for t in loop.tasks if not t.done()]
    for task in pending:
        task.cancel()
    try:
        if pending:
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        loop.run_until_complete(loop.shutdown_asyncgens())
    except (StepLimitExceeded, DeadlockDetected, RuntimeError, UncontrolledOperationError):
        pass
    for task in loop.tasks:
        if not task.done():
            task._log_destroy_pending = False  # type: ignore[attr-defined]
        elif not task.cancelled():
            task.exception()  # mark retrieved: the run already reported it
    loop.tasks.clear()
    loop.close()
