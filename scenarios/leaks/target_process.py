"""leaks.target_process: N requests leave the server's fds, sockets and threads at baseline."""

from __future__ import annotations

from typing import Any, Literal

import httpx
from pydantic import Field

from harness.bindings import HttpCall, StatusSet
from harness.errors import UserError
from harness.leaks import Counter, FdCounter, SocketCounter, ThreadCounter, assert_no_leaks, measure
from harness.scenario import scenario
from harness.targets.base import Target

from ._common import LeakBudget

ServerCounter = Literal["fds", "sockets", "threads"]
SERVER_COUNTERS: tuple[ServerCounter, ...] = ("fds", "sockets", "threads")


class TargetProcessLeakBinding(LeakBudget):
    """``call`` is sent once per iteration over one keep-alive connection."""

    call: HttpCall
    values: dict[str, str] = Field(default_factory=dict)
    json_body: Any = Field(default=None, alias="json")
    headers: dict[str, str] = Field(default_factory=dict)
    #: Answers the call must get; anything else stops the run (the binding is wrong).
    expect: StatusSet = frozenset(range(200, 500))
    count: list[ServerCounter] = Field(default_factory=lambda: list(SERVER_COUNTERS))


@scenario("leaks.target_process", binding=TargetProcessLeakBinding)
def server_resources_return_to_baseline(binding: TargetProcessLeakBinding, target: Target) -> None:
    """Warm up, then N requests: the target process (by pid, through psutil) holds no more
    fds, sockets or threads than at the baseline, within the tolerance."""
    pid = target.pid
    if pid is None:
        raise UserError(
            f"target kind={target.spec.kind!r} has no pid: leaks.target_process counts the "
            "server process's resources", where="target.kind",
            hint="use a process (or docker) target, or leaks.in_process for in-process code")
    available: dict[str, Counter] = {"fds": FdCounter(pid), "sockets": SocketCounter(pid),
                                     "threads": ThreadCounter(pid)}
    counters = [available[n] for n in binding.count]
    with target.client() as client:

        def step() -> None:
            kwargs: dict[str, Any] = {"headers": binding.headers}
            if binding.json_body is not None:
                kwargs["json"] = binding.json_body
            try:
                response = binding.call.send(client, binding.values, **kwargs)
            except httpx.HTTPError as exc:
                raise AssertionError(
                    f"leaks.target_process: {binding.call} failed ({type(exc).__name__}: {exc}) "
                    "while counting; the server may have run out of the resource it leaks"
                ) from exc
            if response.status_code not in binding.expect:
                raise AssertionError(
                    f"leaks.target_process: {binding.call} answered {response.status_code} "
                    f"(expected one of the binding's `expect`): {response.text[:200]!r}"
                )

        report = measure(step, counters, name=f"leaks.target_process [{binding.call} on pid "
                         f"{pid}]", warmup=binding.warmup, iterations=binding.iterations,
                         tolerance=binding.tolerance, gc_mode="collect", settle=binding.settle,
                         problems=False)
    assert_no_leaks(report)
