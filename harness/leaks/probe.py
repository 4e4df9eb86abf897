"""Warm up, take a baseline, run N iterations, and compare every counter with its baseline.

    report = measure(step, [FdCounter(), ThreadCounter()], warmup=5, iterations=50)
    assert_no_leaks(report)   # AssertionError naming what grew, by how much, and what is new

A count may end above its baseline by at most its tolerance. Counts are read after a
``gc.collect()`` (``gc="collect"``, the default: only what even the cycle collector cannot free
is a leak) or with the collector disabled during the iterations (``gc="off"``: what waits for
the collector counts too). A target that releases lazily gets `settle` seconds to come back.
ResourceWarnings and unraisable exceptions (`collect_problems`) fail the run on their own.
"""

from __future__ import annotations

import gc
import os
import shlex
import sys
import time
import tracemalloc
from collections import Counter as Tally
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field

from .collector import Problems, collect_problems
from .counters import Counter

#: Default tolerance per counter: a count may end this much above its baseline.
DEFAULT_TOLERANCE = 2
#: At most this many new resources are listed per counter.
MAX_ITEMS = 5


@dataclass(frozen=True)
class Reading:
    """One counter over a run: baseline, final value, the series, and what is new."""

    counter: str
    baseline: int
    final: int
    tolerance: int
    series: tuple[int, ...] = ()
    new_items: tuple[str, ...] = ()

    @property
    def delta(self) -> int:
        return self.final - self.baseline

    @property
    def leaked(self) -> bool:
        return self.delta > self.tolerance

    def line(self, iterations: int) -> str:
        verdict = "LEAK" if self.leaked else "ok"
        per = f", {self.delta / iterations:.2f}/iteration" if self.leaked and iterations else ""
        return (
            f"{self.counter}: {self.baseline} -> {self.final} ({self.delta:+d}{per}; "
            f"tolerance {self.tolerance}) {verdict}"
        )


@dataclass(frozen=True)
class MemoryGrowth:
    """tracemalloc growth over the iterations, and the lines that allocated most of it."""

    bytes_total: int
    limit_per_iteration: int
    iterations: int
    top: tuple[str, ...] = ()

    @property
    def per_iteration(self) -> float:
        return self.bytes_total / max(self.iterations, 1)

    @property
    def leaked(self) -> bool:
        return self.per_iteration > self.limit_per_iteration


@dataclass(frozen=True)
class LeakReport:
    """What `measure` saw; `format()` is the failure text."""

    name: str
    warmup: int
    iterations: int
    elapsed: float
    readings: tuple[Reading, ...]
    problems: tuple[str, ...] = ()
    problem_count: int = 0
    memory: MemoryGrowth | None = None
    repro: str = ""
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def leaks(self) -> list[Reading]:
        return [r for r in self.readings if r.leaked]

    @property
    def leaked(self) -> bool:
        return bool(self.leaks or self.problem_count or (self.memory and self.memory.leaked))

    def headline(self) -> str:
        parts = [f"{r.counter} grew by {r.delta} ({r.baseline} -> {r.final})" for r in self.leaks]
        if self.problem_count:
            parts.append(f"{self.problem_count} ResourceWarning/unraisable exception(s)")
        if self.memory is not None and self.memory.leaked:
            parts.append(
                f"memory grew {self.memory.per_iteration:.0f} B/iteration "
                f"(limit {self.memory.limit_per_iteration} B)"
            )
        if not parts:
            return f"{self.name}: no leak in {self.iterations} iterations"
        return (
            f"{self.name}: leaked over {self.iterations} iterations (after {self.warmup} "
            f"warm-up): " + "; ".join(parts)
        )

    def format(self) -> str:
        lines = [self.headline()]
        lines.extend(f"  {n}" for n in self.notes)
        for r in self.readings:
            lines.append(f"  {r.line(self.iterations)}")
            if r.leaked and r.new_items:
                lines.extend(f"    new: {item}" for item in r.new_items)
        if self.problems:
            lines.append("  ResourceWarnings / unraisable exceptions (grouped):")
            lines.extend(f"    {p}" for p in self.problems)
        if self.memory is not None:
            m = self.memory
            lines.append(
                f"  memory: {m.bytes_total:+d} B over {m.iterations} iterations "
                f"({m.per_iteration:.0f} B/iteration; limit {m.limit_per_iteration})"
            )
            if m.leaked:
                lines.extend(f"    {t}" for t in m.top)
        lines.append(f"  took {self.elapsed:.2f}s")
        if self.repro:
            lines.append(f"  repro: {self.repro}")
        return "\n".join(lines)


def rerun_command() -> str:
    """One line that reruns this check: the current pytest node, or the current command."""
    node = os.environ.get("PYTEST_CURRENT_TEST", "")
    if node:
        return f"python -m pytest -q '{node.rsplit(' (', 1)[0]}'"
    argv = " ".join(shlex.quote(a) for a in sys.argv) if sys.argv and sys.argv[0] else ""
    return f"python {argv}" if argv else ""


def _new_items(before: Tally[str], after: list[str]) -> tuple[str, ...]:
    grown = Tally(after) - before
    return tuple(f"{name} ×{n}" if n > 1 else name for name, n in grown.most_common(MAX_ITEMS))


def _read_all(counters: Sequence[Counter], collect: bool) -> dict[str, int]:
    if collect:
        gc.collect()
    return {c.name: c.read() for c in counters}


def measure(
    step: Callable[[], object],
    counters: Sequence[Counter],
    *,
    name: str = "leaks",
    warmup: int = 5,
    iterations: int = 50,
    tolerance: int | Mapping[str, int] = DEFAULT_TOLERANCE,
    gc_mode: str = "collect",
    settle: float = 0.0,
    problems: bool = True,
    memory_limit: int | None = None,
    samples: int = 10,
    trace_frames: int = 8,
) -> LeakReport:
    """Run `step` `warmup` times, read every counter, run it `iterations` times, read again.

    `tolerance` is one number for every counter or a mapping by counter name. `settle` seconds
    are given to counts that end too high (a server closing sockets after answering).
    `memory_limit` (bytes per iteration) turns on tracemalloc growth measurement;
    `trace_frames=0` keeps tracemalloc off while collecting warnings (no allocation sites).
    """
    if gc_mode not in ("collect", "off"):
        raise ValueError(f"gc_mode={gc_mode!r}: use 'collect' or 'off'")
    tol = {
        c.name: (
            tolerance.get(c.name, DEFAULT_TOLERANCE)
            if isinstance(tolerance, Mapping)
            else tolerance
        )
        for c in counters
    }
    collect = gc_mode == "collect"
    window: AbstractContextManager[Problems] = (
        collect_problems(trace_frames) if problems else nullcontext(Problems())
    )
    started = time.perf_counter()
    own_tracing = memory_limit is not None and not tracemalloc.is_tracing()
    if own_tracing:
        tracemalloc.start(8)
    memory: MemoryGrowth | None = None
    try:
        with window as seen:
            for _ in range(warmup):
                step()
            baseline = _read_all(counters, True)
            before = {c.name: Tally(c.items()) for c in counters}
            mem_before = _memory_snapshot() if memory_limit is not None else None
            series: dict[str, list[int]] = {c.name: [baseline[c.name]] for c in counters}
            every = max(1, iterations // max(samples, 1))
            was_enabled = gc.isenabled()
            if not collect:
                gc.disable()
            try:
                for i in range(1, iterations + 1):
                    step()
                    if i % every == 0 and i != iterations:
                        for c in counters:
                            series[c.name].append(c.read())
                final = _read_all(counters, collect)
                deadline = time.monotonic() + settle
                while (
                    any(final[n] - baseline[n] > tol[n] for n in final)
                    and time.monotonic() < deadline
                ):
                    time.sleep(0.05)
                    final = _read_all(counters, collect)
            finally:
                if was_enabled:
                    gc.enable()
            for c in counters:
                series[c.name].append(final[c.name])
            after = {
                c.name: c.items() if final[c.name] - baseline[c.name] > tol[c.name] else []
                for c in counters
            }
            if mem_before is not None and memory_limit is not None:
                memory = _memory_growth(mem_before, memory_limit, iterations)
    finally:
        if own_tracing:
            tracemalloc.stop()
    readings = tuple(
        Reading(
            c.name,
            baseline[c.name],
            final[c.name],
            tol[c.name],
            tuple(series[c.name]),
            _new_items(before[c.name], after[c.name]),
        )
        for c in counters
    )
    return LeakReport(
        name=name,
        warmup=warmup,
        iterations=iterations,
        elapsed=time.perf_counter() - started,
        readings=readings,
        problems=tuple(seen.summary()),
        problem_count=len(seen),
        memory=memory,
        repro=rerun_command(),
    )


def _memory_snapshot() -> tracemalloc.Snapshot:
    gc.collect()
    return tracemalloc.take_snapshot()


def _memory_growth(before: tracemalloc.Snapshot, limit: int, iterations: int) -> MemoryGrowth:
    after = _memory_snapshot()
    filters = [
        tracemalloc.Filter(False, tracemalloc.__file__),
        tracemalloc.Filter(False, "<frozen importlib._bootstrap>"),
    ]
    diff = after.filter_traces(filters).compare_to(before.filter_traces(filters), "lineno")
    total = sum(d.size_diff for d in diff)
    top = tuple(
        f"{d.traceback[0].filename}:{d.traceback[0].lineno}: {d.size_diff:+d} B "
        f"in {d.count_diff:+d} blocks"
        for d in sorted(diff, key=lambda d: d.size_diff, reverse=True)[:3]
        if d.size_diff > 0
    )
    return MemoryGrowth(total, limit, iterations, top)


def assert_no_leaks(report: LeakReport) -> LeakReport:
    """Raise AssertionError with `report.format()` when anything leaked."""
    __tracebackhide__ = True
    if report.leaked:
        raise AssertionError(report.format())
    return report
