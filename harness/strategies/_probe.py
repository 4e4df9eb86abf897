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

from ..findings import listing, report_finding

P = TypeVar("P")


@dataclass(frozen=True)
class Hit(Generic[P]):
    """One payload that broke something: what was sent, what came back, what is wrong.

    A `violation` breaks the check's own sentence; otherwise it is a finding of another kind
    (a 5xx on bad input, say), which fails the check only when the binding asks for that.
    """

    payload: P
    problem: str
    request: str = ""
    violation: bool = True


@dataclass(frozen=True)
class ProbeResult(Generic[P]):
    """How a probe ended: the payloads tried, and the hits (violations and findings)."""

    tried: int
    seed: int
    phase: str  # "corpus" | "hypothesis" | "passed"
    hits: tuple[Hit[P], ...] = field(default_factory=tuple)

    @property
    def violations(self) -> tuple[Hit[P], ...]:
        return tuple(h for h in self.hits if h.violation)

    @property
    def findings(self) -> tuple[Hit[P], ...]:
        return tuple(h for h in self.hits if not h.violation)

    @property
    def minimal(self) -> Hit[P] | None:
        """The shortest payload that broke the check's sentence."""
        if not self.violations:
            return None
        return min(self.violations, key=lambda h: (len(str(h.payload)), repr(h.payload)))

    @property
    def ok(self) -> bool:
        return not self.violations


class _Broke(AssertionError):
    pass


#: Findings a Hypothesis search keeps while it looks for a violation (the rest are alike).
_MAX_FINDINGS = 20


def probe(
    corpus: Sequence[P],
    strategy: st.SearchStrategy[P],
    attempt: Callable[[P], Hit[P] | None],
    *,
    examples: int = 100,
    seed: int | None = None,
) -> ProbeResult[P]:
    """Try every corpus payload; unless one failed, let Hypothesis search `examples` more.

    `attempt` sends one payload and returns a Hit when something broke (and must leave the
    target as it found it). Only a violation stops the search; a finding is kept and the
    search goes on. A Hypothesis failure is shrunk, and the minimal payload is the one
    replayed last.
    """
    chosen = random.randrange(2**32) if seed is None else seed
    hits = [h for p in corpus if (h := attempt(p)) is not None]
    if any(h.violation for h in hits):
        return ProbeResult(len(corpus), chosen, "corpus", tuple(hits))
    if examples <= 0:
        return ProbeResult(len(corpus), chosen, "passed", tuple(hits))

    calls = 0
    last: list[Hit[P]] = []
    seen_findings = {h.problem for h in hits}

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
        if found is None:
            return
        if found.violation:
            last.append(found)
            raise _Broke(found.problem)
        if found.problem not in seen_findings and len(seen_findings) < _MAX_FINDINGS:
            seen_findings.add(found.problem)
            hits.append(found)

    try:
        search()
    except _Broke:
        return ProbeResult(len(corpus) + calls, chosen, "hypothesis", (last[-1], *hits))
    return ProbeResult(len(corpus) + calls, chosen, "passed", tuple(hits))


def _line(hit: Hit[P]) -> str:
    return f"{hit.payload!r}: {hit.problem}"


def describe(result: ProbeResult[P], *, shown: int = 4) -> str:
    """The lines a failed probe adds to a check's message: the minimal violation first.

    Findings follow the violations, under their own heading, so the reader sees first what
    the check proves and then what else the payloads turned up.
    """
    minimal = result.minimal
    if minimal is None:
        return f"{result.tried} payloads tried, none broke the rule (seed={result.seed})"
    how = (
        f"{len(result.violations)} of {result.tried} corpus payloads"
        if result.phase == "corpus"
        else f"Hypothesis (seed={result.seed}) after {result.tried} payloads, shrunk to"
    )
    lines = [f"  found by: {how}", f"  minimal payload: {_line(minimal)}"]
    if minimal.request:
        lines.append(f"  repro: {minimal.request}")
    others = [h for h in result.violations if h is not minimal]
    lines += [f"  also: {_line(h)}" for h in others[:shown]]
    if len(others) > shown:
        lines.append(f"  ... and {len(others) - shown} more")
    lines += listing([_line(h) for h in result.findings], shown=shown)
    return "\n".join(lines)


def report_findings(check: str, result: ProbeResult[P]) -> None:
    """Report each finding of a probe, whether it passed or not (a failed probe's message
    lists them too, after its violations)."""
    for hit in result.findings:
        report_finding(check, _line(hit), hit.request)


def conclude_probe(check: str, result: ProbeResult[P], what: str) -> None:
    """Report a payload probe's findings; when a payload broke the rule, fail with
    ``<check>: <what>`` and the probe's account of it (the minimal payload first)."""
    __tracebackhide__ = True
    report_findings(check, result)
    if not result.ok:
        raise AssertionError(f"{check}: {what}\n{describe(result)}")


def send_twice(client: httpx.Client, request: httpx.Request, payload: P) -> httpx.Response | Hit[P]:
    """Send `request`; a connection the server dropped after an earlier answer is retried once.

    When the target does not answer twice in a row, returns a Hit: a finding if it still
    answers a plain ``GET /`` (it drops bad input, as `http.server` does with a NUL byte), a
    violation if it stopped answering (the payloads after it would prove nothing).
    """
    error: httpx.TransportError | None = None
    for _ in range(2):
        try:
            return client.send(request)
        except httpx.TransportError as exc:
            error = exc
    try:
        client.get("/")
    except httpx.TransportError:
        return Hit(
            payload,
            f"no answer twice in a row ({error!r}), and the target stopped "
            "answering: did it crash?",
            curl(request),
        )
    return Hit(
        payload,
        f"no answer twice in a row ({error!r}); the target still answers other requests",
        curl(request),
        violation=False,
    )


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
