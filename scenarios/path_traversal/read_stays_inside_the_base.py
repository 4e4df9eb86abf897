"""path_traversal.read_stays_inside_base: no payload reads a file outside the base directory."""

from __future__ import annotations

from harness.pack import Hit, Target, TraversalPayload, conclude_probe, scenario

from ._common import (
    TraversalBinding,
    curl,
    escapes,
    goals,
    judge,
    probe_traversal,
    send_once_more_on_reset,
)
from .sandbox import open_sandbox

NAME = "path_traversal.read_stays_inside_base"


class ReadBinding(TraversalBinding):
    """``call`` reads ``{name}`` from the sandbox's base, e.g. ``GET /exports/{name}``."""

    #: A legitimate file in the base that must be served: a service that refuses every name
    #: passes the traversal payloads without proving anything. None skips the control.
    control: str | None = "public.txt"


@scenario(NAME, binding=ReadBinding)
def reads_never_return_a_canary(binding: ReadBinding, target: Target) -> None:
    """No traversal payload returns a canary or changes anything outside the base."""
    box = open_sandbox(binding.sandbox)
    before = box.snapshot()
    base = str(box.base)

    with target.client(timeout=binding.timeout) as client:
        if binding.control is not None:
            expected = (box.base / binding.control).read_bytes()
            response = binding.call.send(
                client, {binding.param: binding.control}, headers=binding.headers
            )
            if response.status_code >= 300 or response.content != expected:
                raise AssertionError(
                    f"{NAME}: the legitimate file "
                    f"{binding.control!r} in {base} was not served (HTTP {response.status_code}); "
                    f"a service that refuses every name proves nothing about traversal\n"
                    f"  repro: {curl(response)}"
                )

        def attempt(payload: TraversalPayload) -> Hit[TraversalPayload] | None:
            response = send_once_more_on_reset(binding, client, payload)
            if isinstance(response, Hit):
                return response
            violations = [f"returned the canary {name}" for name in box.leaked(response.content)]
            violations += escapes(box, before, "changed files outside the base: ")
            return judge(binding, payload, response, violations)

        result = probe_traversal(binding, goals(binding, box), base, attempt)
    conclude_probe(NAME, result, f"{binding.call} reached outside {base} (sandbox {box.root})")
