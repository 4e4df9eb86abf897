"""What the leak checks share: the run budget (warm-up, iterations, tolerance) and steps."""

from __future__ import annotations

import dataclasses
import inspect
import shlex
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from harness.pack import (
    Counter,
    Finding,
    FindingMode,
    LeakReport,
    UserError,
    fail_on,
    fail_with,
    import_object,
    measure,
    report_finding,
)

COUNTERS = ("fds", "sockets", "threads", "tasks")


class LeakBudget(BaseModel):
    """Warm-up, iterations and what "back to baseline" means; shared by every leak check."""

    model_config = ConfigDict(extra="forbid")

    #: Iterations run before the baseline is read (caches, pools and lazy imports fill up).
    warmup: int = Field(default=5, ge=0, le=10_000)
    #: Measured iterations. One fd per call is +50 at the default: far over any tolerance.
    iterations: int = Field(default=50, ge=1, le=100_000)
    #: How far above its baseline a count may end: one number, or per counter
    #: (``{ fds = 3, threads = 0 }``).
    tolerance: int | dict[str, int] = 2
    #: ``collect``: counts are read after gc.collect(); ``off``: the collector is disabled
    #: during the iterations, so what only the cycle collector would free counts as leaked.
    gc: Literal["collect", "off"] = "collect"
    #: Seconds a count that ends too high gets to come back (lazy closes in a server).
    settle: float = Field(default=1.0, ge=0, le=120)
    #: Findings (a 5xx or a dropped request on the way, a pool still warming up after
    #: `warmup`) are listed beside the verdict; "fail" fails the check on them too.
    server_errors: FindingMode = "report"

    @field_validator("tolerance")
    @classmethod
    def _non_negative(cls, value: int | dict[str, int]) -> int | dict[str, int]:
        values = value.values() if isinstance(value, dict) else [value]
        if any(v < 0 for v in values):
            raise ValueError("must be 0 or more (0: the count must come back exactly)")
        return value


class Step(BaseModel):
    """One call per iteration: ``"attr.path"`` on the target's object, or ``"pkg.mod:func"``.

    A string ``"startup"`` or ``"http.get /items/1"`` is shorthand: the words after the name
    are positional string arguments.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    call: str
    args: list[Any] = Field(default_factory=list)
    kwargs: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _from_text(cls, value: Any) -> Any:
        if isinstance(value, str):
            words = shlex.split(value)
            if not words:
                raise ValueError("must name a call, e.g. 'startup' or 'pkg.mod:function'")
            return {"call": words[0], "args": words[1:]}
        return value

    def __str__(self) -> str:
        shown = [repr(a) for a in self.args] + [f"{k}={v!r}" for k, v in self.kwargs.items()]
        return f"{self.call}({', '.join(shown)})"


def resolve_call(step: Step, obj: Any, *, where: str) -> Callable[..., Any]:
    """The callable a step names: imported for ``pkg.mod:func``, else looked up on `obj`."""
    if ":" in step.call:
        found: Any = import_object(step.call, field=where)
    else:
        if obj is None:
            raise UserError(
                f"{where}={step.call!r}: names an attribute, but the target has no object",
                where=where,
                hint="use a python target, or write 'pkg.module:function'",
            )
        found = obj
        for part in step.call.split("."):
            try:
                found = getattr(found, part)
            except AttributeError:
                raise UserError(
                    f"{where}={step.call!r}: {type(found).__name__} has no attribute {part!r}",
                    where=where,
                ) from None
    if not callable(found):
        raise UserError(
            f"{where}={step.call!r}: is a {type(found).__name__}, not a callable", where=where
        )
    return found


async def call_step(step: Step, obj: Any, *, where: str) -> Any:
    """Call one step, awaiting it when it returns an awaitable."""
    result = resolve_call(step, obj, where=where)(*step.args, **step.kwargs)
    if inspect.isawaitable(result):
        result = await result
    return result


def import_overrides(overrides: Mapping[str, Any]) -> dict[str, Any]:
    """Factory overrides: a ``"pkg.mod:attr"`` string value is imported, others pass through."""
    out: dict[str, Any] = {}
    for key, value in overrides.items():
        if isinstance(value, str) and ":" in value and " " not in value:
            value = import_object(value, field=f"binding.overrides.{key}")
        out[key] = value
    return out


class Odd:
    """Answers outside the leak class met while counting, grouped by kind with one repro each."""

    def __init__(self, check: str) -> None:
        self.check = check
        self.groups: dict[str, tuple[int, str, str]] = {}

    def add(self, label: str, detail: str, repro: str) -> None:
        count, first, shown = self.groups.get(label, (0, detail, repro))
        self.groups[label] = (count + 1, first, shown)

    def report(self, calls: int) -> list[Finding]:
        return [
            report_finding(
                self.check,
                f"{count} of {calls} calls got {label} ({detail[:160]!r}): not a leak, so the "
                "counts were judged as they stood",
                repro,
            )
            for label, (count, detail, repro) in sorted(self.groups.items())
        ]


def _grown(report: LeakReport) -> str:
    return "; ".join(
        f"{r.counter} grew by {r.delta} ({r.baseline} -> {r.final})" for r in report.leaks
    )


def judge_leaks(
    step: Callable[[], object],
    counters: Sequence[Counter],
    binding: LeakBudget,
    *,
    name: str,
    odd: Odd | None = None,
    **options: Any,
) -> None:
    """`measure` the step; fail on a leak (its report first), report findings, else pass.

    Only growth that goes on is a leak. When counts alone grew (no warning, no memory), the
    iterations run once more from there: a leak grows again, while a pool or a lazily opened
    connection that was still filling after `warmup` has stopped, and is a finding.
    """
    __tracebackhide__ = True
    settings: dict[str, Any] = {
        "name": name,
        "iterations": binding.iterations,
        "tolerance": binding.tolerance,
        "gc_mode": binding.gc,
        "settle": binding.settle,
        **options,
    }
    calls = binding.warmup + binding.iterations
    report: LeakReport | None = measure(step, counters, warmup=binding.warmup, **settings)
    findings: list[Finding] = []
    assert report is not None
    counts_only = (
        report.leaked
        and not report.problem_count
        and not (report.memory is not None and report.memory.leaked)
    )
    if counts_only:
        again = measure(step, counters, warmup=0, **settings)
        calls += binding.iterations
        if again.leaked:
            report = dataclasses.replace(
                report,
                notes=(
                    *report.notes,
                    f"and again over {binding.iterations} more iterations: {_grown(again)}",
                ),
            )
        else:
            findings.append(
                report_finding(
                    name,
                    f"{_grown(report)} over {binding.iterations} iterations after {binding.warmup} "
                    f"warm-up, then held over {binding.iterations} more: a pool or cache still "
                    f"filling after the warm-up, not a leak (raise warmup above {binding.warmup} "
                    "to skip it)",
                    report.repro,
                )
            )
            report = None
    if odd is not None:
        findings = odd.report(calls) + findings
    if report is not None and report.leaked:
        fail_with(report.format(), findings)
    fail_on(name, findings, binding.server_errors)
