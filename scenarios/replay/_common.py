"""The replay-protection binding, a fake clock, and a sender for HTTP and in-process guards."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
from pydantic import Field, model_validator

from harness.pack import (
    ContentionBinding,
    FindingMode,
    HttpCall,
    ObjectEffect,
    StatusSet,
    Target,
    UserError,
    Violation,
    assert_holds,
    collect,
    count_effect,
    curl,
    fail_on,
    fresh_subject,
    render,
    run_sequence,
)
from harness.pack import contention_preflight as preflight
from scenarios._shared import ContendedCall


class FakeClock:
    """A clock the test moves by hand: ``clock()`` is the time, ``advance(s)`` moves it."""

    def __init__(self, start: float = 1_700_000_000.0):
        self.value = start

    def __call__(self) -> float:
        return self.value

    def advance(self, seconds: float) -> None:
        self.value += seconds

    def __repr__(self) -> str:
        return f"FakeClock({self.value!r})"


class ReplayBinding(ContendedCall):
    """How to deliver one message with a nonce and a timestamp, and what accept/reject look like.

    HTTP: ``call = "POST /webhooks"`` with ``headers`` using ``{nonce}`` and ``{timestamp}``.
    In process: ``call = "check"`` on the guard, ``args`` default ``["{nonce}", "{timestamp}"]``;
    ``True`` accepts, ``False`` or an exception named in ``reject_errors`` rejects.
    """

    args: list[Any] = Field(default_factory=lambda: ["{nonce}", "{timestamp}"])
    accept: StatusSet = frozenset({200, 202})
    reject: StatusSet = frozenset({400, 401, 403, 409, 422})
    reject_errors: list[str] = Field(default_factory=list)
    #: The freshness window in seconds (a timestamp further than this from now is refused).
    window: float = Field(default=300.0, gt=0)
    max_nonce_length: int = Field(default=256, ge=1)
    max_attempts: int = Field(default=200, ge=1)
    # In process only (bounded_memory, out_of_order_eviction):
    size: ObjectEffect = Field(default_factory=lambda: ObjectEffect(attr="__len__"))
    bound: int | None = Field(default=None, ge=1)
    bound_attr: str = "max_entries"
    flood: int | None = Field(default=None, ge=1)
    #: The factory keyword that takes a clock (a zero-argument callable returning Unix seconds).
    clock_kwarg: str = "clock"
    #: "report": a 5xx, a transport error or (in process) an exception outside
    #: `reject_errors` on a delivery that must be refused is a finding, not an acceptance;
    #: "fail": it fails the check too.
    server_errors: FindingMode = "report"

    @model_validator(mode="after")
    def _disjoint(self) -> ReplayBinding:
        both = self.accept & self.reject
        if both:
            raise ValueError(f"accept and reject share {sorted(both)}: a status means one thing")
        return self

    def contention(self) -> ContentionBinding:
        """Every contender sends the same fresh nonce (``{key}``) with the current timestamp."""
        values = {"nonce": "{key}", "timestamp": "{now}"}
        data: dict[str, Any] = {
            **self.race_fields(),
            "success": self.accept,
            "conflict": self.reject,
            "conflict_errors": self.reject_errors,
        }
        if self.is_http:
            data["headers"] = render(self.headers, values)
            data["json"] = render(self.json_body, values)
        else:
            data["args"] = render(self.args, values)
        return ContentionBinding.model_validate(data)


@dataclass(frozen=True)
class Verdict:
    accepted: bool | None  # None: neither accepted nor cleanly rejected
    shown: str
    #: A 5xx, a transport error, or an exception outside reject_errors: the guard failed,
    #: which says nothing about whether it would have accepted.
    crashed: bool = False
    #: A command that sends the delivery again (HTTP), or what was called (in process).
    repro: str = ""


class Sender:
    """Delivers one message; in process it owns one guard (optionally on a fake clock)."""

    def __init__(self, binding: ReplayBinding, target: Target, clock: FakeClock | None = None):
        self.binding = binding
        self.target = target
        self.run = uuid.uuid4().hex[:10]
        self.guard: Any = None
        if binding.is_http:
            if clock is not None:
                raise UserError(
                    "target.kind: this check drives a fake clock, so it needs a python target "
                    "whose factory takes binding.clock_kwarg",
                    where="target.kind",
                )
            preflight(target)
        else:
            overrides = {binding.clock_kwarg: clock} if clock is not None else None
            self.guard = fresh_subject(target, overrides)
            binding.check_method(self.guard)

    def nonce(self, label: str) -> str:
        return f"{self.run}-{label}"

    def send(self, nonce: str, timestamp: Any) -> Verdict:
        b = self.binding
        values = {"nonce": nonce, "timestamp": timestamp}
        if b.is_http:
            assert isinstance(b.call, HttpCall)
            headers = {k: str(v) for k, v in render(b.headers, values).items()}
            path = render(b.call.path, values)
            try:
                with self.target.client() as client:
                    response = client.request(
                        b.call.method, path, headers=headers, json=render(b.json_body, values)
                    )
            except httpx.TransportError as exc:
                return Verdict(
                    None,
                    f"{type(exc).__name__}: {exc}",
                    crashed=True,
                    repro=f"{b.call.method} {self.target.base_url}{path}",
                )
            shown = f"HTTP {response.status_code} {response.text[:120]}"
            repro = curl(response.request)
            if response.status_code in b.accept:
                return Verdict(True, shown, repro=repro)
            if response.status_code in b.reject:
                return Verdict(False, shown, repro=repro)
            return Verdict(None, shown, crashed=response.status_code >= 500, repro=repro)
        args = render(b.args, values)
        called = f"{type(self.guard).__name__}.{b.call}({', '.join(map(repr, args))})"
        try:
            result = getattr(self.guard, str(b.call))(*args)
        except Exception as exc:
            shown = f"raised {type(exc).__name__}: {exc}"
            if type(exc).__name__ in b.reject_errors:
                return Verdict(False, shown, repro=called)
            return Verdict(None, shown, crashed=True, repro=called)
        if result is True or result is False:
            return Verdict(result, f"returned {result!r}", repro=called)
        return Verdict(None, f"returned {result!r} (expected True or False)", repro=called)

    def size(self) -> int:
        return count_effect(self.binding.size, self.target, self.guard, {})

    def bound(self) -> int:
        if self.binding.bound is not None:
            return self.binding.bound
        value = getattr(self.guard, self.binding.bound_attr, None)
        if not isinstance(value, int):
            raise UserError(
                f"binding.bound_attr={self.binding.bound_attr!r}: {type(self.guard).__name__} "
                "has no int attribute of that name (set binding.bound)",
                where="binding.bound",
            )
        return value


def require_in_process(binding: ReplayBinding, check: str) -> None:
    if binding.is_http:
        raise UserError(
            f"binding.call={str(binding.call)!r}: replay.{check} measures the guard's own state, "
            "so it needs an in-process call on a python target (call = 'check')",
            where="binding.call",
        )


def judge_sequence(
    name: str, binding: ReplayBinding, check: Callable[[int], Violation | None]
) -> None:
    """Run the ordered `check` once: fail on its violation, then on the findings it reported
    as ``binding.server_errors`` says."""
    __tracebackhide__ = True
    with collect() as findings:
        assert_holds(run_sequence(name, check, seed=binding.seed))
    fail_on(name, findings, binding.server_errors)
