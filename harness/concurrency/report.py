"""Text for race results: the failure report a reader sees, and the one-line pass summary."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .result import RaceResult

#: At most this many yield points are printed; the rest are counted.
MAX_YIELD_POINTS = 24


def _counts(values: Mapping[str, Any]) -> str:
    return " ".join(f"{key}={value}" for key, value in values.items()) or "-"


def format_failure(result: RaceResult) -> str:
    """A multi-line report: what broke, mode, seed/attempt, observed vs expected, repro command."""
    failure = result.failure
    if failure is None:
        return format_pass(result)
    v = failure.violation
    ttf = f"{result.time_to_failure:.2f}s" if result.time_to_failure is not None else "?"
    lines = [
        f"{result.name}: {v.what}",
        f"  mode={result.mode.value} workers={result.workers} seed={failure.seed} "
        f"attempt={failure.attempt} (failed after {result.attempts} attempt(s), {ttf})",
        f"  observed: {_counts(v.observed)}",
        f"  expected: {_counts(v.expected)}",
    ]
    lines.extend(f"  {detail}" for detail in v.details)
    if failure.yield_points:
        shown = failure.yield_points[:MAX_YIELD_POINTS]
        more = len(failure.yield_points) - len(shown)
        lines.append(
            "  forced yields (worker file:line, in order): "
            + ", ".join(shown)
            + (f", ... {more} more" if more > 0 else "")
        )
    if result.repro:
        lines.append(f"  repro: {result.repro}")
    return "\n".join(lines)


def format_pass(result: RaceResult) -> str:
    """One line: the invariant held for this many attempts in this mode."""
    notes = f" {_counts(result.notes)}" if result.notes else ""
    return (
        f"{result.name}: held for {result.attempts} attempt(s) in {result.elapsed:.2f}s "
        f"(mode={result.mode.value} workers={result.workers} seed={result.seed}){notes}"
    )


def assert_holds(result: RaceResult) -> RaceResult:
    """Raise ``AssertionError`` with the failure report when the run broke its invariant."""
    __tracebackhide__ = True
    if result.failure is not None:
        raise AssertionError(format_failure(result))
    return result
