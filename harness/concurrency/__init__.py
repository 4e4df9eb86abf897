"""Concurrency engine: gated thread, asyncio and HTTP races, repeated within a time budget.

Modules: ``result`` (value types), ``attempts`` (the bounded attempt loop and seeds),
``threads`` (barrier runner), ``preempt`` (line-level preemption), ``aio`` (asyncio runner and
the explorer seam), ``lastbyte`` (HTTP last-byte sync and the gather baseline), ``calls`` and
``contend`` (a binding's call raced by N contenders, answers classified, effects counted; what
the packs build on), ``report`` (text).
``explore`` (the deterministic asyncio explorer) lives in its own sub-package.
"""

from .aio import AsyncRace, ExplorerScheduler, Scheduler, gather_gate, race_async
from .attempts import Budget
from .lastbyte import HttpRace, HttpReply, HttpRequest, fire, race_http
from .preempt import Preemption, TargetFiles
from .report import assert_holds, format_failure, format_pass
from .result import Failure, Mode, RaceResult, Violation, WorkerResult
from .threads import ThreadRace, race_threads, switch_interval

__all__ = [
    "AsyncRace",
    "Budget",
    "ExplorerScheduler",
    "Failure",
    "HttpRace",
    "HttpReply",
    "HttpRequest",
    "Mode",
    "Preemption",
    "RaceResult",
    "Scheduler",
    "TargetFiles",
    "ThreadRace",
    "Violation",
    "WorkerResult",
    "assert_holds",
    "fire",
    "format_failure",
    "format_pass",
    "gather_gate",
    "race_async",
    "race_http",
    "race_threads",
    "switch_interval",
]
