"""path_traversal.write_stays_inside_base: no payload creates or changes a file outside the base."""

from __future__ import annotations

from pydantic import Field

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


class WriteBinding(TraversalBinding):
    """``call`` writes its body to ``{name}`` under the sandbox's base, e.g. ``PUT /files/{name}``."""

    body: str = "FIXGUARD-WRITE"
    #: Send the body as ``{field: body}`` JSON instead of raw bytes.
    json_field: str | None = None
    new_name: str = Field(default="fixguard-new.txt", pattern=r"^[\w.-]+$")


@scenario("path_traversal.write_stays_inside_base", binding=WriteBinding)
def writes_never_touch_a_file_outside_the_base(binding: WriteBinding, target: Target) -> None:
    """Every traversal payload gets a 4xx, and the tree outside the base is byte-identical after."""
    box = open_sandbox(binding.sandbox)
    before = box.snapshot()
    goals = box.goals(new_name=binding.new_name)
    base = str(box.base)
    body: dict[str, object] = (
        {"json": {binding.json_field: binding.body}} if binding.json_field
        else {"content": binding.body.encode()}
    )

    with target.client(timeout=binding.timeout) as client:

        def attempt(payload: TraversalPayload) -> Finding[TraversalPayload] | None:
            response = send_once_more_on_reset(binding, client, payload, **body)
            if isinstance(response, str):
                return Finding(payload, response)
            problems = []
            after = box.snapshot()
            if after != before:
                problems.append("outside the base: " + "; ".join(before.changes(after)))
                box.restore(before)
            status = status_problem(binding, response)
            if status and not problems:
                problems.append(status)
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
            f"path_traversal.write_stays_inside_base: {binding.call} wrote outside "
            f"{base} (sandbox {box.root})\n{describe(result)}"
        )
