"""Event-loop blocking: a loop-lag meter for in-process loops, and a fast-endpoint latency probe.

`LoopLagMeter` puts a heartbeat on the loop (``asyncio.sleep(interval)`` in a task; the lag is
how late each wake-up is) and a watchdog thread that, while the heartbeat is overdue, captures
the loop thread's stack, so a stall is reported with the line that blocked it:

    meter = LoopLagMeter(loop, threshold=0.1).start()   # from any thread
    ... drive load ...
    lag = meter.stop()                                   # LagReport: p50/p95/max, stalls

`probe_latency` measures a fast endpoint over HTTP while `in_flight` slow requests are kept
running, for targets in another process, where the loop cannot be reached.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import sys
import threading
import time
import traceback
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from .leaks.collector import is_library_file


def percentile(values: Sequence[float], which: str) -> float:
    """``p50`` / ``p90`` / ``p95`` / ``max`` of `values` (0.0 for no values)."""
    if not values:
        return 0.0
    if which == "max":
        return max(values)
    q = {"p50": 50, "p90": 90, "p95": 95}[which]
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


@dataclass(frozen=True)
class Stall:
    """One stretch during which the heartbeat was overdue, and where the loop thread was."""

    seconds: float
    frames: tuple[str, ...]  # innermost user frames, innermost last

    def __str__(self) -> str:
        where = " <- ".join(reversed(self.frames)) if self.frames else "(no user frame)"
        return f"{self.seconds * 1000:.0f} ms blocked in {where}"


@dataclass(frozen=True)
class LagReport:
    """Heartbeat lags (seconds) and the stalls the watchdog saw."""

    lags: tuple[float, ...]
    interval: float
    elapsed: float
    stalls: tuple[Stall, ...] = ()

    def stat(self, which: str) -> float:
        return percentile(self.lags, which)

    def describe(self) -> str:
        return (
            f"{len(self.lags)} heartbeats over {self.elapsed:.2f}s: lag p50 "
            f"{self.stat('p50') * 1000:.1f} ms, p95 {self.stat('p95') * 1000:.1f} ms, max "
            f"{self.stat('max') * 1000:.1f} ms"
        )

    def top_stalls(self, limit: int = 3) -> list[Stall]:
        """The longest stalls, one per distinct place."""
        seen: dict[tuple[str, ...], Stall] = {}
        for s in self.stalls:
            if s.frames not in seen or seen[s.frames].seconds < s.seconds:
                seen[s.frames] = s
        return sorted(seen.values(), key=lambda s: s.seconds, reverse=True)[:limit]


def _user_frames(thread_id: int, limit: int = 3) -> tuple[str, ...]:
    frame = sys._current_frames().get(thread_id)
    if frame is None:
        return ()
    stack = traceback.extract_stack(frame)
    user = [f for f in stack if not is_library_file(f.filename)]
    return tuple(
        f"{f.filename}:{f.lineno} {f.name}" + (f" ({f.line.strip()})" if f.line else "")
        for f in user[-limit:]
    )


class LoopLagMeter:
    """Heartbeat + watchdog on `loop`; `start()` and `stop()` may be called from any thread."""

    def __init__(
        self, loop: asyncio.AbstractEventLoop, *, threshold: float = 0.1, interval: float = 0.005
    ) -> None:
        self.loop = loop
        self.threshold = threshold
        self.interval = interval
        self._lags: list[float] = []
        self._stalls: list[Stall] = []
        self._last_beat = 0.0
        self._loop_thread: int | None = None
        self._stopping = threading.Event()
        self._beat_future: concurrent.futures.Future[None] | asyncio.Future[None] | None = None
        self._watchdog: threading.Thread | None = None
        self._started = 0.0

    async def _heartbeat(self) -> None:
        self._loop_thread = threading.get_ident()
        self._last_beat = time.perf_counter()
        while not self._stopping.is_set():
            before = time.perf_counter()
            await asyncio.sleep(self.interval)
            now = time.perf_counter()
            self._lags.append(max(0.0, now - before - self.interval))
            self._last_beat = now

    def _watch(self) -> None:
        stall_started: float | None = None
        frames: tuple[str, ...] = ()
        while not self._stopping.wait(self.interval):
            if self._loop_thread is None:
                continue
            overdue = time.perf_counter() - self._last_beat
            if overdue > max(self.threshold / 2, self.interval * 4):
                if stall_started is None:
                    stall_started = self._last_beat
                current = _user_frames(self._loop_thread)
                frames = current or frames
            elif stall_started is not None:
                self._stalls.append(Stall(self._last_beat - stall_started, frames))
                stall_started, frames = None, ()

    def start(self) -> LoopLagMeter:
        self._started = time.perf_counter()
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is self.loop:
            self._beat_future = self.loop.create_task(self._heartbeat())
        else:
            self._beat_future = asyncio.run_coroutine_threadsafe(self._heartbeat(), self.loop)
        self._watchdog = threading.Thread(
            target=self._watch, name="fixguard-loop-watchdog", daemon=True
        )
        self._watchdog.start()
        return self

    def stop(self) -> LagReport:
        self._stopping.set()
        if self._watchdog is not None:
            self._watchdog.join(timeout=5)
        return LagReport(
            tuple(self._lags),
            self.interval,
            time.perf_counter() - self._started,
            tuple(self._stalls),
        )

    async def astop(self) -> LagReport:
        """`stop()` from a coroutine on the measured loop; waits for the heartbeat to end."""
        report = self.stop()
        if isinstance(self._beat_future, asyncio.Future):
            await self._beat_future
        return report


def loop_of(target: Any) -> asyncio.AbstractEventLoop | None:
    """The event loop an in-process target serves on (`asgi` kind), or None."""
    loop = getattr(target, "loop", None)
    if isinstance(loop, asyncio.AbstractEventLoop):
        return loop
    portal = getattr(target, "_portal", None)  # AsgiTarget keeps its loop on its portal
    loop = getattr(portal, "loop", None)
    return loop if isinstance(loop, asyncio.AbstractEventLoop) else None


@dataclass(frozen=True)
class LatencyReport:
    """Fast-endpoint latencies (seconds), idle and with slow requests in flight."""

    idle: tuple[float, ...]
    loaded: tuple[float, ...]
    slow_done: int
    in_flight: int
    errors: tuple[str, ...] = field(default_factory=tuple)

    def describe(self) -> str:
        def fmt(values: Sequence[float]) -> str:
            if not values:
                return "none"
            return (
                f"p50 {percentile(values, 'p50') * 1000:.0f} ms, max "
                f"{percentile(values, 'max') * 1000:.0f} ms"
            )

        return (
            f"idle: {fmt(self.idle)} over {len(self.idle)} probes; with {self.in_flight} slow "
            f"request(s) in flight: {fmt(self.loaded)} over {len(self.loaded)} probes "
            f"({self.slow_done} slow request(s) finished meanwhile)"
        )


async def probe_latency(
    fast: Callable[[], Awaitable[Any]],
    slow: Callable[[], Awaitable[Any]],
    *,
    in_flight: int,
    probes: int,
    idle_probes: int = 3,
    gap: float = 0.02,
    ramp: float = 0.1,
) -> LatencyReport:
    """Time `fast()` idle, then `probes` times while `in_flight` loops keep `slow()` running.

    The slow loops start together behind a gate; probing begins `ramp` seconds later, once
    every slow loop has a request on the wire. Exceptions are collected, not raised.
    """
    errors: list[str] = []

    async def timed() -> float:
        start = time.perf_counter()
        try:
            await fast()
        except Exception as exc:
            errors.append(f"fast: {type(exc).__name__}: {exc}")
        return time.perf_counter() - start

    idle = [await timed() for _ in range(idle_probes)]
    gate = asyncio.Event()
    stop = asyncio.Event()
    done = 0

    async def slow_loop() -> None:
        nonlocal done
        await gate.wait()
        while not stop.is_set():
            try:
                await slow()
            except Exception as exc:
                errors.append(f"slow: {type(exc).__name__}: {exc}")
                return
            done += 1

    workers = [asyncio.create_task(slow_loop()) for _ in range(in_flight)]
    gate.set()
    loaded: list[float] = []
    try:
        await asyncio.sleep(ramp)
        for _ in range(probes):
            loaded.append(await timed())
            await asyncio.sleep(gap)
    finally:
        stop.set()
        await asyncio.gather(*workers, return_exceptions=True)
    return LatencyReport(tuple(idle), tuple(loaded), done, in_flight, tuple(errors[:5]))
