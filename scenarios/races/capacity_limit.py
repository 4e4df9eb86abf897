"""races.capacity_limit: a count-then-insert cap holds when every contender arrives at once."""

from __future__ import annotations

from pydantic import Field, model_validator

from harness.pack import Round, StatusSet, Target, Violation, scenario

from ._common import RaceBinding, race


class CapacityLimitBinding(RaceBinding):
    """``call`` creates one item for ``{key}``; at most ``cap`` may exist per key."""

    cap: int = Field(ge=1)
    conflict: StatusSet = frozenset({409, 429})
    workers: int = Field(default=12, ge=2, le=256)

    @model_validator(mode="after")
    def _workers_exceed_cap(self) -> CapacityLimitBinding:
        if self.workers <= self.cap:
            raise ValueError(
                f"workers={self.workers} must exceed cap={self.cap}, or the cap is never tested"
            )
        return self


@scenario("races.capacity_limit", binding=CapacityLimitBinding)
def successes_and_effects_never_exceed_the_cap(
    binding: CapacityLimitBinding, target: Target
) -> None:
    """N contenders create items for one key at once; successes and stored items stay <= cap."""

    def judge(r: Round) -> Violation | None:
        effects = r.effects() if binding.effect is not None else None
        over = r.successes > binding.cap or (effects is not None and effects > binding.cap)
        if not over:
            return None
        stored = "" if effects is None else f", {effects} stored"
        return Violation(
            what=f"{r.successes} of {len(r.answers)} creations succeeded{stored} for one key, "
            f"but the cap is {binding.cap}: the count was read before the others inserted "
            "(count-then-insert without a lock or a constraint)",
            observed={"successes": r.successes, "conflicts": r.conflicts, "effects": effects},
            expected={"successes": f"<= {binding.cap}", "effects": f"<= {binding.cap}"},
        )

    def contended(r: Round) -> bool:
        return r.decided > binding.cap  # fewer verdicts than the cap cannot exceed it

    race("races.capacity_limit", binding, target, judge, contended)
