"""invariants.config_bounds: a size, interval or limit of 0 or less is refused at construction."""

from __future__ import annotations

import math
from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from pydantic import Field

from harness.pack import FindingPolicy, Target, collect, conclude, report_finding, scenario

from ._inprocess import attribute, is_one_of
from ._search import shrinking

CHECK = "invariants.config_bounds"


class ConfigBoundsBinding(FindingPolicy):
    """``factory(**kwargs, <field>=bad)`` must raise for every field and every bad value.

    An exception outside `raises` still refused the value: a finding (server_errors), not a
    violation."""

    #: Attribute of the target object that builds the configured thing (a class, a factory).
    factory: str
    #: Parameters that must be strictly positive.
    fields: tuple[str, ...] = Field(min_length=1)
    #: Valid keyword arguments the construction needs anyway.
    kwargs: dict[str, Any] = Field(default_factory=dict)
    raises: tuple[str, ...] = ("ValueError", "TypeError")
    examples: int = Field(default=40, ge=1, le=10_000)


#: Zero first, then negatives of both numeric kinds; Hypothesis shrinks towards 0.
BAD_VALUES = st.one_of(
    st.just(0),
    st.integers(max_value=-1),
    st.just(0.0),
    st.floats(max_value=0.0, allow_nan=False, allow_infinity=True),
)


@scenario("invariants.config_bounds", binding=ConfigBoundsBinding)
def bounds_of_zero_or_less_are_rejected_at_construction(
    binding: ConfigBoundsBinding, target: Target
) -> None:
    """The valid construction works; each field set to 0, -1, -0.5, -inf... raises."""
    construct = attribute(target, binding.factory, field="factory")
    try:
        construct(**binding.kwargs)
    except Exception as exc:
        raise AssertionError(
            f"invariants.config_bounds: {binding.factory}(**{binding.kwargs!r}) raised "
            f"{type(exc).__name__}: {exc}; the valid construction must work first"
        ) from exc

    accepted: list[str] = []
    #: (field, exception type) -> the first call that raised it; reported once each.
    odd: dict[tuple[str, str], tuple[str, str]] = {}

    def attempt(field: str, value: float) -> str | None:
        call = f"{binding.factory}({field}={value!r})"
        try:
            construct(**{**binding.kwargs, field: value})
        except Exception as exc:
            if not is_one_of(exc, binding.raises):
                # Refused, so not accepted: a crash where validation belongs is another bug.
                odd.setdefault(
                    (field, type(exc).__name__),
                    (
                        f"{call} raised {type(exc).__name__}: {exc}, not one of "
                        f"{list(binding.raises)}",
                        call,
                    ),
                )
            return None
        return f"{call} was accepted"

    # The obvious values first, so every run reports the same minimal case.
    for field in binding.fields:
        for value in (0, -1):
            if (problem := attempt(field, value)) is not None:
                accepted.append(problem)
    if not accepted:
        last: list[str] = []

        @shrinking(binding.examples)
        @given(st.sampled_from(binding.fields), BAD_VALUES)
        def prop(field: str, value: float) -> None:
            assert not (isinstance(value, float) and math.isnan(value))
            if (problem := attempt(field, value)) is not None:
                last.append(problem)
                raise AssertionError(problem)

        try:
            prop()
        except AssertionError:
            accepted.append(last[-1] if last else "a bad value was accepted")
    with collect() as findings:
        for problem, call in odd.values():
            report_finding(CHECK, problem, call)
    conclude(
        CHECK,
        "bounds of 0 or less must be rejected at construction, "
        "or the object fails later (a cache that evicts everything, a loop that spins)",
        accepted,
        findings,
        binding.server_errors,
    )
