"""races.exclusive_create: register-if-absent has one winner; the others get the conflict status."""

from __future__ import annotations

from harness.concurrency.calls import ContentionBinding, Effect
from harness.concurrency.contend import Round, contend
from harness.concurrency.report import assert_holds
from harness.concurrency.result import Violation
from harness.scenario import scenario
from harness.targets.base import Target


class ExclusiveCreateBinding(ContentionBinding):
    """``call`` creates ``{key}``; ``effect`` counts what exists for ``{key}`` afterwards."""

    effect: Effect


@scenario("races.exclusive_create", binding=ExclusiveCreateBinding)
def exactly_one_create_wins_and_the_others_conflict(
    binding: ExclusiveCreateBinding, target: Target
) -> None:
    """N contenders create the same key at once: 1 success, N-1 conflicts, exactly 1 effect."""

    def judge(r: Round) -> Violation | None:
        effects = r.effects()
        n = len(r.answers)
        if (r.successes, r.conflicts, effects) == (1, n - 1, 1):
            return None
        return Violation(
            what=f"{r.successes} of {n} creates of the same key succeeded and {effects} "
            "effect(s) exist; exactly 1 may win and the others must get the conflict status "
            "(get-then-save instead of an atomic insert-if-absent)",
            observed={"successes": r.successes, "conflicts": r.conflicts, "effects": effects},
            expected={"successes": 1, "conflicts": n - 1, "effects": 1},
        )

    assert_holds(contend("races.exclusive_create", binding, target, judge))
