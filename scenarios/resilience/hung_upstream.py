"""resilience.hung_upstream: with an upstream that accepts and never answers, the target still
answers within a bound (e.g. 504), instead of hanging with its caller."""

from __future__ import annotations

import threading
import time
from typing import Any

import httpx
from pydantic import Field

from harness.bindings import StatusSet
from harness.leaks import StubUpstream
from harness.leaks.probe import rerun_command
from harness.scenario import scenario
from harness.targets.base import Target

from ._common import UpstreamRequest


class HungUpstreamBinding(UpstreamRequest):
    """The stub at ``upstream`` accepts, reads the request and never replies."""

    #: Seconds the target has to answer.
    bound: float = Field(default=10.0, gt=0, le=600)
    #: Answers that count as handling the hang (a gateway timeout by default).
    expect: StatusSet = frozenset({504})


@scenario("resilience.hung_upstream", binding=HungUpstreamBinding)
def target_answers_within_bound_when_upstream_hangs(
    binding: HungUpstreamBinding, target: Target
) -> None:
    """The call answers one of `expect` within `bound` seconds although the upstream never
    replies; a hang means the outbound call has no timeout."""
    with StubUpstream(hang=True, host=binding.upstream_host, port=binding.upstream_port) as stub:
        started = time.perf_counter()
        # The bound is kept by a watcher thread too: an in-process (asgi) transport does not
        # enforce httpx timeouts, and a hung call must fail the check, not hang it.
        outcome: dict[str, Any] = {}
        with target.client(timeout=httpx.Timeout(binding.bound, connect=5.0)) as client:

            def send() -> None:
                try:
                    outcome["response"] = binding.call.send(client, binding.values,
                                                            **binding.kwargs())
                except BaseException as exc:  # handed to the checking thread
                    outcome["error"] = exc

            caller = threading.Thread(target=send, name="fixguard-hung-call", daemon=True)
            caller.start()
            caller.join(binding.bound + 1.0)
            error = outcome.get("error")
            if caller.is_alive() or isinstance(error, httpx.TimeoutException):
                took = time.perf_counter() - started
                raise AssertionError(
                    f"resilience.hung_upstream: {binding.call} did not answer within "
                    f"{binding.bound:g}s (gave up after {took:.1f}s) while the upstream at "
                    f"{binding.upstream} accepted {stub.connections} connection(s), received "
                    f"{len(stub.requests)} request(s) and never replied: the outbound call has "
                    f"no timeout, so the target hangs with it (expected one of "
                    f"{sorted(binding.expect)} within {binding.bound:g}s)\n"
                    f"  repro: {rerun_command()}")
            if error is not None:
                raise error
            response: httpx.Response = outcome["response"]
        took = time.perf_counter() - started
        if stub.connections == 0:
            raise AssertionError(
                f"resilience.hung_upstream: {binding.call} answered {response.status_code} in "
                f"{took:.2f}s without ever connecting to the stub at {binding.upstream}: the "
                "target is not configured to call it (point its upstream URL there), so this "
                "run proves nothing")
        if response.status_code not in binding.expect:
            raise AssertionError(
                f"resilience.hung_upstream: {binding.call} answered {response.status_code} in "
                f"{took:.2f}s while the upstream hung; expected one of "
                f"{sorted(binding.expect)}: {response.text[:200]!r}\n  repro: {rerun_command()}")
