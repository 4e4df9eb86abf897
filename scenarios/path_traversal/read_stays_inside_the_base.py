"""path_traversal.read_stays_inside_base: no payload reads a file outside the base directory."""

from __future__ import annotations

from harness.scenario import scenario
from harness.strategies import (
    Finding,
    TraversalPayload,
    describe,
    probe,
    traversal_corpus,
    traversal_payloads,
)
from harness.targets.base import Target

from ._common import TraversalBinding, curl, send_once_more_on_reset, status_problem
from .sandbox import open_sandbox


class ReadBinding(TraversalBinding):
    """``call`` reads ``{name}`` from the sandbox's base, e.g. ``GET /exports/{name}``."""

    #: A legitimate file in the base that must be served: a service that refuses every name
    #: passes the traversal payloads without proving anything. None skips the control.
    control: str | None = "public.txt"


@scenario("path_traversal.read_stays_inside_base", binding=ReadBinding)
def reads_never_return_a_canary_or_a_server_error(binding: ReadBinding, target: Target) -> None:
    """Every traversal payload gets a 4xx; no canary is returned; nothing outside changes."""
    box = open_sandbox(binding.sandbox)
    before = box.snapshot()
    goals = box.goals()
    base = str(box.base)

    with target.client(timeout=binding.timeout) as client:
        if binding.control is not None:
            expected = (box.base / binding.control).read_bytes()
            response = binding.call.send(client, {binding.param: binding.control}, headers=binding.headers)
            if response.status_code >= 300 or response.content != expected:
                raise AssertionError(
                    f"path_traversal.read_stays_inside_base: the legitimate file "
                    f"{binding.control!r} in {base} was not served (HTTP {response.status_code}); "
                    f"a service that refuses every name proves nothing about traversal\n"
                    f"  repro: {curl(response)}"
                )

        def attempt(payload: TraversalPayload) -> Finding[TraversalPayload] | None:
            response = send_once_more_on_reset(binding, client, payload)
            if isinstance(response, str):
                return Finding(payload, response)
            problems = [f"returned the canary {name}" for name in box.leaked(response.content)]
            status = status_problem(binding, response)
            if status and not problems:
                problems.append(status)
            after = box.snapshot()
            if after != before:
                problems.append("changed files outside the base: " + "; ".join(
                    before.changes(after)))
                box.restore(before)
            if not problems:
                return None
            return Finding(payload, f"HTTP {response.status_code}, " + "; ".join(problems),
                           curl(response))

        result = probe(
            traversal_corpus(goals, base=base, families=binding.families),
            traversal_payloads(goals, base=base, families=binding.families,
                               max_extra=binding.max_extra),
            attempt, examples=binding.examples, seed=binding.seed,
        )
    if not result.ok:
        raise AssertionError(
            f"path_traversal.read_stays_inside_base: {binding.call} reached outside "
            f"{base} (sandbox {box.root})\n{describe(result)}"
        )
