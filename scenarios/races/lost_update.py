"""races.lost_update: N concurrent increments leave the counter N higher, not less."""

from __future__ import annotations

from harness.pack import Round, Target, Violation, scenario

from ._common import CountedRaceBinding, race


class LostUpdateBinding(CountedRaceBinding):
    """``call`` increments the counter of ``{key}`` once; ``effect`` reads the counter."""


@scenario("races.lost_update", binding=LostUpdateBinding)
def the_final_value_equals_the_number_of_increments(
    binding: LostUpdateBinding, target: Target
) -> None:
    """N contenders increment one counter at once; every acknowledged increment is counted.

    A contender refused with a listed conflict status (optimistic locking's 409, say) made no
    increment to lose: the counter must then equal the successes, not N.
    """

    def judge(r: Round) -> Violation | None:
        value = r.effects()
        if value == r.successes and r.successes + r.conflicts == len(r.answers):
            return None
        # An out-of-class answer may or may not have incremented: only an acknowledged
        # increment missing from the counter (or more increments than calls) is judged then.
        if r.out_of_class and r.successes <= value <= r.successes + r.out_of_class:
            return None
        return Violation(
            what=f"{r.successes} increments succeeded but the counter reads {value}: "
            f"{r.successes - value} update(s) were lost (read-modify-write without a lock)",
            observed={
                "increments": r.successes,
                "final_value": value,
                "out_of_class": r.out_of_class,
            },
            expected={"increments": len(r.answers), "final_value": len(r.answers)},
        )

    race("races.lost_update", binding, target, judge)
