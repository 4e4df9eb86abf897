"""Drive many runs of a scenario under a strategy: `explore()`, `replay()` and their searches."""

from __future__ import annotations

import inspect
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from ...errors import UserError
from .loop import Chooser
from .result import ExploreResult, Failure, FailureKind, RunRecord
from .runner import Scenario, run_one
from .schedule import deviations, encode
from .strategies import (
    DEFAULT_PCT_STEPS,
    PCT,
    Exhaustive,
    Fifo,
    Hypothesis,
    Mixed,
    Schedule,
    Strategy,
    parse,
)

#: Beyond this many decisions in one run, hypothesis() stops drawing and runs FIFO.
MAX_DRAWN_DECISIONS = 2_000


@dataclass
class _Progress:
    runs: list[RunRecord] = field(default_factory=list)
    keys: set[tuple[int, ...]] = field(default_factory=set)
    failing: RunRecord | None = None
    first_failure_at: int | None = None
    first_failure_time: float | None = None
    complete: bool = False
    #: Whether rerunning the failing schedule failed the same way (None: nothing failed).
    reproduced: bool | None = None
    started: float = field(default_factory=time.perf_counter)

    def add(self, record: RunRecord) -> None:
        self.runs.append(record)
        self.keys.add(record.key)
        if record.failure is not None and self.first_failure_at is None:
            self.first_failure_at = len(self.runs)
            self.first_failure_time = time.perf_counter() - self.started


def explore(
    scenario: Scenario,
    strategy: Strategy | str = "mixed",
    schedules: int = 200,
    *,
    max_steps: int = 100_000,
    check_orphans: bool = True,
    early_timers: bool = False,
    baseline: bool = True,
    target: str | None = None,
    replay_command: str | None = None,
) -> ExploreResult:
    """Run `scenario` (an async callable taking no arguments) under up to `schedules` schedules.

    Stops at the first failing schedule. `baseline=True` runs plain FIFO order first (and
    measures k for `pct()` without `steps`). `early_timers=True` also lets a strategy advance
    the virtual clock while callbacks are ready (a timeout firing mid-work); replay with the
    same. `replay_command` is a template with `{token}` (the replay token, shell-quoted) or
    `{raw!r}`; by default a `python -m harness.concurrency.explore replay` line.
    """
    chosen = parse(strategy)
    if schedules < 1:
        raise UserError(f"schedules={schedules!r}: explore needs at least one", hint="write 200")
    progress = _Progress()
    started = progress.started
    run_kw: dict[str, Any] = {
        "max_steps": max_steps,
        "check_orphans": check_orphans,
        "early_timers": early_timers,
    }
    if isinstance(chosen, Hypothesis):
        _search_hypothesis(scenario, chosen, schedules, progress, run_kw)
    elif isinstance(chosen, Exhaustive):
        _search_exhaustive(scenario, chosen, schedules, progress, run_kw)
    else:
        _search_seeded(scenario, chosen, schedules, baseline, progress, run_kw)
    if progress.failing is not None:
        progress.reproduced = _reproduces(scenario, progress.failing, run_kw)
    if replay_command is None:
        name = target or describe(scenario)
        replay_command = default_replay_command(scenario, name, early_timers=early_timers)
    return _result(
        scenario, chosen, progress, time.perf_counter() - started, target, replay_command
    )


def replay(scenario: Scenario, token: Strategy | str, **kwargs: Any) -> ExploreResult:
    """Run exactly the schedule a failure printed: a single-run strategy such as
    `pct(depth=3, seed=41, steps=57)`, `random(seed=8)` or `schedule('0*4.1')`."""
    chosen = parse(token)
    if not chosen.single_run:
        chosen.chooser()  # raises the UserError that explains what to pass instead
    return explore(scenario, chosen, 1, baseline=False, **kwargs)


def run_schedule(scenario: Scenario, chooser: Chooser, **kwargs: Any) -> RunRecord:
    """The seam for other engines: one run with a chooser of the caller's own."""
    return run_one(scenario, chooser, **kwargs)


def _search_seeded(
    scenario: Scenario,
    strategy: Strategy,
    schedules: int,
    baseline: bool,
    progress: _Progress,
    run_kw: dict[str, Any],
) -> None:
    fixed = isinstance(strategy, Fifo | Schedule)
    if fixed:
        schedules = 1
    index = 0
    if baseline and not fixed:
        _add(progress, run_one(scenario, Fifo().chooser(), strategy=Fifo(), **run_kw))
    while progress.failing is None and len(progress.runs) < schedules:
        single = strategy.for_run(index)
        if isinstance(single, PCT) and single.steps is None:
            measured = max((r.steps for r in progress.runs), default=DEFAULT_PCT_STEPS)
            single = replace(single, steps=max(measured, 1))
        _add(progress, run_one(scenario, single.chooser(), strategy=single, **run_kw))
        index += 1


def _add(progress: _Progress, record: RunRecord) -> None:
    progress.add(record)
    if record.failure is not None and progress.failing is None:
        progress.failing = record


def _reproduces(scenario: Scenario, failing: RunRecord, run_kw: dict[str, Any]) -> bool:
    """Rerun the failing schedule once: a deterministic scenario fails the same way again."""
    assert failing.failure is not None
    again = run_one(scenario, Schedule(encode(failing.choices)).chooser(), **run_kw)
    return again.failure is not None and again.failure.signature() == failing.failure.signature()


def _search_exhaustive(
    scenario: Scenario,
    strategy: Exhaustive,
    schedules: int,
    progress: _Progress,
    run_kw: dict[str, Any],
) -> None:
    """Depth-first over decision prefixes; past the prefix every decision is FIFO (index 0)."""
    prefix: list[int] = []
    while len(progress.runs) < schedules:
        plan = Schedule(encode(prefix))
        record = run_one(scenario, plan.chooser(), **run_kw)
        _add(progress, record)
        if record.failure is not None:
            return
        choices, widths = list(record.choices), record.widths
        for j in range(len(choices) - 1, -1, -1):
            following = choices[j] + 1
            if following < widths[j] and deviations(choices[:j]) + 1 <= strategy.preemptions:
                prefix = [*choices[:j], following]
                break
        else:
            progress.complete = True
            return


class _ScheduleFailed(Exception):
    """Raised inside the Hypothesis test so that Hypothesis shrinks the schedule."""


_FAILED_BY_KIND: dict[FailureKind, type[_ScheduleFailed]] = {
    kind: type(f"Schedule{kind.name.title().replace('_', '')}", (_ScheduleFailed,), {})
    for kind in FailureKind
}


class _DataChooser:
    def __init__(self, data: Any) -> None:
        from hypothesis import strategies as st

        self._data = data
        self._drawn = 0
        self._st = st

    def choose(self, owners: Any, step: int) -> int:
        if len(owners) < 2 or self._drawn >= MAX_DRAWN_DECISIONS:
            return 0
        self._drawn += 1
        return int(self._data.draw(self._st.integers(0, len(owners) - 1)))


def _search_hypothesis(
    scenario: Scenario,
    strategy: Hypothesis,
    schedules: int,
    progress: _Progress,
    run_kw: dict[str, Any],
) -> None:
    from hypothesis import HealthCheck, Phase, Verbosity, given, settings
    from hypothesis import seed as fix_seed
    from hypothesis import strategies as st

    failing: list[RunRecord] = []

    @fix_seed(strategy.seed)
    @settings(
        max_examples=schedules,
        database=None,
        deadline=None,
        phases=(Phase.generate, Phase.shrink),
        suppress_health_check=list(HealthCheck),
        verbosity=Verbosity.quiet,
        report_multiple_bugs=False,
        print_blob=False,
    )
    @given(st.data())
    def search(data: Any) -> None:
        record = run_one(scenario, _DataChooser(data), **run_kw)
        progress.add(record)
        if record.failure is not None:
            failing.append(record)
            failure = record.failure
            raise _FAILED_BY_KIND[failure.kind](failure.message) from failure.exception

    from hypothesis.errors import Flaky

    try:
        search()
    except _ScheduleFailed:
        pass
    except Flaky as error:
        raise UserError(
            f"scenario={describe(scenario)!r}: the same schedule passed once and failed once "
            f"({type(error).__name__}), so the scenario is not deterministic given its schedule",
            hint="remove wall-clock reads, unseeded randomness and state shared between runs",
        ) from error
    if failing:
        progress.failing = failing[-1]  # Hypothesis re-runs the shrunk example last


def _result(
    scenario: Scenario,
    strategy: Strategy,
    progress: _Progress,
    elapsed: float,
    target: str | None,
    replay_command: str | None,
) -> ExploreResult:
    name = target or describe(scenario)
    failing = progress.failing
    failure: Failure | None = failing.failure if failing is not None else None
    command = ""
    if failing is not None:
        token = repr(failing.strategy)
        template = replay_command or default_replay_command(scenario, name)
        command = template.format(token=_shell_quote(token), raw=token)
    max_steps = max((r.steps for r in progress.runs), default=0)
    max_tasks = max((r.tasks for r in progress.runs), default=0)
    bound = None
    if isinstance(strategy, PCT | Mixed) and failure is None and max_steps:
        owners = max_tasks + 1  # tasks plus the loop's own callbacks
        bound = 1.0 / (owners * float(max_steps) ** (strategy.depth - 1))
    pct_runs = sum(1 for r in progress.runs if isinstance(r.strategy, PCT))
    return ExploreResult(
        target=name,
        strategy=strategy,
        schedules=len(progress.runs),
        distinct=len(progress.keys),
        elapsed=elapsed,
        failure=failure,
        failing_run=failing,
        first_failure_at=progress.first_failure_at,
        time_to_failure=progress.first_failure_time,
        replay_command=command,
        max_steps=max_steps,
        max_tasks=max_tasks,
        complete=progress.complete,
        reproduced=progress.reproduced,
        pct_bound=bound,
        pct_runs=pct_runs,
    )


def describe(scenario: Callable[..., Any]) -> str:
    """`package.module:function` when importable from the working directory, else `path:func`."""
    inner = getattr(scenario, "func", scenario)  # functools.partial
    qualname = getattr(inner, "__qualname__", repr(inner))
    module = getattr(inner, "__module__", None) or "?"
    try:
        path = inspect.getsourcefile(inner) or ""
    except TypeError:
        path = ""
    if path and module != "__main__":
        expected = module.replace(".", os.sep)
        rel = os.path.relpath(path)
        if rel.startswith(expected) or rel.replace(os.sep + "__init__.py", "").startswith(expected):
            return f"{module}:{qualname}"
        return f"{rel}:{qualname}"
    if path:
        return f"{os.path.relpath(path)}:{qualname}"
    return f"{module}:{qualname}"


def default_replay_command(
    scenario: Callable[..., Any], name: str, *, early_timers: bool = False
) -> str:
    """A `python -m harness.concurrency.explore replay` line, or a Python call for closures."""
    if "<locals>" in name or "<lambda>" in name or getattr(scenario, "func", None) is not None:
        func = name.rsplit(":", 1)[-1]
        extra = ", early_timers=True" if early_timers else ""
        return f"harness.concurrency.explore.replay({func}, {{raw!r}}{extra})"
    extra = " --early-timers" if early_timers else ""
    return f"python -m harness.concurrency.explore replay {name} {{token}}{extra}"


def _shell_quote(token: str) -> str:
    if any(c in token for c in '"$`\\!'):
        return "'" + token.replace("'", "'\"'\"'") + "'"
    return f'"{token}"'
