"""races.single_consumer: a single-use resource (a ticket, a coupon) is consumed exactly once."""

from __future__ import annotations

from harness.pack import Round, Target, Violation, scenario

from ._common import RaceBinding, race


class SingleConsumerBinding(RaceBinding):
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
        # The winner may be among the out-of-class answers (a 503 after it consumed): only a
        # second winner, a second effect or a win that consumed nothing is judged then.
        if r.out_of_class and r.successes <= 1 and (effects is None or r.successes <= effects <= 1):
            return None
        return Violation(
            what=f"{r.successes} of {len(r.answers)} contenders consumed the same resource "
            f"{r.values.get('resource')!r}; exactly 1 may (pop-and-validate is not atomic)",
            observed={
                "winners": r.successes,
                "refused": r.conflicts,
                "effects": effects,
                "out_of_class": r.out_of_class,
            },
            expected={"winners": 1, "refused": len(r.answers) - 1},
        )

    race("races.single_consumer", binding, target, judge)
