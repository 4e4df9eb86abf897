"""The bounded attempt loop shared by every mode: seeds, time budget, first failure, replay."""

from __future__ import annotations

import os
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..errors import UserError
from .result import Failure, Mode, RaceResult, Violation

#: Environment variables a printed repro command sets to replay one attempt exactly.
SEED_ENV = "FIXGUARD_SEED"
ATTEMPT_ENV = "FIXGUARD_ATTEMPT"


@dataclass(frozen=True)
class Budget:
    """How long a run may keep attempting before it reports that the invariant held."""

    seconds: float = 2.0
    max_attempts: int = 400
    #: Attempts made even when the time budget is already spent (a slow target still gets tried).
    min_attempts: int = 3

    def __post_init__(self) -> None:
        if not self.seconds > 0:
            raise UserError(f"budget.seconds={self.seconds!r}: must be > 0 (write 2.0, say)")
        if self.max_attempts < 1 or self.min_attempts < 1:
            raise UserError(
                f"budget.max_attempts={self.max_attempts!r}, min_attempts={self.min_attempts!r}: "
                "both must be >= 1"
            )


@dataclass(frozen=True)
class AttemptOutcome:
    """What one attempt found: a violation (or None) and the forced yields it made."""

    violation: Violation | None
    yield_points: tuple[str, ...] = ()


def resolve_seed(seed: int | None) -> int:
    """An explicit seed wins, then ``$FIXGUARD_SEED``, then a fresh random one (printed on failure)."""
    if seed is not None:
        return seed
    env = os.environ.get(SEED_ENV, "").strip()
    if env:
        try:
            return int(env)
        except ValueError:
            raise UserError(f"{SEED_ENV}={env!r}: not an integer (write {SEED_ENV}=1234)") from None
    return random.SystemRandom().randrange(1, 2**31)


def first_attempt() -> int:
    """``$FIXGUARD_ATTEMPT`` makes a replay start at the attempt that failed."""
    env = os.environ.get(ATTEMPT_ENV, "").strip()
    if not env:
        return 1
    try:
        value = int(env)
    except ValueError:
        raise UserError(f"{ATTEMPT_ENV}={env!r}: not an integer (write {ATTEMPT_ENV}=3)") from None
    return max(1, value)


def attempt_seed(seed: int, attempt: int) -> int:
    """The per-attempt seed: a pure function of the run seed and the attempt number."""
    return random.Random(f"{seed}:{attempt}").randrange(2**32)


def repro_command(seed: int, attempt: int) -> str:
    """One line that reruns exactly this attempt: the current pytest node, or the current argv."""
    prefix = f"{SEED_ENV}={seed} {ATTEMPT_ENV}={attempt}"
    node = os.environ.get("PYTEST_CURRENT_TEST", "")
    if node:
        node_id = node.rsplit(" (", 1)[0]
        return f"{prefix} python -m pytest -q '{node_id}'"
    import shlex
    import sys

    argv = (
        " ".join(shlex.quote(a) for a in sys.argv) if sys.argv and sys.argv[0] else "<your command>"
    )
    return f"{prefix} python {argv}"


def run_attempts(
    name: str,
    mode: Mode,
    attempt: Callable[[int, int], AttemptOutcome],
    *,
    seed: int | None,
    workers: int,
    budget: Budget,
) -> RaceResult:
    """Call ``attempt(number, attempt_seed)`` until a violation or the budget ends.

    Attempts are numbered from 1 (or from ``$FIXGUARD_ATTEMPT``), so a failure's number and seed
    replay it. Exceptions from ``attempt`` itself (not from workers) propagate: they are bugs in
    the check or the harness, never a race verdict.
    """
    run_seed = resolve_seed(seed)
    start_at = first_attempt()
    started = time.perf_counter()
    made = 0
    number = start_at
    while True:
        outcome = attempt(number, attempt_seed(run_seed, number))
        made += 1
        now = time.perf_counter()
        ending: dict[str, Any]
        if outcome.violation is not None:
            ending = {
                "failure": Failure(outcome.violation, number, run_seed, outcome.yield_points),
                "time_to_failure": now - started,
                "repro": repro_command(run_seed, number),
            }
        elif (
            now - started >= budget.seconds and made >= budget.min_attempts
        ) or made >= budget.max_attempts:
            ending = {"repro": repro_command(run_seed, start_at)}
        else:
            number += 1
            continue
        return RaceResult(
            name=name,
            mode=mode,
            seed=run_seed,
            workers=workers,
            attempts=made,
            elapsed=now - started,
            budget=budget.seconds,
            **ending,
        )


def run_sequence(
    name: str,
    check: Callable[[int], Violation | None],
    *,
    attempts: int = 1,
    seed: int | None = None,
) -> RaceResult:
    """Run an ordered (non-racing) check ``attempts`` times, reported like any race."""
    return run_attempts(
        name,
        Mode.SEQUENTIAL,
        lambda number, _seed: AttemptOutcome(check(number)),
        seed=seed,
        workers=1,
        budget=Budget(seconds=0.001, max_attempts=attempts, min_attempts=attempts),
    )
