"""Value types of a race run: worker outcomes, invariant violations, attempts and the run result."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Mode(StrEnum):
    """How the contenders of one attempt are started. Printed in every failure report."""

    #: A plain ``ThreadPoolExecutor``: no start gate, default switch interval (baseline only).
    POOL = "pool"
    #: Threads behind a ``Barrier`` with a shrunk ``sys.setswitchinterval``.
    BARRIER = "barrier"
    #: ``BARRIER`` plus seeded ``time.sleep(0)`` at random line events in the target's files.
    PREEMPT = "preempt"
    #: ``BARRIER`` plus a few seeded yield points per round (PCT-like priority change points).
    PCT = "pct"
    #: Coroutines behind an ``asyncio.Event`` gate, run by ``asyncio.run`` or a plugged runner.
    ASYNC = "async"
    #: Raw HTTP/1.1 keep-alive connections; every final byte is released back to back.
    LAST_BYTE = "last-byte"
    #: ``asyncio.gather`` of httpx calls (baseline).
    GATHER = "gather"
    #: One contender, steps in order: protocol checks that need no race (a replay, a 400).
    SEQUENTIAL = "sequential"


@dataclass(frozen=True)
class WorkerResult:
    """What one contender returned or raised. Every worker's result is collected."""

    index: int
    value: Any = None
    error: BaseException | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass(frozen=True)
class Violation:
    """An invariant that one attempt broke: a one-line description plus the counts."""

    what: str
    observed: Mapping[str, Any]
    expected: Mapping[str, Any]
    #: Extra lines for the reader (a worker's traceback, a response body).
    details: tuple[str, ...] = ()


@dataclass(frozen=True)
class Failure:
    """The first failing attempt of a run, with everything needed to replay it."""

    violation: Violation
    attempt: int
    seed: int
    #: ``file:line`` of every forced yield in the failing round, in the order they happened.
    yield_points: tuple[str, ...] = ()


@dataclass(frozen=True)
class RaceResult:
    """The outcome of a bounded run: attempts made, and the first failure if there was one."""

    name: str
    mode: Mode
    seed: int
    workers: int
    attempts: int
    elapsed: float
    budget: float
    failure: Failure | None = None
    #: Seconds from the start of the run to the end of the failing attempt.
    time_to_failure: float | None = None
    #: Free-form counters a check wants to show on a pass (``hits=12`` for a cache).
    notes: Mapping[str, Any] = field(default_factory=dict)
    #: The command that replays this run (set by the runner, used by the formatter).
    repro: str = ""

    @property
    def broken(self) -> bool:
        return self.failure is not None

    @property
    def failing_attempt(self) -> int | None:
        return None if self.failure is None else self.failure.attempt
