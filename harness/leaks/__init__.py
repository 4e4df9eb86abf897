"""Resource leak probes: counters, ResourceWarning/unraisable collection, the warm-up/baseline/
N-iterations runner, stub upstreams and dependency fault injection.

    from harness.leaks import FdCounter, measure, assert_no_leaks
    assert_no_leaks(measure(step, [FdCounter()], warmup=5, iterations=50))
"""

from __future__ import annotations

from .collector import Problem, Problems, collect_problems
from .counters import (
    CallableCounter,
    Counter,
    FdCounter,
    PgConnectionCounter,
    SocketCounter,
    TaskCounter,
    ThreadCounter,
)
from .inject import Injection, answer_status, injected, raise_error, slow_by
from .probe import LeakReport, Reading, assert_no_leaks, measure
from .stub import StubRequest, StubUpstream

__all__ = [
    "CallableCounter",
    "Counter",
    "FdCounter",
    "Injection",
    "LeakReport",
    "PgConnectionCounter",
    "Problem",
    "Problems",
    "Reading",
    "SocketCounter",
    "StubRequest",
    "StubUpstream",
    "TaskCounter",
    "ThreadCounter",
    "answer_status",
    "assert_no_leaks",
    "collect_problems",
    "injected",
    "measure",
    "raise_error",
    "slow_by",
]
