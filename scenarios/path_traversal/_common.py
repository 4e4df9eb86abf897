"""What the read and write checks share: the binding, sending one payload, judging the answer."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from pydantic import ConfigDict, Field, model_validator

from harness.pack import (
    TRAVERSAL_FAMILIES,
    FindingPolicy,
    Hit,
    HttpCall,
    ProbeResult,
    StatusSet,
    TraversalPayload,
    probe,
    send_twice,
    traversal_corpus,
    traversal_payloads,
)
from harness.pack import curl as repro_command

from .sandbox import Sandbox, Snapshot


class TraversalBinding(FindingPolicy):
    """Where the payload goes (`call` with a `{param}` placeholder) and the sandbox behind it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    call: HttpCall
    param: str = "name"
    sandbox: Path
    #: Answers a payload may get without a finding. Another answer that reaches nothing outside
    #: the base is a finding, not a violation; a 5xx fails only with server_errors = "fail".
    allowed: StatusSet = frozenset(range(400, 500))
    #: The links inside the base were placed by the operator and are followed by design: an
    #: escape through them is not a violation (every other escape still is).
    trusted_symlinks: bool = False
    families: tuple[str, ...] = TRAVERSAL_FAMILIES
    #: Hypothesis examples after the corpus; 0 runs the corpus only.
    examples: int = Field(default=60, ge=0, le=10_000)
    max_extra: int = Field(default=3, ge=0, le=20)
    seed: int | None = None
    headers: dict[str, str] = Field(default_factory=dict)
    timeout: float = Field(default=10.0, gt=0)

    @model_validator(mode="after")
    def _param_in_call(self) -> TraversalBinding:
        if self.param not in self.call.placeholders:
            raise ValueError(
                f"param={self.param!r} is not a placeholder of call={str(self.call)!r} "
                f'(write e.g. call = "GET /exports/{{{self.param}}}")'
            )
        unknown = [f for f in self.families if f not in TRAVERSAL_FAMILIES]
        if unknown:
            raise ValueError(f"families: unknown {unknown} (use names from TRAVERSAL_FAMILIES)")
        return self


def send_once_more_on_reset(
    binding: TraversalBinding, client: httpx.Client, payload: TraversalPayload, **kwargs: Any
) -> httpx.Response | Hit[TraversalPayload]:
    """Send the payload; see harness.strategies.send_twice for a target that drops it."""
    request = client.build_request(
        binding.call.method,
        binding.call.render({binding.param: payload.text}),
        headers=binding.headers,
        **kwargs,
    )
    return send_twice(client, request, payload)


def curl(response: httpx.Response) -> str:
    """A command that resends the request exactly (encoded path, no dot-segment cleanup)."""
    return repro_command(response.request)


def status_problem(binding: TraversalBinding, response: httpx.Response) -> str | None:
    """What is wrong with the answer's status alone: never a violation, at most a finding."""
    code = response.status_code
    if code >= 500:
        return f"answered {code}: bad input should get a 4xx, not a server error"
    if code not in binding.allowed:
        return f"answered {code}, which is not in allowed={sorted(binding.allowed)[:3]}..."
    return None


def goals(binding: TraversalBinding, box: Sandbox, new_name: str | None = None) -> tuple[str, ...]:
    """The files the payloads aim at; through the base's own links only when they are untrusted."""
    return box.goals(new_name=new_name, through_links=not binding.trusted_symlinks)


def judge(
    binding: TraversalBinding,
    payload: TraversalPayload,
    response: httpx.Response,
    violations: list[str],
) -> Hit[TraversalPayload] | None:
    """One payload's hit: its violations; else its status as a finding; else nothing.

    A 5xx fails the check only when the binding sets server_errors = "fail"; an answer outside
    `allowed` that reached nothing outside the base is a finding either way.
    """
    code = f"HTTP {response.status_code}, "
    if violations:
        return Hit(payload, code + "; ".join(violations), curl(response))
    status = status_problem(binding, response)
    if status is None:
        return None
    if binding.server_errors == "fail" and response.status_code >= 500:
        return Hit(payload, code + status + ' (server_errors = "fail")', curl(response))
    return Hit(payload, code + status, curl(response), violation=False)


def probe_traversal(
    binding: TraversalBinding,
    aims: tuple[str, ...],
    base: str,
    attempt: Callable[[TraversalPayload], Hit[TraversalPayload] | None],
) -> ProbeResult[TraversalPayload]:
    """The corpus aimed at `aims` from `base`, then the binding's Hypothesis examples."""
    return probe(
        traversal_corpus(aims, base=base, families=binding.families),
        traversal_payloads(aims, base=base, families=binding.families, max_extra=binding.max_extra),
        attempt,
        examples=binding.examples,
        seed=binding.seed,
    )


def escapes(box: Sandbox, before: Snapshot, label: str) -> list[str]:
    """What a payload changed outside the base, as one violation; undone at once, so the next
    payload meets the tree as it was."""
    after = box.snapshot()
    if after == before:
        return []
    changes = label + "; ".join(before.changes(after))
    box.restore(before)
    return [changes]
