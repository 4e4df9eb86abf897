"""races.single_consumer: a single-use resource (a ticket, a coupon) is consumed exactly once."""

from __future__ import annotations

from harness.concurrency.calls import ContentionBinding
from harness.concurrency.contend import Round, contend
from harness.concurrency.report import assert_holds
from harness.concurrency.result import Violation
from harness.scenario import scenario
from harness.targets.base import Target


class SingleConsumerBinding(ContentionBinding):
    """``setup`` makes one resource per attempt (its ``setup_field`` is ``{resource}``);
    every contender then runs ``call`` on it, e.g. ``POST /tickets/{resource}/consume``."""


@scenario("races.single_consumer", binding=SingleConsumerBinding)
def exactly_one_contender_consumes_the_resource(
    binding: SingleConsumerBinding, target: Target
) -> None:
    """N contenders consume one resource at once; exactly one wins and the rest are refused."""

    def judge(r: Round) -> Violation | None:
        effects = r.effects() if binding.effect is not None else None
        if r.successes == 1 and (effects is None or effects == 1):
            return None
        return Violation(
            what=f"{r.successes} of {len(r.answers)} contenders consumed the same resource "
            f"{r.values.get('resource')!r}; exactly 1 may (pop-and-validate is not atomic)",
            observed={"winners": r.successes, "refused": r.conflicts, "effects": effects},
            expected={"winners": 1, "refused": len(r.answers) - 1},
        )

    assert_holds(contend("races.single_consumer", binding, target, judge))
