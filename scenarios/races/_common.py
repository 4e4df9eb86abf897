"""What the HTTP race checks share: how out-of-class answers count, and one way to race."""

from __future__ import annotations

from collections.abc import Callable

from harness.pack import ContentionBinding, Effect, FindingMode, Round, Target, Violation, contend


class RaceBinding(ContentionBinding):
    """A contention binding whose out-of-class answers are findings beside the verdict."""

    #: A 5xx, an unlisted 429 or a crash is a finding, never a winner or a lost update; "fail"
    #: fails on it too.
    server_errors: FindingMode = "report"


class CountedRaceBinding(RaceBinding):
    """A race whose verdict needs ``effect``: what the contenders left behind for ``{key}``."""

    effect: Effect


def race(
    name: str,
    binding: RaceBinding,
    target: Target,
    judge: Callable[[Round], Violation | None],
    contended: Callable[[Round], bool] | None = None,
) -> None:
    """Race ``binding.call`` until `judge` objects; findings follow ``binding.server_errors``.

    `contended` says which rounds may be judged (by default, contend's own rule).
    """
    __tracebackhide__ = True
    if contended is None:
        contend(name, binding, target, judge, server_errors=binding.server_errors)
    else:
        contend(
            name, binding, target, judge, server_errors=binding.server_errors, contended=contended
        )
