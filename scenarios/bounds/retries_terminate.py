"""bounds.retries_terminate: with a dependency that always fails, the call ends within the
configured attempts and a time bound; the attempts are counted by a stub upstream on loopback."""

from __future__ import annotations

import time

import httpx
from pydantic import Field

from harness.pack import FindingMode, StatusSet, Target, collect, fail_on, report_finding, scenario
from scenarios._shared import call_repro
from scenarios.resilience._common import UpstreamRequest, send_watched


class RetriesBinding(UpstreamRequest):
    """The stub at ``upstream`` answers every request with ``status``."""

    #: The most attempts the target may make for one call (its configured bound).
    max_attempts: int = Field(ge=1, le=10_000)
    #: Seconds the call has to give up in.
    bound: float = Field(default=10.0, gt=0, le=600)
    #: What the failing upstream answers.
    status: int = Field(default=503, ge=400, le=599)
    #: Only these methods count as attempts (default: every request the stub gets).
    methods: tuple[str, ...] = ()
    #: Answers that count as giving up properly (default: any).
    expect: StatusSet | None = None
    #: A dropped connection instead of an answer is a finding (the call did end); "fail"
    #: fails the check on it too.
    server_errors: FindingMode = "report"


@scenario("bounds.retries_terminate", binding=RetriesBinding)
def retries_end_within_the_configured_attempts(binding: RetriesBinding, target: Target) -> None:
    """The call answers within `bound` seconds, after at most `max_attempts` upstream requests."""
    with binding.stub(status=binding.status) as stub:

        def attempts() -> int:
            if not binding.methods:
                return len(stub.requests)
            return sum(len(stub.requests_for(m)) for m in binding.methods)

        started = time.perf_counter()
        with target.client(timeout=httpx.Timeout(binding.bound, connect=5.0)) as client:
            running, outcome = send_watched(
                binding, client, binding.bound + 0.5, "fixguard-retry-call"
            )
            took = time.perf_counter() - started
            made = attempts()
            if running or isinstance(outcome.get("error"), httpx.TimeoutException):
                raise AssertionError(
                    f"bounds.retries_terminate: {binding.call} was still retrying after "
                    f"{took:.1f}s: {made} attempts against an upstream that always answers "
                    f"{binding.status} (at most {binding.max_attempts} allowed). An unbounded "
                    "retry loop: stop after a maximum number of attempts."
                )
    error = outcome.get("error")
    with collect() as findings:
        if error is not None:
            if not isinstance(error, httpx.TransportError):
                raise error
            # The call ended, without an answer: the bound held; how it ended is a finding.
            report_finding(
                "bounds.retries_terminate",
                f"{binding.call} ended after {made} attempts in {took:.1f}s without an answer "
                f"({type(error).__name__}: {error}): the retries stopped, but the caller got a "
                "dropped connection",
                call_repro(target, binding),
            )
    response: httpx.Response | None = outcome.get("response")
    answered = f"answered {response.status_code}" if response is not None else "no answer"
    if made == 0:
        raise AssertionError(
            f"bounds.retries_terminate: {binding.call} never called the upstream at "
            f"{binding.upstream} ({answered}); is the target configured "
            "with that address?"
        )
    if made > binding.max_attempts:
        raise AssertionError(
            f"bounds.retries_terminate: {binding.call} made {made} attempts in {took:.1f}s, "
            f"more than the configured {binding.max_attempts}"
        )
    fail_on("bounds.retries_terminate", findings, binding.server_errors)
    if response is None:
        return
    if binding.expect is not None and response.status_code not in binding.expect:
        raise AssertionError(
            f"bounds.retries_terminate: {binding.call} gave up after {made} attempts but "
            f"answered {response.status_code}, expected one of {sorted(binding.expect)}"
        )
