"""leaks.target_process: N requests leave the server's fds, sockets and threads at baseline."""

from __future__ import annotations

from typing import Any, Literal

import httpx
from pydantic import Field

from harness.pack import (
    Counter,
    FdCounter,
    HttpCall,
    SocketCounter,
    StatusSet,
    Target,
    ThreadCounter,
    UserError,
    scenario,
)
from scenarios._shared import call_repro

from ._common import LeakBudget, Odd, judge_leaks

ServerCounter = Literal["fds", "sockets", "threads"]
SERVER_COUNTERS: tuple[ServerCounter, ...] = ("fds", "sockets", "threads")


class TargetProcessLeakBinding(LeakBudget):
    """``call`` is sent once per iteration over one keep-alive connection."""

    call: HttpCall
    values: dict[str, str] = Field(default_factory=dict)
    json_body: Any = Field(default=None, alias="json")
    headers: dict[str, str] = Field(default_factory=dict)
    #: Answers the call must get; anything else but a 5xx stops the run (the binding is
    #: wrong). A 5xx outside `expect` is a finding, and the counts are judged all the same.
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
            "server process's resources",
            where="target.kind",
            hint="use a process (or docker) target, or leaks.in_process for in-process code",
        )
    available: dict[str, Counter] = {
        "fds": FdCounter(pid),
        "sockets": SocketCounter(pid),
        "threads": ThreadCounter(pid),
    }
    counters = [available[n] for n in binding.count]
    odd = Odd("leaks.target_process")
    repro = call_repro(target, binding)
    with target.client() as client:

        def step() -> None:
            kwargs: dict[str, Any] = {"headers": binding.headers}
            if binding.json_body is not None:
                kwargs["json"] = binding.json_body
            try:
                response = binding.call.send(client, binding.values, **kwargs)
            except httpx.HTTPError as exc:
                # A dropped request is not a leak; if the server ran out of what it leaks,
                # the counts say so.
                odd.add(f"no answer ({type(exc).__name__})", str(exc), repro)
                return
            if response.status_code >= 500 and response.status_code not in binding.expect:
                odd.add(f"HTTP {response.status_code}", response.text, repro)
                return
            if response.status_code not in binding.expect:
                raise AssertionError(
                    f"leaks.target_process: {binding.call} answered {response.status_code} "
                    f"(expected one of the binding's `expect`): {response.text[:200]!r}"
                )

        judge_leaks(
            step,
            counters,
            binding,
            odd=odd,
            name=f"leaks.target_process [{binding.call} on pid {pid}]",
            problems=False,
        )
