"""Deterministic asyncio schedule explorer: seeded, PCT, Hypothesis and bounded exhaustive search.

    from harness.concurrency.explore import explore, pct, replay
    result = explore(my_scenario, pct(depth=3), schedules=200)
    result.raise_for_failure()          # AssertionError with strategy, schedule and replay line

See README.md in this package for the strategies, replay and what is refused.
"""

from .explorer import explore, replay, run_schedule
from .loop import (
    Chooser,
    ControlledLoop,
    DeadlockDetected,
    StepLimitExceeded,
    UncontrolledOperationError,
)
from .result import ExploreResult, Failure, FailureKind, RunRecord, ScheduleFailure
from .strategies import (
    Strategy,
    exhaustive,
    fifo,
    hypothesis,
    mixed,
    parse,
    pct,
    random,
    schedule,
)

__all__ = [
    "Chooser",
    "ControlledLoop",
    "DeadlockDetected",
    "ExploreResult",
    "Failure",
    "FailureKind",
    "RunRecord",
    "ScheduleFailure",
    "StepLimitExceeded",
    "Strategy",
    "UncontrolledOperationError",
    "exhaustive",
    "explore",
    "fifo",
    "hypothesis",
    "mixed",
    "parse",
    "pct",
    "random",
    "replay",
    "run_schedule",
    "schedule",
]
