"""races.exclusive_create: register-if-absent has one winner; the others get the conflict status."""

from __future__ import annotations

from harness.pack import Round, Target, Violation, scenario

from ._common import CountedRaceBinding, race


class ExclusiveCreateBinding(CountedRaceBinding):
    """``call`` creates ``{key}``; ``effect`` counts what exists for ``{key}`` afterwards."""


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
        # An out-of-class answer may hide the winner (a 503 after its insert) or a loser, so
        # only what it cannot explain is judged: a second winner, a second effect, or a win
        # that stored nothing.
        if r.out_of_class and r.successes <= 1 and effects <= 1 and effects >= r.successes:
            return None
        return Violation(
            what=f"{r.successes} of {n} creates of the same key succeeded and {effects} "
            "effect(s) exist; exactly 1 may win and the others must get the conflict status "
            "(get-then-save instead of an atomic insert-if-absent)",
            observed={
                "successes": r.successes,
                "conflicts": r.conflicts,
                "effects": effects,
                "out_of_class": r.out_of_class,
            },
            expected={"successes": 1, "conflicts": n - 1 - r.out_of_class, "effects": 1},
        )

    race("races.exclusive_create", binding, target, judge)
