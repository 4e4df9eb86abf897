"""blocking.event_loop_lag: the app's event loop keeps ticking while the call runs under load."""

from __future__ import annotations

import asyncio
from contextlib import ExitStack
from typing import Any, Literal

import httpx
from pydantic import Field, model_validator

from harness.pack import (
    FindingMode,
    LoopLagMeter,
    Target,
    UserError,
    collect,
    fail_on,
    injected,
    loop_of,
    report_finding,
    rerun_command,
    scenario,
    slow_by,
)

from ._common import Request, Slowdown

CHECK = "blocking.event_loop_lag"


class EventLoopLagBinding(Request):
    """``call`` is sent ``requests`` times, ``concurrency`` at a time, to an in-process app."""

    concurrency: int = Field(default=8, ge=1, le=512)
    requests: int = Field(default=24, ge=1, le=100_000)
    #: Loop lag (seconds) the chosen statistic may reach.
    threshold: float = Field(default=0.1, gt=0, le=60)
    statistic: Literal["p50", "p90", "p95", "max"] = "p95"
    #: Optional: make a sync dependency slow, as a loaded database would be.
    slow: Slowdown | None = None
    #: Heartbeat period (seconds).
    interval: float = Field(default=0.005, gt=0, le=1)
    #: "report": 5xx answers and transport errors under load are findings beside the lag;
    #: "fail": they fail the check too.
    server_errors: FindingMode = "report"

    @model_validator(mode="after")
    def _enough_requests(self) -> EventLoopLagBinding:
        if self.requests < self.concurrency:
            raise ValueError(
                f"requests={self.requests} must be at least concurrency={self.concurrency}"
            )
        return self


@scenario("blocking.event_loop_lag", binding=EventLoopLagBinding)
def event_loop_keeps_ticking_under_load(binding: EventLoopLagBinding, target: Target) -> None:
    """A heartbeat on the app's own loop stays within `threshold` while `concurrency`
    requests run at once; a stall is reported with the line the loop thread was stuck in."""
    loop = loop_of(target)
    if loop is None:
        raise UserError(
            f"target kind={target.spec.kind!r}: blocking.event_loop_lag measures the loop of an "
            "in-process app",
            where="target.kind",
            hint="use kind='asgi', or blocking.fast_endpoint_latency for a process target",
        )
    statuses: list[int] = []
    errors: list[str] = []

    async def load() -> None:
        gate = asyncio.Event()
        queue = list(range(binding.requests))
        limits = httpx.Limits(max_connections=binding.concurrency)
        async with target.async_client(limits=limits, timeout=60.0) as client:

            async def worker() -> None:
                await gate.wait()
                while queue:
                    queue.pop()
                    try:
                        response = await binding.call.asend(
                            client, binding.values, **binding.kwargs()
                        )
                        statuses.append(response.status_code)
                    except httpx.HTTPError as exc:
                        errors.append(f"{type(exc).__name__}: {exc}")

            tasks = [asyncio.create_task(worker()) for _ in range(binding.concurrency)]
            gate.set()
            await asyncio.gather(*tasks)

    with ExitStack() as stack:
        if binding.slow is not None:
            stack.enter_context(
                injected(binding.slow.at, slow_by(binding.slow.seconds), where="binding.slow.at")
            )
        meter = LoopLagMeter(loop, threshold=binding.threshold, interval=binding.interval)
        meter.start()
        try:
            asyncio.run(load())
        finally:
            lag = meter.stop()
    done = len(statuses) + len(errors)
    if done != binding.requests:
        raise AssertionError(
            f"{CHECK}: {done} of {binding.requests} requests "
            "finished; the load did not run as bound"
        )
    server_errors = [s for s in statuses if s >= 500]
    value = lag.stat(binding.statistic)
    with collect() as findings:
        if errors or server_errors:
            # A failing request is not lag: the loop kept ticking or it did not, either way.
            report_finding(
                CHECK,
                f"{len(errors)} transport error(s) and {len(server_errors)} 5xx "
                f"answer(s) among {binding.requests} × {binding.call} under load"
                + (f": {errors[0]}" if errors else ""),
                rerun_command(),
            )
    slow = (
        f" with {binding.slow.at} slowed by {binding.slow.seconds * 1000:.0f} ms per call"
        if binding.slow
        else ""
    )
    if value > binding.threshold:
        lines: list[Any] = [
            f"{CHECK}: the event loop stalled: lag {binding.statistic} "
            f"{value * 1000:.0f} ms > threshold {binding.threshold * 1000:.0f} ms while "
            f"{binding.concurrency} × {binding.call} ran at once{slow}: a synchronous call "
            "is running on the event loop thread"
        ]
        stalls = lag.top_stalls()
        if stalls:
            lines.append("  where the loop thread was during the longest stalls:")
            lines.extend(f"    {s}" for s in stalls)
        lines.append(f"  {lag.describe()}")
        lines.extend(f"  finding: {f.problem}" for f in findings)
        lines.append(f"  repro: {rerun_command()}")
        raise AssertionError("\n".join(lines))
    if len(server_errors) + len(errors) == binding.requests:
        # Nothing answered below 500: the handler the sentence is about may never have run.
        raise AssertionError(
            f"{CHECK}: every one of {binding.requests} × {binding.call} failed "
            f"({len(errors)} transport error(s), {len(server_errors)} 5xx), so the load never "
            "ran the handler and the loop's lag proves nothing\n"
            f"  {lag.describe()}\n  repro: {rerun_command()}"
        )
    fail_on(CHECK, findings, binding.server_errors)
