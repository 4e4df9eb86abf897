"""path_traversal.write_stays_inside_base: no payload creates or changes a file outside the base."""

from __future__ import annotations

from pydantic import Field

from harness.pack import Hit, Target, TraversalPayload, conclude_probe, scenario

from ._common import (
    TraversalBinding,
    escapes,
    goals,
    judge,
    probe_traversal,
    send_once_more_on_reset,
)
from .sandbox import open_sandbox

NAME = "path_traversal.write_stays_inside_base"


class WriteBinding(TraversalBinding):
    """``call`` writes its body to ``{name}`` under the sandbox's base, e.g. ``PUT /files/{name}``."""

    body: str = "FIXGUARD-WRITE"
    #: Send the body as ``{field: body}`` JSON instead of raw bytes.
    json_field: str | None = None
    new_name: str = Field(default="fixguard-new.txt", pattern=r"^[\w.-]+$")


@scenario(NAME, binding=WriteBinding)
def writes_never_touch_a_file_outside_the_base(binding: WriteBinding, target: Target) -> None:
    """The tree outside the base is byte-identical after every traversal payload."""
    box = open_sandbox(binding.sandbox)
    before = box.snapshot()
    aims = goals(binding, box, new_name=binding.new_name)
    base = str(box.base)
    body: dict[str, object] = (
        {"json": {binding.json_field: binding.body}}
        if binding.json_field
        else {"content": binding.body.encode()}
    )

    with target.client(timeout=binding.timeout) as client:

        def attempt(payload: TraversalPayload) -> Hit[TraversalPayload] | None:
            response = send_once_more_on_reset(binding, client, payload, **body)
            if isinstance(response, Hit):
                return response
            violations = escapes(box, before, "outside the base: ")
            return judge(binding, payload, response, violations)

        result = probe_traversal(binding, aims, base, attempt)
    conclude_probe(NAME, result, f"{binding.call} wrote outside {base} (sandbox {box.root})")
