"""How the property checks let Hypothesis search: one minimal counterexample, no side files."""

from __future__ import annotations

from hypothesis import HealthCheck, Phase, settings


def shrinking(examples: int) -> settings:
    """Settings for a property search of `examples` cases: no deadline (the code under test may
    be slow), no example database or repro blob (a check leaves no files behind), every health
    check off, and only the shrunk, minimal failure reported."""
    return settings(
        max_examples=examples,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
        phases=(Phase.generate, Phase.shrink),
        report_multiple_bugs=False,
        print_blob=False,
    )
