"""error_paths.handlers_survive_faults: with faults injected into the named dependencies, every
except branch of the bound functions runs, and none lets a NameError or AttributeError escape."""

from __future__ import annotations

import asyncio
import functools
import inspect
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

from pydantic import ConfigDict, Field, model_validator

from harness.pack import (
    FindingPolicy,
    HttpCall,
    Target,
    UserError,
    collect,
    conclude,
    import_object,
    import_owner,
    report_finding,
    rerun_command,
    scenario,
)
from scenarios._shared import exception_class
from scenarios.invariants._inprocess import attribute

from ._source import Handler, code_span, handlers_of

#: Broad handler types are driven with this concrete exception instead.
_BROAD = (BaseException, Exception)
CHECK = "error_paths.handlers_survive_faults"


class HandlerFaultsBinding(FindingPolicy):
    """The functions whose except branches to drive, the dependencies to break, how to call.

    An exception of another type raised by accident on an except branch (implicitly chained
    to the fault, not ``raise ... from``) is a finding (server_errors), not a violation."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    #: Import strings of the functions (methods too): ``"pkg.mod:Class.method"``.
    functions: tuple[str, ...] = Field(min_length=1)
    #: Attributes to replace with a callable that raises: ``"pkg.mod:httpx.post"`` patches
    #: ``post`` on the object ``pkg.mod.httpx``, for the duration of each call.
    dependencies: tuple[str, ...] = Field(min_length=1)
    #: Exceptions to raise (import strings or dotted names); default: the types the handlers
    #: of `functions` catch (``Exception`` and bare ``except`` get a RuntimeError).
    raises: tuple[str, ...] = ()
    #: asgi target: the request that reaches the functions.
    call: HttpCall | None = None
    values: dict[str, str] = Field(default_factory=dict)
    json_body: Any = Field(default=None, alias="json")
    headers: dict[str, str] = Field(default_factory=dict)
    #: python target: the attribute of ``target.obj`` to call, with `args` and `kwargs`.
    invoke: str | None = None
    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = Field(default_factory=dict)
    #: Exceptions that must never escape from a handler.
    escapes: tuple[str, ...] = ("NameError", "AttributeError")
    #: Handlers allowed to stay unreached, written ``"file.py:LINE"`` (file name only).
    allow_unreached: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _one_driver(self) -> HandlerFaultsBinding:
        if (self.call is None) == (self.invoke is None):
            raise ValueError("set exactly one of call (asgi target) or invoke (python target)")
        return self


@dataclass
class _Run:
    dependency: str
    fault: type[BaseException]
    calls: int = 0
    instance: BaseException | None = None
    reached: list[Handler] = field(default_factory=list)


def _caught_types(handler: Handler, func: Any) -> tuple[type[BaseException], ...] | None:
    """The classes `handler` catches, evaluated in the function's globals (None: undefined)."""
    if handler.type_source is None:
        return (BaseException,)
    try:
        value = eval(handler.type_source, getattr(func, "__globals__", {}))
    except Exception:
        return None
    items = value if isinstance(value, tuple) else (value,)
    return tuple(t for t in items if isinstance(t, type) and issubclass(t, BaseException))


def _fault_types(
    binding: HandlerFaultsBinding, handlers: list[tuple[Handler, Any]]
) -> list[type[BaseException]]:
    if binding.raises:
        hint = "e.g. 'OSError' or 'httpx.ConnectError'"
        problem = "is not an exception class"
        return [
            exception_class(r, field="binding.raises", problem=problem, hint=hint, dotted=True)
            for r in binding.raises
        ]
    found: list[type[BaseException]] = []
    for handler, func in handlers:
        for cls in _caught_types(handler, func) or ():
            chosen = RuntimeError if cls in _BROAD else cls
            if chosen not in found:
                found.append(chosen)
    return found


def _make(cls: type[BaseException]) -> BaseException:
    """An instance of `cls` (a subclass of it, so the check can tell its fault apart)."""
    injected: type[BaseException] = type(
        f"Injected{cls.__name__}", (cls,), {"__module__": "fixguard.injected"}
    )
    message = f"fixguard: injected {cls.__name__}"
    try:
        return injected(message)
    except Exception:
        instance = BaseException.__new__(injected)
        BaseException.__init__(instance, message)
        return instance


def _split(ref: str) -> tuple[Any, str]:
    owner, attr, _ = import_owner(ref, field="binding.dependencies")
    return owner, attr


@contextmanager
def _broken(ref: str, run: _Run) -> Iterator[None]:
    owner, attr = _split(ref)
    original = inspect.getattr_static(owner, attr)
    plain = getattr(owner, attr)

    def fail() -> BaseException:
        run.calls += 1
        run.instance = _make(run.fault)
        return run.instance

    if inspect.iscoroutinefunction(plain):

        async def raising_async(*args: Any, **kwargs: Any) -> Any:
            raise fail()

        replacement: Any = raising_async
    else:

        def raising(*args: Any, **kwargs: Any) -> Any:
            raise fail()

        replacement = raising
    if isinstance(original, staticmethod | classmethod) or inspect.isclass(owner):
        replacement = staticmethod(replacement)
    setattr(owner, attr, replacement)
    try:
        yield
    finally:
        setattr(owner, attr, original)


@contextmanager
def _watched(names: tuple[str, ...], escaped: list[_Escape]) -> Iterator[None]:
    """Wrap each bound function on its owner so what escapes it is recorded, even when a web
    framework turns it into a 500 before it reaches the driver."""
    undo: list[tuple[Any, str, Any]] = []
    for ref in names:
        owner, attr = _split(ref)
        original = inspect.getattr_static(owner, attr)
        plain = original.__func__ if isinstance(original, staticmethod | classmethod) else original
        if not callable(plain):
            continue
        wrapper = _recording(plain, escaped)
        if isinstance(original, staticmethod | classmethod):
            wrapper = type(original)(wrapper)
        setattr(owner, attr, wrapper)
        undo.append((owner, attr, original))
    try:
        yield
    finally:
        for owner, attr, original in reversed(undo):
            setattr(owner, attr, original)


def _recording(func: Any, escaped: list[_Escape]) -> Any:
    if inspect.iscoroutinefunction(func):

        @functools.wraps(func)
        async def watch_async(*args: Any, **kwargs: Any) -> Any:
            try:
                return await func(*args, **kwargs)
            except Exception as exc:
                escaped.append(_Escape.of(exc))
                raise

        return watch_async

    @functools.wraps(func)
    def watch(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except Exception as exc:
            escaped.append(_Escape.of(exc))
            raise

    return watch


def _drive(binding: HandlerFaultsBinding, target: Target) -> None:
    if binding.invoke is not None:
        func = attribute(target, binding.invoke, field="invoke")
        result = func(*binding.args, **binding.kwargs)
        if inspect.isawaitable(result):

            async def wait() -> Any:
                return await result

            asyncio.run(wait())
        return
    assert binding.call is not None
    if target.spec.kind not in ("asgi", "python"):
        raise UserError(
            f"target kind={target.spec.kind!r}: faults are injected in-process",
            where="target.kind",
            hint="use an asgi target: app = 'pkg.mod:app'",
        )
    kwargs: dict[str, Any] = {"headers": binding.headers}
    if binding.json_body is not None:
        kwargs["json"] = binding.json_body
    with target.client() as client:
        binding.call.send(client, binding.values, **kwargs)


def _frames(tb: TracebackType | None) -> Iterator[TracebackType]:
    while tb is not None:
        yield tb
        tb = tb.tb_next


def _reached(
    instance: BaseException,
    spans: dict[str, tuple[str, int, int]],
    handlers: list[tuple[Handler, Any]],
) -> list[Handler]:
    """The handlers the fault passed through: a try body on its traceback whose first
    matching handler therefore ran."""
    out: list[Handler] = []
    for tb in _frames(instance.__traceback__):
        file, line = tb.tb_frame.f_code.co_filename, tb.tb_lineno
        for name, (span_file, first, last) in spans.items():
            if span_file != file or not first <= line <= last:
                continue
            tries: dict[tuple[int, int], list[tuple[Handler, Any]]] = {}
            for handler, func in handlers:
                if handler.function == name and handler.body[0] <= line <= handler.body[1]:
                    tries.setdefault(handler.body, []).append((handler, func))
            for group in tries.values():
                for handler, func in sorted(group, key=lambda hf: hf[0].order):
                    types = _caught_types(handler, func)
                    if types and isinstance(instance, types):
                        out.append(handler)
                        break
    return out


@dataclass(frozen=True)
class _Escape:
    """An exception that left a bound function, with the exceptions it was raised while
    handling, snapshotted at once (a framework that re-raises it later rewrites __context__)."""

    error: BaseException
    chain: tuple[BaseException, ...]

    @classmethod
    def of(cls, error: BaseException) -> _Escape:
        chain: list[BaseException] = []
        current: BaseException | None = error
        while current is not None and all(current is not c for c in chain):
            chain.append(current)
            current = current.__cause__ or current.__context__
        return cls(error, tuple(chain))

    def name_error(
        self, instance: BaseException | None, names: tuple[str, ...]
    ) -> BaseException | None:
        """The exception of `names` raised while `instance` was being handled, if any."""
        for i, exc in enumerate(self.chain):
            if any(c.__name__ in names for c in type(exc).__mro__) and any(
                later is instance for later in self.chain[i + 1 :]
            ):
                return exc
        return None

    def other_error(
        self, instance: BaseException | None, names: tuple[str, ...]
    ) -> BaseException | None:
        """An exception outside `names` that an except branch raised by accident while
        `instance` was being handled: implicitly chained to it, and not an HTTP answer."""
        for i, exc in enumerate(self.chain):
            if exc is instance or not any(later is instance for later in self.chain[i + 1 :]):
                continue
            if any(c.__name__ in names for c in type(exc).__mro__):
                continue
            deliberate = (
                exc.__cause__ is not None
                or exc.__suppress_context__
                or isinstance(getattr(exc, "status_code", None), int)
                or type(exc).__module__ == "fixguard.injected"
            )
            if not deliberate:
                return exc
        return None


def _where(exc: BaseException) -> str:
    frames = list(_frames(exc.__traceback__))
    if not frames:
        return "?"
    last = frames[-1]
    return f"{last.tb_frame.f_code.co_filename}:{last.tb_lineno}"


@scenario("error_paths.handlers_survive_faults", binding=HandlerFaultsBinding)
def every_except_branch_runs_without_name_errors(
    binding: HandlerFaultsBinding, target: Target
) -> None:
    """Each dependency raises each fault in turn; every handler of `functions` must be reached
    and none may raise one of `escapes` (a missing import on an error path)."""
    functions = {name: import_object(name, field="binding.functions") for name in binding.functions}
    handlers = [(h, func) for name, func in functions.items() for h in handlers_of(name, func)]
    if not handlers:
        raise UserError(
            f"binding.functions={list(binding.functions)!r}: no except clause in them",
            where="binding.functions",
            hint="bind the functions that handle errors",
        )
    spans = {name: code_span(func) for name, func in functions.items()}
    problems: list[str] = []
    for handler, func in handlers:
        if _caught_types(handler, func) is None:
            problems.append(
                f"{handler.label}: the caught type `{handler.type_source}` is "
                "itself undefined (NameError when the try body raises)"
            )
    faults = _fault_types(binding, handlers)
    runs: list[_Run] = []
    with collect() as findings:
        _run_faults(binding, target, faults, handlers, spans, runs, problems)
    reached = {(h.file, h.line) for run in runs for h in run.reached}
    unreached = [
        h
        for h, _ in handlers
        if (h.file, h.line) not in reached
        and f"{h.file.rsplit('/', 1)[-1]}:{h.line}" not in binding.allow_unreached
    ]
    for handler in unreached:
        problems.append(
            f"never reached: {handler.label} (no fault from "
            f"{', '.join(binding.dependencies)} got there; bind the dependency it "
            "guards, or list it in allow_unreached)"
        )
    never_called = [r.dependency for r in runs if r.calls == 0]
    if never_called and unreached:
        problems.append(
            "dependencies never called by the driver: " + ", ".join(sorted(set(never_called)))
        )
    tried = ", ".join(f.__name__ for f in faults)
    conclude(
        CHECK,
        f"except branches that fail or never run (faults tried: {tried})",
        problems,
        findings,
        binding.server_errors,
    )


def _run_faults(
    binding: HandlerFaultsBinding,
    target: Target,
    faults: list[type[BaseException]],
    handlers: list[tuple[Handler, Any]],
    spans: dict[str, tuple[str, int, int]],
    runs: list[_Run],
    problems: list[str],
) -> None:
    """Each dependency raises each fault in turn while the driver runs; fills `runs` and
    `problems`, and reports what is wrong but not this check's sentence."""
    for dependency in binding.dependencies:
        for fault in faults:
            run = _Run(dependency, fault)
            escapes: list[_Escape] = []
            with _broken(dependency, run), _watched(binding.functions, escapes):
                try:
                    _drive(binding, target)
                except Exception as exc:
                    escapes.append(_Escape.of(exc))
            if run.instance is not None:
                run.reached = _reached(run.instance, spans, handlers)
            runs.append(run)
            escaped = next(
                (
                    found
                    for e in escapes
                    if (found := e.name_error(run.instance, binding.escapes)) is not None
                ),
                None,
            )
            other = next(
                (
                    found
                    for e in escapes
                    if (found := e.other_error(run.instance, binding.escapes)) is not None
                ),
                None,
            )
            if escaped is None and other is not None:
                where = ", ".join(h.label for h in run.reached) or "a handler"
                report_finding(
                    CHECK,
                    f"{fault.__name__} from {dependency}: "
                    f"{type(other).__name__}: {other} was raised while handling it in "
                    f"{where}, at {_where(other)}",
                    rerun_command(),
                )
            if escaped is not None:
                where = ", ".join(h.label for h in run.reached) or "a handler"
                problems.append(
                    f"{fault.__name__} from {dependency}: {type(escaped).__name__}: {escaped} "
                    f"escaped from {where}, raised at {_where(escaped)}"
                )
