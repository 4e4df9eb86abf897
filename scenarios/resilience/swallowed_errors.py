"""resilience.swallowed_errors: a fault injected into a dependency is logged or propagated,
never swallowed silently."""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from harness.pack import (
    Behaviour,
    FindingMode,
    Target,
    UserError,
    answer_status,
    fail_on,
    injected,
    raise_error,
    report_finding,
    rerun_command,
    scenario,
)
from scenarios._shared import RecordCapture, exception_class
from scenarios.leaks._common import Step, call_step


class Fault(BaseModel):
    """Where to inject and what: ``raises`` an exception class, or answers ``status``
    (for an httpx ``send``: the upstream answers that status)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    at: str
    raises: str | None = None
    status: int | None = Field(default=None, ge=100, le=599)

    @model_validator(mode="after")
    def _one_kind(self) -> Fault:
        if (self.raises is None) == (self.status is None):
            raise ValueError("set exactly one of raises ('OSError', 'pkg.mod:Error') or status")
        return self

    def describe(self) -> str:
        return (
            f"{self.at} raising {self.raises}"
            if self.raises
            else f"{self.at} answering {self.status}"
        )

    def behaviour(self) -> Behaviour:
        if self.status is not None:
            return answer_status(self.status)
        return raise_error(self.error_class())

    def error_class(self) -> type[BaseException]:
        """The exception class `raises` names (a UserError when it names none)."""
        assert self.raises is not None
        return exception_class(
            self.raises,
            field="binding.fault.raises",
            problem="not an exception class",
            hint="a builtin name such as 'OSError', or 'pkg.mod:ErrorClass'",
        )


class SwallowedErrorsBinding(BaseModel):
    """``call`` on the python target's object (or ``pkg.mod:func``) with ``fault`` injected."""

    model_config = ConfigDict(extra="forbid")

    call: Step
    fault: Fault
    #: Return values that report the failure to the caller (e.g. ``[false]``).
    failure_returns: list[Any] = Field(default_factory=list)
    #: A log record at this level or above counts as "logged".
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "WARNING"
    #: "report": an exception unrelated to the injected fault (the call broke elsewhere) is a
    #: finding beside the pass; "fail": it fails the check.
    server_errors: FindingMode = "report"


def _chain(exc: BaseException) -> list[BaseException]:
    found: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and all(current is not seen for seen in found):
        found.append(current)
        current = current.__cause__ or current.__context__
    return found


@scenario("resilience.swallowed_errors", binding=SwallowedErrorsBinding)
def injected_fault_is_logged_or_propagated(binding: SwallowedErrorsBinding, target: Target) -> None:
    """With the fault in place, the call raises, returns a declared failure value, or logs at
    `level` or above; returning normally in silence is a swallowed error."""
    level = getattr(logging, binding.level)
    handler = RecordCapture(logging.DEBUG)
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(min(old_level or logging.WARNING, level))
    raised: BaseException | None = None
    result: Any = None
    try:
        with injected(
            binding.fault.at, binding.fault.behaviour(), where="binding.fault.at"
        ) as injection:
            try:
                result = asyncio.run(call_step(binding.call, target.obj, where="binding.call"))
            except UserError:
                raise
            except Exception as exc:
                raised = exc
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
    if injection.calls == 0:
        raise UserError(
            f"binding.fault.at={binding.fault.at!r}: {binding.call} never reached it, so no "
            "fault was injected",
            where="binding.fault.at",
            hint="inject into a dependency that the call uses",
        )
    if raised is not None and binding.fault.raises is not None:
        fault = binding.fault.error_class()
        if not any(isinstance(e, fault) for e in _chain(raised)):
            # It raised, so nothing was swallowed; but what escaped is not the fault nor
            # raised while handling it: the call broke somewhere else.
            finding = report_finding(
                "resilience.swallowed_errors",
                f"{binding.call} raised {type(raised).__name__}: {raised}, which is neither the "
                f"injected {binding.fault.raises} nor raised while handling it",
                rerun_command(),
            )
            fail_on("resilience.swallowed_errors", [finding], binding.server_errors)
    if raised is not None or result in binding.failure_returns:
        return
    logged = [r for r in handler.records if r.levelno >= level]
    if logged:
        return
    quieter = [f"{r.levelname} {r.name}: {r.getMessage()}" for r in handler.records][:3]
    raise AssertionError(
        "\n".join(
            [
                f"resilience.swallowed_errors: the fault ({binding.fault.describe()}, reached "
                f"{injection.calls} time(s)) was swallowed: {binding.call} returned {result!r} and "
                f"nothing was logged at {binding.level} or above",
                "  the caller is told it worked, and operators never hear of the failure",
                *(f"  logged below {binding.level}: {q}" for q in quieter),
                f"  repro: {rerun_command()}",
            ]
        )
    )
