"""The controlled event loop: one ready callback per step, picked by a chooser, on virtual time.

`ControlledLoop` subclasses `asyncio.BaseEventLoop` and replaces `_run_once`. Plain asyncio runs
every ready callback in FIFO order; this loop runs exactly one callback per iteration and asks its
`Chooser` which one. When nothing is ready it jumps the virtual clock to the next timer, so
`sleep`, `wait_for` and `asyncio.timeout` cost no wall-clock time. When nothing is ready and no
timer is pending, every task is blocked for good: the loop raises `DeadlockDetected`.

Threads and real I/O cannot be scheduled by this loop, so they are refused: `run_in_executor`
(and with it `asyncio.to_thread` and `getaddrinfo`), sockets, pipes, subprocesses and signal
handlers raise `UncontrolledOperationError` with the operation's name and what to do instead.
"""

from __future__ import annotations

import asyncio
import heapq
import threading
from collections.abc import Callable, Sequence
from contextvars import Context
from typing import Any, NoReturn, Protocol

from ...errors import UserError

#: Owner id of callbacks scheduled while no task was running (loop plumbing, timers set by it).
LOOP_OWNER = 0
#: Owner id of the extra "let time pass" choice offered when `early_timers` is on.
CLOCK_OWNER = -1


class Chooser(Protocol):
    """Decides which ready callback runs next. Called at every step, also when only one is ready.

    `owners[i]` is the owner id of the i-th ready callback in FIFO order: the serial of the task
    it belongs to (1 for the first task created, and so on), or `LOOP_OWNER`. With
    `early_timers`, a last entry `CLOCK_OWNER` stands for "advance the clock to the next timer
    now". Returns an index.
    """

    def choose(self, owners: Sequence[int], step: int) -> int: ...


class UncontrolledOperationError(UserError):
    """The scenario used something the explorer cannot schedule (a thread, a socket, a process)."""


class DeadlockDetected(Exception):
    """Every task is blocked and no timer is pending: the scenario can never finish."""


class StepLimitExceeded(Exception):
    """The scenario ran more callbacks than the step budget: a livelock or an endless loop."""


def _refuse(operation: str, instead: str) -> NoReturn:
    raise UncontrolledOperationError(
        f"operation={operation!r}: the schedule explorer cannot control threads or real I/O, "
        "so it refuses them rather than run them unscheduled",
        hint=instead,
    )


_THREAD_HINT = (
    "replace the blocking call with an async fake in the scenario, or test the threaded path "
    "with harness.concurrency's thread engine"
)
_IO_HINT = (
    "give the scenario an in-memory fake (an asyncio.Queue pair, an httpx ASGI transport), or "
    "test real sockets with harness.concurrency's HTTP engine"
)


class ControlledLoop(asyncio.BaseEventLoop):
    """An event loop whose every scheduling decision is made by `chooser`, on virtual time."""

    def __init__(
        self, chooser: Chooser, *, max_steps: int = 100_000, early_timers: bool = False
    ) -> None:
        super().__init__()
        self._chooser = chooser
        self._max_steps = max_steps
        #: Also offer "advance the clock to the next timer" while callbacks are ready, which
        #: models a callback that takes long in real time (a timeout firing mid-work).
        self.early_timers = early_timers
        self._clock = 0.0
        self.steps = 0
        #: (number ready, index chosen) at every step where more than one callback was ready.
        self.decisions: list[tuple[int, int]] = []
        #: Owner id chosen at each decision, for the human-readable trace.
        self.decision_owners: list[int] = []
        #: Every task created on this loop, in creation order (strong refs: none is GC'd early).
        self.tasks: list[asyncio.Task[Any]] = []
        self.callback_errors: list[dict[str, Any]] = []
        self.refusals: list[UncontrolledOperationError] = []
        self.detect_deadlock = True
        self._serials: dict[int, int] = {}
        self._handle_owner: dict[int, int] = {}
        self._loop_thread = threading.get_ident()
        self.set_task_factory(self._make_task)
        self.set_exception_handler(self._record_exception)

    # -- virtual time -------------------------------------------------------------------------

    def time(self) -> float:
        return self._clock

    # -- tasks and owners ---------------------------------------------------------------------

    def _make_task(
        self, loop: asyncio.AbstractEventLoop, coro: Any, **kwargs: Any
    ) -> asyncio.Task[Any]:
        task: asyncio.Task[Any] = asyncio.Task(coro, loop=loop, **kwargs)
        self.tasks.append(task)
        self._serials[id(task)] = len(self.tasks)
        return task

    def serial(self, task: asyncio.Task[Any]) -> int:
        """The owner id of a task created on this loop (its 1-based creation index)."""
        return self._serials.get(id(task), LOOP_OWNER)

    def label(self, owner: int) -> str:
        """`t3:Service._run` for task 3 running `Service._run`, `loop` for loop plumbing."""
        if owner == CLOCK_OWNER:
            return "clock"
        if owner == LOOP_OWNER or owner > len(self.tasks):
            return "loop"
        coro = self.tasks[owner - 1].get_coro()
        name = str(getattr(coro, "__qualname__", type(coro).__name__))
        return f"t{owner}:{name.rsplit('<locals>.', 1)[-1]}"

    def _current_owner(self) -> int:
        task = asyncio.tasks.current_task(self) if self.is_running() else None
        return self.serial(task) if task is not None else LOOP_OWNER

    def _owner_of(self, handle: asyncio.Handle) -> int:
        target = getattr(handle._callback, "__self__", None)  # type: ignore[attr-defined]
        if isinstance(target, asyncio.Task) and id(target) in self._serials:
            return self._serials[id(target)]
        return self._handle_owner.get(id(handle), LOOP_OWNER)

    def call_soon(  # type: ignore[override]
        self, callback: Callable[..., object], *args: Any, context: Context | None = None
    ) -> asyncio.Handle:
        handle = super().call_soon(callback, *args, context=context)
        self._handle_owner[id(handle)] = self._current_owner()
        return handle

    def call_at(  # type: ignore[override]
        self,
        when: float,
        callback: Callable[..., object],
        *args: Any,
        context: Context | None = None,
    ) -> asyncio.TimerHandle:
        handle = super().call_at(when, callback, *args, context=context)
        self._handle_owner[id(handle)] = self._current_owner()
        return handle

    def call_soon_threadsafe(  # type: ignore[override]
        self, callback: Callable[..., object], *args: Any, context: Context | None = None
    ) -> asyncio.Handle:
        if threading.get_ident() != self._loop_thread:
            self._refused("loop.call_soon_threadsafe() from another thread", _THREAD_HINT)
        return self.call_soon(callback, *args, context=context)

    def _write_to_self(self) -> None:
        """No self-pipe: nothing outside this thread may wake the loop."""

    def _process_events(self, event_list: list[Any]) -> None:
        """No selector: the loop never polls for I/O."""

    def _record_exception(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        self.callback_errors.append(context)

    # -- the scheduler ------------------------------------------------------------------------

    def _prune(self) -> None:
        if any(h._cancelled for h in self._ready):  # type: ignore[attr-defined]
            kept = [h for h in self._ready if not h._cancelled]  # type: ignore[attr-defined]
            for h in self._ready:  # type: ignore[attr-defined]
                if h._cancelled:
                    self._handle_owner.pop(id(h), None)
            self._ready.clear()  # type: ignore[attr-defined]
            self._ready.extend(kept)  # type: ignore[attr-defined]
        scheduled = self._scheduled  # type: ignore[attr-defined]
        while scheduled and scheduled[0]._cancelled:
            handle = heapq.heappop(scheduled)
            handle._scheduled = False
            self._timer_cancelled_count -= 1  # type: ignore[attr-defined]
            self._handle_owner.pop(id(handle), None)

    def _run_once(self) -> None:
        ready = self._ready  # type: ignore[attr-defined]
        scheduled = self._scheduled  # type: ignore[attr-defined]
        self._prune()
        if not ready:
            if self._stopping:  # type: ignore[attr-defined]
                return
            if not scheduled:
                if self.detect_deadlock:
                    raise DeadlockDetected("every task is blocked and no timer is pending")
                raise StepLimitExceeded("cleanup blocked: no callback ready and no timer")
            self._clock = max(self._clock, scheduled[0]._when)
        while scheduled and scheduled[0]._when <= self._clock:
            handle = heapq.heappop(scheduled)
            handle._scheduled = False
            ready.append(handle)
        if self.steps >= self._max_steps:
            raise StepLimitExceeded(f"more than max_steps={self._max_steps} callbacks ran")
        owners = [self._owner_of(h) for h in ready]
        clock_choice = self.early_timers and bool(scheduled)
        if clock_choice:
            owners.append(CLOCK_OWNER)
        index = self._chooser.choose(owners, self.steps)
        if not 0 <= index < len(owners):
            index = 0
        if len(owners) > 1:
            self.decisions.append((len(owners), index))
            self.decision_owners.append(owners[index])
        if clock_choice and index == len(owners) - 1:
            self._clock = max(self._clock, scheduled[0]._when)  # time passes; timers fire next
            self.steps += 1
            return
        handle = ready[index]
        del ready[index]
        self._handle_owner.pop(id(handle), None)
        self.steps += 1
        handle._run()

    # -- refusals: threads and real I/O -------------------------------------------------------

    def _refused(self, operation: str, instead: str) -> NoReturn:
        try:
            _refuse(operation, instead)
        except UncontrolledOperationError as error:
            self.refusals.append(error)
            raise

    def run_in_executor(self, executor: Any, func: Any, *args: Any) -> NoReturn:  # type: ignore[override]
        name = getattr(func, "__qualname__", repr(func))
        self._refused(f"loop.run_in_executor({name}) / asyncio.to_thread()", _THREAD_HINT)

    def set_default_executor(self, executor: Any) -> NoReturn:
        self._refused("loop.set_default_executor()", _THREAD_HINT)

    async def getaddrinfo(self, *args: Any, **kwargs: Any) -> NoReturn:
        self._refused("loop.getaddrinfo()", _IO_HINT)

    async def getnameinfo(self, *args: Any, **kwargs: Any) -> NoReturn:
        self._refused("loop.getnameinfo()", _IO_HINT)


def _make_refusal(name: str, hint: str) -> Callable[..., Any]:
    async def refused(self: ControlledLoop, *args: Any, **kwargs: Any) -> NoReturn:
        self._refused(f"loop.{name}()", hint)

    def refused_sync(self: ControlledLoop, *args: Any, **kwargs: Any) -> NoReturn:
        self._refused(f"loop.{name}()", hint)

    sync = name.startswith(("add_", "remove_"))
    chosen = refused_sync if sync else refused
    chosen.__name__ = name
    return chosen


_IO_METHODS = (
    "create_connection",
    "create_server",
    "create_unix_connection",
    "create_unix_server",
    "create_datagram_endpoint",
    "connect_accepted_socket",
    "connect_read_pipe",
    "connect_write_pipe",
    "subprocess_exec",
    "subprocess_shell",
    "sock_recv",
    "sock_recv_into",
    "sock_recvfrom",
    "sock_recvfrom_into",
    "sock_sendall",
    "sock_sendto",
    "sock_connect",
    "sock_accept",
    "sock_sendfile",
    "sendfile",
    "start_tls",
    "add_reader",
    "add_writer",
    "remove_reader",
    "remove_writer",
    "add_signal_handler",
    "remove_signal_handler",
)

for _name in _IO_METHODS:
    setattr(ControlledLoop, _name, _make_refusal(_name, _IO_HINT))
