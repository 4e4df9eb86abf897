"""The asyncio runner: N coroutines released together from a gate, repeated until a check fails.

Seam for the deterministic explorer (``harness.concurrency.explore``): an attempt is one
coroutine function ``main`` plus a seed. By default it runs under ``asyncio.run``. Pass either

- ``runner=callable`` with the signature ``runner(main, seed) -> result``, or
- ``scheduler=obj`` where ``obj.run(main, seed=seed) -> result`` (the explorer's strategies),

and the attempt runs under that loop instead, so the explorer decides which ready callback runs
next. The gate, the result collection and the checks are the same in every case.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from ..errors import UserError
from .attempts import AttemptOutcome, Budget, run_attempts
from .result import Mode, RaceResult, Violation, WorkerResult
from .threads import unexpected_errors

T = TypeVar("T")
Main = Callable[[], Coroutine[Any, Any, T]]
#: ``runner(main, seed) -> result``: runs one attempt's coroutine function to completion.
Runner = Callable[[Main[Any], int], Any]


class Scheduler(Protocol):
    """What the explorer's strategies offer: run a coroutine function under a controlled loop."""

    def run(self, main: Main[Any], *, seed: int) -> Any: ...


def default_runner(main: Main[T], seed: int) -> T:
    """Plain ``asyncio.run``: FIFO scheduling; the seed is not used."""
    return asyncio.run(main())


def scheduler_runner(scheduler: Scheduler) -> Runner:
    if not callable(getattr(scheduler, "run", None)):
        raise UserError(
            f"scheduler={scheduler!r}: has no run(main, seed=...) method "
            "(pass a strategy from harness.concurrency.explore)"
        )
    return lambda main, seed: scheduler.run(main, seed=seed)


async def gather_gate(
    work: Sequence[Callable[[], Awaitable[Any]]], *, gate_timeout: float = 5.0
) -> list[WorkerResult]:
    """Start every coroutine, hold all of them at a gate, then release them at once.

    Each result is collected (``return_exceptions``), so no contender's exception is lost.
    """
    gate = asyncio.Event()
    arrived = 0
    all_arrived = asyncio.Event()

    async def contender(fn: Callable[[], Awaitable[Any]]) -> Any:
        nonlocal arrived
        arrived += 1
        if arrived == len(work):
            all_arrived.set()
        await gate.wait()
        return await fn()

    tasks = [asyncio.ensure_future(contender(fn)) for fn in work]
    try:
        await asyncio.wait_for(all_arrived.wait(), gate_timeout)
    except TimeoutError:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise UserError(
            f"gate_timeout={gate_timeout!r}: only {arrived} of {len(work)} coroutines reached "
            "the start gate"
        ) from None
    gate.set()
    outcomes = await asyncio.gather(*tasks, return_exceptions=True)
    results = []
    for index, outcome in enumerate(outcomes):
        if isinstance(outcome, BaseException):
            if isinstance(outcome, KeyboardInterrupt | SystemExit):
                raise outcome
            results.append(WorkerResult(index, error=outcome))
        else:
            results.append(WorkerResult(index, value=outcome))
    return results


@dataclass(frozen=True)
class AsyncRace:
    workers: int = 8
    gate_timeout: float = 5.0
    budget: Budget = field(default_factory=lambda: Budget(seconds=1.0, max_attempts=200))
    seed: int | None = None
    expected_errors: tuple[type[BaseException], ...] = ()

    def __post_init__(self) -> None:
        if self.workers < 1:
            raise UserError(f"workers={self.workers!r}: must be >= 1")


async def _maybe(value: Any) -> Any:
    return await value if inspect.isawaitable(value) else value


def race_async(
    name: str,
    setup: Callable[[int], Any],
    work: Callable[[Any, int], Awaitable[Any]],
    check: Callable[[Any, list[WorkerResult]], Any],
    config: AsyncRace | None = None,
    *,
    runner: Runner | None = None,
    scheduler: Scheduler | None = None,
) -> RaceResult:
    """Run attempts of ``workers`` gated ``work(state, i)`` coroutines until ``check`` complains.

    ``setup(attempt)`` and ``check(state, results)`` may be sync or async; they run inside the
    attempt's loop (so asyncio primitives bind to it). ``check`` returns a ``Violation`` or None.
    """
    if runner is not None and scheduler is not None:
        raise UserError("runner= and scheduler= were both given: pass one of them")
    cfg = config or AsyncRace()
    run = runner or (scheduler_runner(scheduler) if scheduler is not None else default_runner)

    def attempt(number: int, seed: int) -> AttemptOutcome:
        async def main() -> Violation | None:
            state = await _maybe(setup(number))
            results = await gather_gate(
                [functools.partial(work, state, i) for i in range(cfg.workers)],
                gate_timeout=cfg.gate_timeout,
            )
            bad = unexpected_errors(results, cfg.expected_errors)
            if bad is not None:
                return bad
            verdict: Violation | None = await _maybe(check(state, results))
            return verdict

        return AttemptOutcome(run(main, seed))

    return run_attempts(
        name, Mode.ASYNC, attempt, seed=cfg.seed, workers=cfg.workers, budget=cfg.budget
    )


class ExplorerScheduler:
    """Adapter from the seam to ``harness.concurrency.explore``: one controlled schedule per attempt.

    ``strategy`` is ``"random"`` or ``"pct"``; the attempt seed picks the schedule, so a printed
    seed and attempt replay the same interleaving. Orphan detection is left to the checks.
    """

    def __init__(self, strategy: str = "random", depth: int = 3):
        if strategy not in ("random", "pct"):
            raise UserError(f"strategy={strategy!r}: must be 'random' or 'pct'")
        self.strategy = strategy
        self.depth = depth

    def __repr__(self) -> str:
        return f"ExplorerScheduler({self.strategy!r}, depth={self.depth})"

    def run(self, main: Main[Any], *, seed: int) -> Any:
        from . import explore

        made = (
            explore.random(seed=seed)
            if self.strategy == "random"
            else explore.pct(depth=self.depth, seed=seed)
        )
        box: dict[str, Any] = {}

        async def scenario() -> None:
            box["value"] = await main()

        record = explore.run_schedule(scenario, made.chooser(), check_orphans=False)
        if record.failure is not None:
            error = getattr(record.failure, "exception", None)
            if isinstance(error, BaseException):
                raise error
            raise AssertionError(f"{self!r} seed={seed}: {record.failure}")
        return box.get("value")
