"""The thread runner: N workers behind a start gate, repeated until an invariant breaks."""

from __future__ import annotations

import contextlib
import sys
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from ..errors import InternalError, UserError
from .attempts import AttemptOutcome, Budget, run_attempts
from .preempt import Preemption, Round
from .result import Mode, RaceResult, Violation, WorkerResult

S = TypeVar("S")

#: ``setup(attempt) -> state``: a fresh object (or a fresh key) for every attempt.
Setup = Callable[[int], S]
#: ``work(state, worker_index) -> value``: what every contender does once.
Work = Callable[[S, int], Any]
#: ``check(state, results) -> Violation | None``: the invariant, given every worker's result.
Check = Callable[[S, list[WorkerResult]], "Violation | None"]


@dataclass(frozen=True)
class ThreadRace:
    """Settings of a thread race. The defaults are what the packs use."""

    workers: int = 16
    mode: Mode = Mode.PREEMPT
    switch_interval: float = 1e-6
    gate_timeout: float = 5.0
    budget: Budget = field(default_factory=Budget)
    #: Required for ``PREEMPT`` and ``PCT``: which files to preempt in, and how.
    preempt: Preemption | None = None
    seed: int | None = None
    #: Exceptions a worker may raise without that being a failure (a "cap reached" error, say).
    expected_errors: tuple[type[BaseException], ...] = ()

    def __post_init__(self) -> None:
        if self.mode not in (Mode.POOL, Mode.BARRIER, Mode.PREEMPT, Mode.PCT):
            raise UserError(
                f"mode={self.mode.value!r}: not a thread mode (pool|barrier|preempt|pct)"
            )
        if self.workers < 2:
            raise UserError(f"workers={self.workers!r}: a race needs at least 2 workers")
        if self.mode in (Mode.PREEMPT, Mode.PCT) and self.preempt is None:
            raise UserError(
                f"preempt=None: mode {self.mode.value!r} needs the target's files "
                "(preempt=Preemption(TargetFiles.resolve(['pkg.module'])))"
            )


@contextlib.contextmanager
def switch_interval(seconds: float | None) -> Iterator[None]:
    """Shrink ``sys.setswitchinterval`` for the block, and always restore it."""
    if seconds is None:
        yield
        return
    previous = sys.getswitchinterval()
    sys.setswitchinterval(seconds)
    try:
        yield
    finally:
        sys.setswitchinterval(previous)


def unexpected_errors(
    results: list[WorkerResult], allowed: tuple[type[BaseException], ...]
) -> Violation | None:
    """A worker that raised something the check did not allow is a failure of its own."""
    bad = [r for r in results if r.error is not None and not isinstance(r.error, allowed)]
    if not bad:
        return None
    first = bad[0].error
    assert first is not None
    kinds = sorted({type(r.error).__name__ for r in bad})
    return Violation(
        what=f"{len(bad)} of {len(results)} workers raised {', '.join(kinds)}",
        observed={"worker_errors": len(bad)},
        expected={"worker_errors": 0},
        details=(f"worker {bad[0].index}: {type(first).__name__}: {first}",),
    )


class _Runner(Generic[S]):
    def __init__(self, setup: Setup[S], work: Work[S], check: Check[S], config: ThreadRace):
        self.setup, self.work, self.check, self.config = setup, work, check, config
        self.lengths: dict[int, int] = {}

    def attempt(self, pool: ThreadPoolExecutor, number: int, seed: int) -> AttemptOutcome:
        cfg = self.config
        state = self.setup(number)
        if cfg.mode is Mode.POOL:
            futures = [pool.submit(self.work, state, i) for i in range(cfg.workers)]
            results = _collect(futures)
            return AttemptOutcome(self._judge(state, results))
        preempt = cfg.preempt if cfg.mode in (Mode.PREEMPT, Mode.PCT) else None
        gate = threading.Barrier(cfg.workers, timeout=cfg.gate_timeout)
        round_: Round | None = None
        if preempt is not None:
            round_ = Round(preempt, seed, cfg.workers, self.lengths)

        def worker(index: int) -> Any:
            if round_ is not None:
                round_.install(index)
            try:
                gate.wait()
                return self.work(state, index)
            finally:
                if round_ is not None:
                    round_.uninstall()

        with switch_interval(cfg.switch_interval), round_ or contextlib.nullcontext():
            futures = [pool.submit(worker, i) for i in range(cfg.workers)]
            results = _collect(futures)
        broken_gate = [r for r in results if isinstance(r.error, threading.BrokenBarrierError)]
        if broken_gate:
            raise InternalError(
                f"start gate: {len(broken_gate)} of {cfg.workers} workers did not reach the "
                f"barrier within gate_timeout={cfg.gate_timeout!r}s (the machine is overloaded; "
                "raise gate_timeout)"
            )
        if round_ is not None and round_.lengths and not self.lengths:
            self.lengths = dict(round_.lengths)  # the first round calibrates PCT point placement
        yields = round_.yield_points() if round_ is not None else ()
        return AttemptOutcome(self._judge(state, results), yields)

    def _judge(self, state: S, results: list[WorkerResult]) -> Violation | None:
        violation = unexpected_errors(results, self.config.expected_errors)
        return violation if violation is not None else self.check(state, results)


def _collect(futures: list[Any]) -> list[WorkerResult]:
    """``future.result()`` for every future, so no worker's exception is ever lost."""
    results = []
    for index, future in enumerate(futures):
        try:
            results.append(WorkerResult(index, value=future.result()))
        except Exception as exc:  # a worker's failure is data for the check
            results.append(WorkerResult(index, error=exc))
    return results


def race_threads(
    name: str,
    setup: Setup[S],
    work: Work[S],
    check: Check[S],
    config: ThreadRace | None = None,
) -> RaceResult:
    """Run attempts of ``config.workers`` concurrent ``work`` calls until ``check`` complains.

    Every attempt gets a fresh ``setup(attempt)``; workers start together behind a barrier (except
    in ``POOL`` mode, the naive baseline) with the switch interval shrunk; every future's result is
    collected; worker exceptions not listed in ``expected_errors`` are a failure by themselves.
    """
    cfg = config or ThreadRace()
    runner = _Runner(setup, work, check, cfg)
    with ThreadPoolExecutor(max_workers=cfg.workers, thread_name_prefix="race") as pool:
        return run_attempts(
            name,
            cfg.mode,
            lambda number, seed: runner.attempt(pool, number, seed),
            seed=cfg.seed,
            workers=cfg.workers,
            budget=cfg.budget,
        )
