"""leaks.in_process: after a warm-up, N iterations of the steps leave every count at baseline."""

from __future__ import annotations

import asyncio
from typing import Literal

from pydantic import Field, field_validator

from harness.pack import (
    Counter,
    FdCounter,
    SocketCounter,
    Target,
    TaskCounter,
    ThreadCounter,
    scenario,
)

from ._common import LeakBudget, Step, call_step, judge_leaks

CounterName = Literal["fds", "sockets", "threads", "tasks"]
ALL_COUNTERS: tuple[CounterName, ...] = ("fds", "sockets", "threads", "tasks")


class InProcessLeakBinding(LeakBudget):
    """``steps`` run in order once per iteration, on one event loop kept for the whole run."""

    steps: list[Step] = Field(min_length=1)
    count: list[CounterName] = Field(default_factory=lambda: list(ALL_COUNTERS))
    #: ResourceWarnings and unraisable exceptions (also from finalisers run by GC) fail the run.
    warnings: bool = True
    #: Name where each warned-about object was allocated (tracemalloc; slows allocation-heavy
    #: steps such as building HTTP clients several times over).
    allocation_sites: bool = True
    #: tracemalloc growth allowed per iteration, in bytes; None: memory is not measured.
    memory_limit: int | None = Field(default=None, ge=0)

    @field_validator("count")
    @classmethod
    def _distinct(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("lists a counter twice")
        return value


@scenario("leaks.in_process", binding=InProcessLeakBinding)
def resources_return_to_baseline_in_process(binding: InProcessLeakBinding, target: Target) -> None:
    """Warm up, then N iterations in this process: fds, sockets, threads and tasks come back,
    no ResourceWarning or unraisable exception is raised (GC finalisers included)."""
    obj = target.obj
    runner = asyncio.Runner()
    try:
        loop = runner.get_loop()
        available: dict[str, Counter] = {
            "fds": FdCounter(),
            "sockets": SocketCounter(),
            "threads": ThreadCounter(),
            "tasks": TaskCounter(loop),
        }
        counters = [available[name] for name in binding.count]

        async def iteration() -> None:
            for index, step in enumerate(binding.steps):
                await call_step(step, obj, where=f"binding.steps[{index}]")

        def step() -> None:
            runner.run(iteration())

        steps = ", ".join(str(s) for s in binding.steps)
        judge_leaks(
            step,
            counters,
            binding,
            name=f"leaks.in_process [{steps}]",
            problems=binding.warnings,
            memory_limit=binding.memory_limit,
            trace_frames=8 if binding.allocation_sites else 0,
        )
    finally:
        runner.close()
