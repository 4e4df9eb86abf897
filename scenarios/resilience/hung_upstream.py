"""resilience.hung_upstream: with an upstream that accepts and never answers, the target still
answers within a bound (e.g. 504), instead of hanging with its caller."""

from __future__ import annotations

import time

import httpx
from pydantic import Field

from harness.pack import (
    FindingMode,
    StatusSet,
    Target,
    collect,
    fail_on,
    report_finding,
    rerun_command,
    scenario,
)

from ._common import UpstreamRequest, curl_of, send_watched

CHECK = "resilience.hung_upstream"


class HungUpstreamBinding(UpstreamRequest):
    """The stub at ``upstream`` accepts, reads the request and never replies."""

    #: Seconds the target has to answer.
    bound: float = Field(default=10.0, gt=0, le=600)
    #: Answers that count as handling the hang (a gateway timeout by default).
    expect: StatusSet = frozenset({504})
    #: Seconds past `bound` the check keeps waiting: an answer then is slow but bounded (the
    #: outbound call has a timeout, longer than `bound`), a finding; none by then is a hang.
    grace: float = Field(default=5.0, ge=0, le=600)
    #: "report": a late answer, a 5xx outside `expect` or a dropped connection is a finding;
    #: "fail": it fails the check too.
    server_errors: FindingMode = "report"


@scenario("resilience.hung_upstream", binding=HungUpstreamBinding)
def target_answers_within_bound_when_upstream_hangs(
    binding: HungUpstreamBinding, target: Target
) -> None:
    """The call answers one of `expect` within `bound` seconds although the upstream never
    replies; a hang (no answer by `bound` + `grace`) means the outbound call has no timeout."""
    patience = binding.bound + binding.grace
    dropped: str | None = None
    with binding.stub(hang=True) as stub:
        started = time.perf_counter()
        with target.client(timeout=httpx.Timeout(patience, connect=5.0)) as client:
            running, outcome = send_watched(binding, client, patience + 1.0, "fixguard-hung-call")
            error = outcome.get("error")
            took = time.perf_counter() - started
            if running or isinstance(error, httpx.TimeoutException):
                raise AssertionError(
                    f"{CHECK}: {binding.call} did not answer within "
                    f"{binding.bound:g}s (gave up after {took:.1f}s) while the upstream at "
                    f"{binding.upstream} accepted {stub.connections} connection(s), received "
                    f"{len(stub.requests)} request(s) and never replied: the outbound call has "
                    f"no timeout, so the target hangs with it (expected one of "
                    f"{sorted(binding.expect)} within {binding.bound:g}s)\n"
                    f"  repro: {rerun_command()}"
                )
            if isinstance(error, httpx.TransportError):
                # The target ended the call (it dropped the connection): bounded, not a hang.
                dropped = (
                    f"{binding.call} dropped the connection after {took:.2f}s while "
                    f"the upstream hung: {type(error).__name__}: {error}"
                )
                response = None
            elif error is not None:
                raise error
            else:
                response = outcome["response"]
        if stub.connections == 0:
            answered = response.status_code if response is not None else "nothing"
            raise AssertionError(
                f"{CHECK}: {binding.call} answered {answered} in "
                f"{took:.2f}s without ever connecting to the stub at {binding.upstream}: the "
                "target is not configured to call it (point its upstream URL there), so this "
                "run proves nothing"
            )
    with collect() as findings:
        if response is not None:
            _judge_answer(binding, response, took)
        if dropped is not None:
            report_finding(CHECK, dropped, rerun_command())
    fail_on(CHECK, findings, binding.server_errors)


def _judge_answer(binding: HungUpstreamBinding, response: httpx.Response, took: float) -> None:
    """An answer came in time to show a timeout exists: judge its status, report the rest."""
    status = response.status_code
    if status not in binding.expect and status < 500:
        raise AssertionError(
            f"{CHECK}: {binding.call} answered {status} in "
            f"{took:.2f}s while the upstream hung; expected one of "
            f"{sorted(binding.expect)}: {response.text[:200]!r}\n  repro: {rerun_command()}"
        )
    if status not in binding.expect:
        # It did not hang: it gave up in time and failed, which is a finding.
        report_finding(
            CHECK,
            f"{binding.call} answered {status} in {took:.2f}s while the "
            f"upstream hung, not one of {sorted(binding.expect)}: "
            f"{response.text[:120]!r}",
            curl_of(response),
        )
    if took > binding.bound:
        report_finding(
            CHECK,
            f"{binding.call} answered {status} after {took:.1f}s, past "
            f"the bound of {binding.bound:g}s: its outbound timeout is longer "
            "than the bound",
            curl_of(response),
        )
