"""Drive payloads at a target: a fixed corpus first, then Hypothesis, shrinking to the minimum."""

from __future__ import annotations

import random
import shlex
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

import httpx
from hypothesis import HealthCheck, Phase, Verbosity, given, settings
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st

P = TypeVar("P")


@dataclass(frozen=True)
class Finding(Generic[P]):
    """One payload that broke the rule: what was sent, what came back, what is wrong."""

    payload: P
    problem: str
    request: str = ""


@dataclass(frozen=True)
class ProbeResult(Generic[P]):
    """How a probe ended: the payloads tried, the failures, and the minimal one."""

    tried: int
    seed: int
    phase: str  # "corpus" | "hypothesis" | "passed"
    failures: tuple[Finding[P], ...] = field(default_factory=tuple)

    @property
    def minimal(self) -> Finding[P] | None:
        if not self.failures:
            return None
        return min(self.failures, key=lambda f: (len(str(f.payload)), repr(f.payload)))

    @property
    def ok(self) -> bool:
        return not self.failures


class _Broke(AssertionError):
    pass


def probe(
    corpus: Sequence[P],
    strategy: st.SearchStrategy[P],
    attempt: Callable[[P], Finding[P] | None],
    *,
    examples: int = 100,
    seed: int | None = None,
) -> ProbeResult[P]:
    """Try every corpus payload; if none breaks the rule, let Hypothesis search `examples` more.

    `attempt` sends one payload and returns a Finding when the rule broke (and must leave the
    target as it found it). A Hypothesis failure is shrunk, and the minimal payload is the one
    replayed last.
    """
    chosen = random.randrange(2**32) if seed is None else seed
    failures = tuple(f for p in corpus if (f := attempt(p)) is not None)
    if failures:
        return ProbeResult(len(corpus), chosen, "corpus", failures)
    if examples <= 0:
        return ProbeResult(len(corpus), chosen, "passed")

    calls = 0
    last: list[Finding[P]] = []

    @hypothesis_seed(chosen)
    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=False,
        suppress_health_check=list(HealthCheck),
        phases=(Phase.generate, Phase.shrink),
        verbosity=Verbosity.quiet,
        report_multiple_bugs=False,
        print_blob=False,
    )
    @given(strategy)
    def search(payload: P) -> None:
        nonlocal calls
        calls += 1
        found = attempt(payload)
        if found is not None:
            last.append(found)
            raise _Broke(found.problem)

    try:
        search()
    except _Broke:
        return ProbeResult(len(corpus) + calls, chosen, "hypothesis", (last[-1],))
    return ProbeResult(len(corpus) + calls, chosen, "passed")


def describe(result: ProbeResult[P], *, shown: int = 4) -> str:
    """The lines a failed probe adds to a check's message: the minimal payload first."""
    minimal = result.minimal
    if minimal is None:
        return f"{result.tried} payloads tried, none broke the rule (seed={result.seed})"
    how = (
        f"{len(result.failures)} of {result.tried} corpus payloads"
        if result.phase == "corpus"
        else f"Hypothesis (seed={result.seed}) after {result.tried} payloads, shrunk to"
    )
    lines = [f"  found by: {how}", f"  minimal payload: {minimal.payload!r}: {minimal.problem}"]
    if minimal.request:
        lines.append(f"  repro: {minimal.request}")
    others = [f for f in result.failures if f is not minimal][:shown]
    lines += [f"  also: {f.payload!r}: {f.problem}" for f in others]
    if len(result.failures) - 1 > len(others):
        lines.append(f"  ... and {len(result.failures) - 1 - len(others)} more")
    return "\n".join(lines)


#: Request headers a repro command leaves out (httpx adds them itself).
_NOISE = {"host", "accept", "accept-encoding", "connection", "user-agent", "content-length"}


def curl(request: httpx.Request) -> str:
    """A shell command that resends `request` as sent: encoded path, no dot-segment cleanup."""
    words = ["curl", "-s", "--path-as-is", "-X", request.method]
    for name, value in request.headers.items():
        if name.lower() not in _NOISE:
            words += ["-H", f"{name}: {value}"]
    if request.content:
        words += ["--data-binary", request.content.decode(errors="replace")]
    return " ".join(shlex.quote(w) for w in [*words, str(request.url)])
