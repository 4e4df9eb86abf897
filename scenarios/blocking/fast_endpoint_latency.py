"""blocking.fast_endpoint_latency: a fast endpoint stays fast while slow requests are in flight."""

from __future__ import annotations

import asyncio
from typing import Literal

import httpx
from pydantic import Field

from harness.pack import (
    FindingMode,
    LatencyReport,
    Target,
    collect,
    fail_on,
    percentile,
    probe_latency,
    report_finding,
    rerun_command,
    scenario,
)

from ._common import Request, describe_call

CHECK = "blocking.fast_endpoint_latency"


class FastEndpointLatencyBinding(Request):
    """``call`` is the slow request kept in flight; ``fast`` is probed meanwhile."""

    fast: Request = Field(default_factory=lambda: Request.model_validate({"call": "GET /healthz"}))
    in_flight: int = Field(default=8, ge=1, le=256)
    probes: int = Field(default=12, ge=1, le=10_000)
    #: Latency (seconds) the chosen statistic of the loaded probes may reach.
    threshold: float = Field(default=0.25, gt=0, le=120)
    statistic: Literal["p50", "p90", "p95", "max"] = "p50"
    #: Seconds between probes.
    gap: float = Field(default=0.02, ge=0, le=10)
    #: "report": 5xx answers and transport errors of either call are findings beside the
    #: latency; "fail": they fail the check too.
    server_errors: FindingMode = "report"


@scenario("blocking.fast_endpoint_latency", binding=FastEndpointLatencyBinding)
def fast_endpoint_stays_fast_while_slow_requests_run(
    binding: FastEndpointLatencyBinding, target: Target
) -> None:
    """`in_flight` slow requests run continuously (started together behind a gate); `probes`
    fast requests are timed meanwhile and must stay under `threshold`."""
    #: A 4xx from the fast call: it is not the endpoint the binding means, nothing is measured.
    refused: list[str] = []
    fast_errors: list[str] = []
    slow_errors: list[str] = []
    slow_ok = 0

    async def main() -> LatencyReport:
        limits = httpx.Limits(
            max_connections=binding.in_flight + 2, max_keepalive_connections=binding.in_flight + 2
        )
        async with target.async_client(limits=limits, timeout=60.0) as client:

            async def fast() -> None:
                response = await binding.fast.call.asend(
                    client, binding.fast.values, **binding.fast.kwargs()
                )
                if response.status_code >= 500:
                    fast_errors.append(f"{binding.fast.call} answered {response.status_code}")
                elif response.status_code >= 400:
                    refused.append(f"{binding.fast.call} answered {response.status_code}")

            async def slow() -> None:
                nonlocal slow_ok
                response = await binding.call.asend(client, binding.values, **binding.kwargs())
                if response.status_code >= 500:
                    slow_errors.append(f"{binding.call} answered {response.status_code}")
                else:
                    slow_ok += 1

            return await probe_latency(
                fast, slow, in_flight=binding.in_flight, probes=binding.probes, gap=binding.gap
            )

    report = asyncio.run(main())
    if len(report.loaded) != binding.probes:
        raise AssertionError(f"{CHECK}: {len(report.loaded)} of {binding.probes} probes ran")
    value = percentile(report.loaded, binding.statistic)
    base = target.base_url
    with collect() as findings:
        # A failed request is not latency: reported apart, with the request that failed.
        for problem in [*report.errors, *fast_errors[:3]]:
            who = binding.fast if not problem.startswith("slow:") else binding
            report_finding(CHECK, problem, describe_call(who, base))
        for problem in slow_errors[:3]:
            report_finding(CHECK, problem, describe_call(binding, base))
    if value > binding.threshold:
        lines = [
            f"{CHECK}: {binding.fast.call} took {binding.statistic} "
            f"{value * 1000:.0f} ms (threshold {binding.threshold * 1000:.0f} ms; idle "
            f"{percentile(report.idle, 'p50') * 1000:.0f} ms) while {binding.in_flight} × "
            f"{binding.call} were in flight: the slow handler blocks the server's event loop, "
            "so every other request waits for it",
            f"  {report.describe()}",
            *(f"  finding: {f.problem}" for f in findings),
            f"  repro: {rerun_command()}",
        ]
        raise AssertionError("\n".join(lines))
    cannot = []
    if refused:
        cannot.append(f"the fast call was refused ({refused[0]}): it is not a route to time")
    if slow_ok == 0:
        cannot.append(f"no {binding.call} succeeded, so nothing slow was in flight")
    if cannot:
        raise AssertionError(
            "\n".join(
                [
                    f"{CHECK}: the probe proves nothing: " + "; and ".join(cannot),
                    f"  {report.describe()}",
                    *(f"  finding: {f.problem}" for f in findings),
                    f"  repro: {rerun_command()}",
                ]
            )
        )
    fail_on(CHECK, findings, binding.server_errors)
