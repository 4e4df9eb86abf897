"""Scheduling strategies: immutable values whose `repr` is the call that rebuilds them.

`fifo()`, `random(seed)`, `pct(depth, seed, steps)` and `schedule(text)` each fix one schedule
per seed, so the `repr` of the strategy a failing run used is its exact replay token.
`hypothesis(seed)` and `exhaustive(preemptions)` are searches that the explorer drives run by
run; a failure they find is replayed with the `schedule(...)` it printed.
"""

from __future__ import annotations

import ast
import random as _random
from collections.abc import Sequence
from dataclasses import dataclass, replace

from ...errors import UserError
from .loop import Chooser
from .schedule import decode, encode

#: k for a `pct()` run that nobody measured (a chooser made outside `explore()`).
DEFAULT_PCT_STEPS = 50


class Strategy:
    """Base of every strategy value."""

    #: True when one value of this strategy fixes exactly one schedule.
    single_run: bool = True

    def for_run(self, index: int) -> Strategy:
        """The strategy that run `index` (0-based) of an exploration uses."""
        return self

    def chooser(self) -> Chooser:
        raise UserError(
            f"strategy={self!r} is a search and cannot drive a single run",
            hint="replay its failure with the schedule(...) it printed",
        )


class _FifoChooser:
    def choose(self, owners: Sequence[int], step: int) -> int:
        return 0


class _RandomChooser:
    def __init__(self, seed: int) -> None:
        self._rng = _random.Random(seed)

    def choose(self, owners: Sequence[int], step: int) -> int:
        return self._rng.randrange(len(owners)) if len(owners) > 1 else 0


class _ScheduleChooser:
    def __init__(self, choices: tuple[int, ...]) -> None:
        self._choices = choices
        self._next = 0

    def choose(self, owners: Sequence[int], step: int) -> int:
        if len(owners) < 2:
            return 0
        if self._next >= len(self._choices):
            return 0
        choice = self._choices[self._next]
        self._next += 1
        return min(choice, len(owners) - 1)


class _PCTChooser:
    """Burckhardt et al., ASPLOS 2010: random task priorities plus d-1 priority change points.

    A task (owner) gets a random priority in (d, d+1) when first seen; the highest-priority ready
    owner runs. At step k_i (i = 1..d-1, drawn uniformly from [1, k]) the owner that runs gets
    priority i, below every initial one.
    """

    def __init__(self, depth: int, seed: int, steps: int) -> None:
        self._rng = _random.Random(seed)
        self._depth = depth
        points = [self._rng.randint(1, max(steps, 1)) for _ in range(depth - 1)]
        self._change_at = {step: i + 1 for i, step in enumerate(sorted(points))}
        self._priority: dict[int, float] = {}

    def choose(self, owners: Sequence[int], step: int) -> int:
        for owner in owners:
            if owner not in self._priority:
                self._priority[owner] = self._depth + self._rng.random()
        best = max(range(len(owners)), key=lambda i: (self._priority[owners[i]], -i))
        change = self._change_at.get(step + 1)
        if change is not None:
            self._priority[owners[best]] = float(change)
        return best


@dataclass(frozen=True, repr=False)
class Fifo(Strategy):
    """Plain asyncio order: always the oldest ready callback."""

    def chooser(self) -> Chooser:
        return _FifoChooser()

    def __repr__(self) -> str:
        return "fifo()"


@dataclass(frozen=True, repr=False)
class Random(Strategy):
    """A uniformly random ready callback at every step; run i uses seed + i."""

    seed: int = 0

    def for_run(self, index: int) -> Strategy:
        return replace(self, seed=self.seed + index)

    def chooser(self) -> Chooser:
        return _RandomChooser(self.seed)

    def __repr__(self) -> str:
        return f"random(seed={self.seed})"


@dataclass(frozen=True, repr=False)
class PCT(Strategy):
    """Probabilistic concurrency testing of bug depth `depth` over `steps` scheduling steps.

    `steps=None` lets the explorer measure k from a FIFO run first (a chooser made directly
    from a value without steps uses k = DEFAULT_PCT_STEPS). Each run finds a given bug of
    depth d with probability at least 1/(n·k^(d−1)) for n tasks and k steps.
    """

    depth: int = 3
    seed: int = 0
    steps: int | None = None

    def __post_init__(self) -> None:
        if self.depth < 1:
            raise UserError(f"depth={self.depth!r}: PCT needs depth >= 1", hint="write depth=3")

    def for_run(self, index: int) -> Strategy:
        return replace(self, seed=self.seed + index)

    def chooser(self) -> Chooser:
        return _PCTChooser(self.depth, self.seed, self.steps or DEFAULT_PCT_STEPS)

    def __repr__(self) -> str:
        steps = "" if self.steps is None else f", steps={self.steps}"
        return f"pct(depth={self.depth}, seed={self.seed}{steps})"


@dataclass(frozen=True, repr=False)
class Mixed(Strategy):
    """Alternate `random(seed + i)` (even runs) and `pct(depth, seed + i)` (odd runs).

    Strict PCT cannot delay a task's first step while it preempts another task (the lowered
    task drops below every other), which some lifecycle races need; uniform random choices
    reach those, and the odd runs keep PCT's bound over half the schedules.
    """

    depth: int = 3
    seed: int = 0

    def for_run(self, index: int) -> Strategy:
        if index % 2:
            return PCT(self.depth, self.seed + index)
        return Random(self.seed + index)

    def __repr__(self) -> str:
        return f"mixed(depth={self.depth}, seed={self.seed})"


@dataclass(frozen=True, repr=False)
class Schedule(Strategy):
    """A fixed schedule (see `schedule.py` for the text form); FIFO past its end."""

    text: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "text", encode(decode(self.text)))

    def chooser(self) -> Chooser:
        return _ScheduleChooser(decode(self.text))

    def __repr__(self) -> str:
        return f"schedule({self.text!r})"


@dataclass(frozen=True, repr=False)
class Hypothesis(Strategy):
    """Choices drawn from Hypothesis, so a failing schedule shrinks towards FIFO order."""

    seed: int = 0
    single_run = False

    def __repr__(self) -> str:
        return f"hypothesis(seed={self.seed})"


@dataclass(frozen=True, repr=False)
class Exhaustive(Strategy):
    """Depth-first search of every schedule with at most `preemptions` departures from FIFO."""

    preemptions: int = 2
    single_run = False

    def __post_init__(self) -> None:
        if self.preemptions < 0:
            raise UserError(
                f"preemptions={self.preemptions!r}: the bound cannot be negative",
                hint="write preemptions=2",
            )

    def __repr__(self) -> str:
        return f"exhaustive(preemptions={self.preemptions})"


def fifo() -> Fifo:
    return Fifo()


def random(seed: int = 0) -> Random:
    return Random(seed)


def pct(depth: int = 3, seed: int = 0, steps: int | None = None) -> PCT:
    return PCT(depth, seed, steps)


def mixed(depth: int = 3, seed: int = 0) -> Mixed:
    return Mixed(depth, seed)


def schedule(text: str) -> Schedule:
    return Schedule(text)


def hypothesis(seed: int = 0) -> Hypothesis:
    return Hypothesis(seed)


def exhaustive(preemptions: int = 2) -> Exhaustive:
    return Exhaustive(preemptions)


_CONSTRUCTORS = {
    "fifo": fifo,
    "random": random,
    "pct": pct,
    "mixed": mixed,
    "schedule": schedule,
    "hypothesis": hypothesis,
    "exhaustive": exhaustive,
}


_EXAMPLES = (
    "fifo()",
    "random(seed=0)",
    "pct(depth=3, seed=0)",
    "mixed()",
    "hypothesis(seed=0)",
    "exhaustive(preemptions=2)",
    "schedule('0*3.1')",
)


def parse(text: str | Strategy) -> Strategy:
    """Turn `"pct(depth=3, seed=7)"`, `"pct"` or a `Strategy` into a `Strategy` value."""
    if isinstance(text, Strategy):
        return text
    source = text.strip()
    if source in _CONSTRUCTORS:
        source += "()"
    hint = "write one of " + ", ".join(_EXAMPLES)
    try:
        node = ast.parse(source, mode="eval").body
    except SyntaxError:
        raise UserError(f"strategy={text!r} is not a strategy expression", hint=hint) from None
    if not (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in _CONSTRUCTORS
    ):
        raise UserError(f"strategy={text!r} names no known strategy", hint=hint)
    try:
        args = [ast.literal_eval(a) for a in node.args]
        kwargs = {k.arg: ast.literal_eval(k.value) for k in node.keywords if k.arg}
        return _CONSTRUCTORS[node.func.id](*args, **kwargs)  # type: ignore[operator]
    except (ValueError, TypeError) as error:
        raise UserError(f"strategy={text!r}: {error}", hint=hint) from None
