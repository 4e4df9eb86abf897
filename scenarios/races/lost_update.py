"""races.lost_update: N concurrent increments leave the counter N higher, not less."""

from __future__ import annotations

from harness.concurrency.calls import ContentionBinding, Effect
from harness.concurrency.contend import Round, contend
from harness.concurrency.report import assert_holds
from harness.concurrency.result import Violation
from harness.scenario import scenario
from harness.targets.base import Target


class LostUpdateBinding(ContentionBinding):
    """``call`` increments the counter of ``{key}`` once; ``effect`` reads the counter."""

    effect: Effect


@scenario("races.lost_update", binding=LostUpdateBinding)
def the_final_value_equals_the_number_of_increments(
    binding: LostUpdateBinding, target: Target
) -> None:
    """N contenders increment one counter at once; its final value is exactly N."""

    def judge(r: Round) -> Violation | None:
        value = r.effects()
        if value == r.successes == len(r.answers):
            return None
        return Violation(
            what=f"{r.successes} increments succeeded but the counter reads {value}: "
            f"{r.successes - value} update(s) were lost (read-modify-write without a lock)",
            observed={"increments": r.successes, "final_value": value},
            expected={"increments": len(r.answers), "final_value": len(r.answers)},
        )

    assert_holds(contend("races.lost_update", binding, target, judge))
