"""Outcome types of an exploration: one run's record, a failure, and the exploration's result."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from .schedule import encode
from .strategies import Strategy


class FailureKind(str, Enum):
    #: The scenario raised (an assertion, or any other exception).
    EXCEPTION = "exception"
    #: Every task blocked with no timer pending.
    DEADLOCK = "deadlock"
    #: Tasks still pending when the scenario returned.
    ORPHAN_TASKS = "orphan_tasks"
    #: More callbacks ran than the step budget allows: a livelock or an endless loop.
    STEP_LIMIT = "step_limit"
    #: A callback raised and asyncio would only have logged it ("Exception in callback ...").
    CALLBACK_ERROR = "callback_error"


@dataclass(frozen=True)
class Failure:
    kind: FailureKind
    #: One line: the exception, or what was blocked or left pending.
    message: str
    #: The traceback, or one line per blocked or orphaned task with where it waits.
    detail: str = ""
    #: The exception the scenario raised, for EXCEPTION (not part of equality).
    exception: BaseException | None = field(default=None, compare=False, repr=False)

    def signature(self) -> tuple[str, str]:
        """What two runs must share to count as the same failure."""
        return (self.kind.value, self.message)


@dataclass(frozen=True)
class RunRecord:
    """One schedule, run once."""

    #: The exact single-run strategy that reproduces this run (`fifo()`, `pct(..., seed=N)`).
    strategy: Strategy
    #: The index chosen at every step where more than one callback was ready.
    choices: tuple[int, ...]
    #: How many callbacks were ready at each of those steps.
    widths: tuple[int, ...]
    steps: int
    tasks: int
    failure: Failure | None
    #: Owner labels of the decisions (`t2:Service.stop`), last ones only.
    trace: tuple[str, ...] = ()
    virtual_time: float = 0.0

    @property
    def schedule_text(self) -> str:
        return encode(self.choices)

    @property
    def key(self) -> tuple[int, ...]:
        return tuple(c for c, w in zip(self.choices, self.widths, strict=True) if w > 1)


@dataclass(frozen=True)
class ExploreResult:
    """What `explore()` returns; `report()` renders it and `raise_for_failure()` fails a test."""

    target: str
    strategy: Strategy
    schedules: int
    distinct: int
    elapsed: float
    failure: Failure | None = None
    #: The run that failed (shrunk to a minimal schedule under hypothesis()).
    failing_run: RunRecord | None = None
    #: 1-based index of the first failing schedule.
    first_failure_at: int | None = None
    #: Seconds from the start to the end of the first failing schedule (before any shrinking).
    time_to_failure: float | None = None
    #: The command that replays the failing schedule exactly.
    replay_command: str = ""
    max_steps: int = 0
    max_tasks: int = 0
    #: Whether rerunning the failing schedule failed the same way; False means the scenario is
    #: not deterministic given its schedule, and the replay line may not reproduce it.
    reproduced: bool | None = None
    #: exhaustive(): True when every schedule within the preemption bound was run.
    complete: bool = False
    #: pct(): lower bound on the chance one run hits a given bug of the strategy's depth.
    pct_bound: float | None = None
    #: How many of the runs were PCT runs (all but the FIFO baseline for pct(), half for mixed()).
    pct_runs: int = 0

    @property
    def ok(self) -> bool:
        return self.failure is None

    def miss_probability(self) -> float | None:
        """pct(): upper bound on missing a given depth-d bug in all schedules run."""
        if self.pct_bound is None:
            return None
        return float((1.0 - self.pct_bound) ** self.pct_runs)

    def report(self) -> str:
        """The multi-line text the pytest plugin and the CLI show."""
        head = f"explore {self.target}: "
        if self.failure is None:
            lines = [
                head + f"passed {self.schedules} schedules ({self.distinct} distinct) "
                f"in {self.elapsed:.2f}s, strategy={self.strategy!r}",
                f"  largest run: {self.max_steps} steps, {self.max_tasks} tasks",
            ]
            if self.complete:
                lines.append("  exhaustive: every schedule within the preemption bound was run")
            if self.pct_bound is not None:
                lines.append(
                    f"  pct bound: each run hits a given depth-{_depth(self.strategy)} bug with "
                    f"p >= 1/(n*k^(d-1)) = {self.pct_bound:.3g} (n={self.max_tasks + 1}: "
                    f"{self.max_tasks} tasks + loop callbacks, "
                    f"k={self.max_steps} steps); P(miss in all {self.pct_runs} PCT runs) <= "
                    f"{self.miss_probability():.3g}"
                )
            return "\n".join(lines)
        run = self.failing_run
        shrinking = " runs, shrinking included" if not self.strategy.single_run else ""
        lines = [
            head + f"FAILED at schedule {self.first_failure_at} of {self.schedules}{shrinking} "
            f"({self.distinct} distinct) in {self.elapsed:.2f}s",
            f"  failure:  {self.failure.kind.value}: {self.failure.message}",
        ]
        if run is not None:
            lines += [
                f"  strategy: {run.strategy!r}  (exploring with {self.strategy!r})",
                f"  schedule: {run.schedule_text!r}  ({len(run.key)} decisions, "
                f"{run.steps} steps, {run.tasks} tasks, virtual time {run.virtual_time:g}s)",
                "  trace:    " + " > ".join(run.trace),
            ]
        lines.append(f"  replay:   {self.replay_command}")
        if self.reproduced is False:
            lines.append(
                "  WARNING:  rerunning this schedule did not fail the same way: the scenario is "
                "not deterministic given its schedule (wall-clock reads, unseeded randomness, "
                "state kept between runs), so the replay line may not reproduce it"
            )
        if self.failure.detail:
            lines += ["", self.failure.detail.rstrip()]
        return "\n".join(lines)

    def raise_for_failure(self) -> None:
        """Raise `ScheduleFailure` with `report()` as the message when a schedule failed."""
        __tracebackhide__ = True
        if self.failure is not None:
            raise ScheduleFailure(self)


class ScheduleFailure(AssertionError):
    """A schedule broke the scenario; the message is the exploration's report."""

    def __init__(self, result: ExploreResult) -> None:
        super().__init__(result.report())
        self.result = result


def _depth(strategy: Strategy) -> int:
    return int(getattr(strategy, "depth", 1))
