"""What the lifecycle checks share: the binding, fresh services, notes, and the ServiceCheck base."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from harness.pack import (
    AsyncRace,
    Budget,
    ExplorerScheduler,
    FindingMode,
    RaceResult,
    Target,
    UserError,
    Violation,
    WorkerResult,
    fail_on,
    fail_with,
    format_failure,
    import_object,
    race_async,
    report_finding,
)

from . import stubs
from ._tasks import cancel_all, code_file, service_files, wait_until

_IMPORT_LIKE = r"^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*$"


class LifecycleBinding(BaseModel):
    """A python target whose factory builds the service; every attempt gets a fresh one."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    start: str = "start"
    stop: str = "stop"
    #: Concurrent start() calls in the concurrent-start check.
    starters: int = Field(default=8, ge=2, le=256)
    #: Factory keyword overrides that make the background work ignore stop (a drain timeout);
    #: a "pkg.mod:attr" string is imported. Needed by drain_timeout and orphans.
    stuck: dict[str, Any] = Field(default_factory=dict)
    #: Factory keyword overrides that make the background work raise. Needed by loop_errors.
    failing: dict[str, Any] = Field(default_factory=dict)
    #: The attribute holding the lifecycle lock (lock_identity).
    lock_attr: str = "_lifecycle_lock"
    #: Exception class names start() may raise once a stop timed out (default: any exception).
    unrestartable_errors: list[str] = Field(default_factory=list)
    #: "asyncio": plain FIFO loop; "random"/"pct": the deterministic explorer picks schedules.
    strategy: Literal["asyncio", "random", "pct"] = "asyncio"
    #: Real seconds to wait for a stop, a death or a drain (generous: the explorer skips it).
    settle: float = Field(default=1.0, gt=0, le=60)
    budget: float = Field(default=1.0, gt=0, le=600)
    max_attempts: int = Field(default=30, ge=1)
    seed: int | None = None
    #: Findings (a slow stop, a start() that refused a concurrent caller) are listed beside
    #: the verdict; "fail" fails the check on them too.
    server_errors: FindingMode = "report"


def resolve_overrides(overrides: dict[str, Any], field_name: str) -> dict[str, Any]:
    import re

    resolved = {}
    for key, value in overrides.items():
        if isinstance(value, str) and re.match(_IMPORT_LIKE, value):
            value = import_object(value, field=f"binding.{field_name}.{key}")
        resolved[key] = value
    return resolved


def make_service(target: Target, overrides: dict[str, Any] | None = None) -> Any:
    spec = getattr(target, "spec", None)
    factory = getattr(spec, "factory", None)
    if factory is None:
        raise UserError(
            "target.factory: the lifecycle checks need a python target whose factory builds "
            "the service (kind='python', factory='pkg.mod:Service')",
            where="target.factory",
        )
    if isinstance(factory, str):
        factory = import_object(factory, field="target.factory")
    kwargs = {**dict(getattr(spec, "kwargs", {}) or {}), **(overrides or {})}
    return factory(**kwargs)


def method(service: Any, name: str, field_name: str) -> Callable[[], Awaitable[Any]]:
    fn = getattr(service, name, None)
    if fn is None or not inspect.iscoroutinefunction(fn):
        raise UserError(
            f"binding.{field_name}={name!r}: {type(service).__name__} has no async method "
            "of that name",
            where=f"binding.{field_name}",
        )
    return fn


def require(binding: LifecycleBinding, field_name: str) -> dict[str, Any]:
    overrides: dict[str, Any] = getattr(binding, field_name)
    if not overrides:
        example = (
            "{work = 'scenarios.lifecycle.stubs:never_returns', drain_timeout = 0.05}"
            if field_name == "stuck"
            else "{work = 'scenarios.lifecycle.stubs:raises'}"
        )
        raise UserError(
            f"binding.{field_name}: missing; this check needs factory overrides that force "
            f"that path (write {field_name} = {example})",
            where=f"binding.{field_name}",
        )
    return resolve_overrides(overrides, field_name)


@dataclass
class Attempt:
    """One attempt's service and the tasks that existed before it started."""

    service: Any
    before: set[asyncio.Task[Any]]
    extra: dict[str, Any] = field(default_factory=dict)
    #: How often an injected stub had begun when the attempt was made (see `inside_work`).
    entered: int = field(default_factory=stubs.entered)

    def spawned(self) -> list[asyncio.Task[Any]]:
        """Pending tasks created since the attempt began (the check's own task excluded)."""
        current = asyncio.current_task()
        return [
            t
            for t in asyncio.all_tasks()
            if t not in self.before and t is not current and not t.done()
        ]

    def loops(self) -> list[asyncio.Task[Any]]:
        """The spawned tasks running the service's own code (helper tasks such as the one
        ``asyncio.wait_for`` wraps around ``Event.wait()`` are not the service's loops)."""
        files = service_files(self.service)
        return [t for t in self.spawned() if code_file(t) in files]


def run(
    name: str,
    binding: LifecycleBinding,
    setup: Callable[[int], Any],
    work: Callable[[Any, int], Awaitable[Any]],
    check: Callable[[Any, list[WorkerResult]], Any],
    workers: int,
    expected_errors: tuple[type[BaseException], ...] = (),
) -> RaceResult:
    scheduler = None if binding.strategy == "asyncio" else ExplorerScheduler(binding.strategy)
    config = AsyncRace(
        workers=workers,
        budget=Budget(seconds=binding.budget, max_attempts=binding.max_attempts, min_attempts=3),
        seed=binding.seed,
        expected_errors=expected_errors,
    )
    return race_async(name, setup, work, check, config, scheduler=scheduler)


async def inside_work(entered_before: int, seconds: float) -> None:
    """Wait until an injected stub began running (the loop is inside its work), else yield."""
    if not await wait_until(lambda: stubs.entered() > entered_before, seconds):
        for _ in range(5):
            await asyncio.sleep(0)


#: A call still running after this many times `settle` is hung; before that it is only slow.
HANG_FACTOR = 5


class Notes:
    """What a check met outside its sentence, across attempts: each kind once, with a count."""

    def __init__(self) -> None:
        self.seen: dict[str, int] = {}
        #: The longest time seen per kind: a measured time kept out of the key, so one slow
        #: stop() at 0.10s and another at 0.11s are one finding, not two.
        self.longest: dict[str, float] = {}

    def add(self, what: str, seconds: float | None = None) -> None:
        self.seen[what] = self.seen.get(what, 0) + 1
        if seconds is not None:
            self.longest[what] = max(seconds, self.longest.get(what, 0.0))

    def _text(self, what: str, count: int) -> str:
        longest = f"up to {self.longest[what]:.2f}s, " if what in self.longest else ""
        return f"{what} ({longest}in {count} attempt(s)); not this check's bug class"

    def verdict(self, name: str, binding: LifecycleBinding, result: RaceResult) -> None:
        """Report the notes as findings; fail on a violation (its report first), or on the
        findings when the binding sets server_errors = "fail"."""
        __tracebackhide__ = True
        findings = [
            report_finding(name, self._text(what, count), result.repro)
            for what, count in sorted(self.seen.items())
        ]
        if result.failure is not None:
            fail_with(format_failure(result), findings)
        fail_on(name, findings, binding.server_errors)


async def patiently(call: Awaitable[Any], settle: float, notes: Notes, what: str) -> bool:
    """Await `call`: True once it returned (raising what it raised), False if it is hung.

    It gets `settle` seconds, then up to HANG_FACTOR times that: one slow answer on a busy
    machine is a finding, not a hang. A hung call is cancelled.
    """
    task = asyncio.ensure_future(call)
    loop = asyncio.get_running_loop()
    started = loop.time()
    done, _ = await asyncio.wait({task}, timeout=settle)
    if not done:
        done, _ = await asyncio.wait({task}, timeout=settle * (HANG_FACTOR - 1))
        if not done:
            task.cancel()
            await asyncio.wait({task}, timeout=settle)
            return False
        notes.add(
            f"{what} took longer than settle={settle}s (slow, not hung)", loop.time() - started
        )
    task.result()
    return True


class ServiceCheck:
    """One lifecycle check: every attempt builds a fresh service (`setup`), runs `work` on it
    from `workers()` coroutines at once, and `check` judges what is left and cleans up.

    `verdict` races the attempts, then reports what the notes collected beside the verdict.
    """

    #: The scenario name, for the race and its findings.
    name: ClassVar[str]
    #: The binding field whose factory overrides force the path under test (None: none).
    forcing: ClassVar[str | None] = None
    #: Whether the check calls stop() itself, so the service must have it.
    stops: ClassVar[bool] = True
    #: What `work` may raise without failing the attempt.
    expected_errors: ClassVar[tuple[type[BaseException], ...]] = ()

    def __init__(self, binding: LifecycleBinding, target: Target) -> None:
        self.binding = binding
        self.target = target
        self.notes = Notes()
        self.overrides = require(binding, self.forcing) if self.forcing else None

    def workers(self) -> int:
        return 1

    async def setup(self, attempt: int) -> Attempt:
        service = make_service(self.target, self.overrides)
        method(service, self.binding.start, "start")
        if self.stops:
            method(service, self.binding.stop, "stop")
        return Attempt(service, set(asyncio.all_tasks()))

    async def work(self, state: Attempt, index: int) -> None:
        raise NotImplementedError

    async def check(self, state: Attempt, results: list[WorkerResult]) -> Violation | None:
        raise NotImplementedError

    def start(self, state: Attempt) -> Awaitable[Any]:
        return getattr(state.service, self.binding.start)()

    def stop(self, state: Attempt) -> Awaitable[Any]:
        return getattr(state.service, self.binding.stop)()

    async def patiently(self, call: Awaitable[Any], what: str) -> bool:
        """`patiently` with the binding's settle, slow calls noted."""
        return await patiently(call, self.binding.settle, self.notes, what)

    async def stop_stuck(self, state: Attempt) -> bool | Exception:
        """start(), wait until the stuck work runs, then stop(), whose drain must time out.

        True once stop() returned, False if it hung, or the exception it raised: a stop may
        report its drain timeout by raising.
        """
        await self.start(state)
        await inside_work(state.entered, self.binding.settle)
        try:
            return await self.patiently(self.stop(state), "stop() after its drain timed out")
        except Exception as exc:
            return exc

    async def cleanup(self, state: Attempt, tasks: list[asyncio.Task[Any]] | None = None) -> None:
        """Stop the service (whatever it raises), then cancel `tasks` (by default every task
        the attempt spawned) so that none leaks into the next attempt."""
        try:
            await asyncio.wait_for(self.stop(state), self.binding.settle)
        except Exception:  # cleanup only; the check's verdict is already made
            pass
        await cancel_all(state.spawned() if tasks is None else tasks)

    def race(self) -> RaceResult:
        return run(
            self.name,
            self.binding,
            self.setup,
            self.work,
            self.check,
            self.workers(),
            self.expected_errors,
        )

    def verdict(self) -> None:
        __tracebackhide__ = True
        self.notes.verdict(self.name, self.binding, self.race())


__all__ = ["Violation"]
