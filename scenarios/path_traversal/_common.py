"""What the read and write checks share: the binding, sending one payload, judging the answer."""

from __future__ import annotations

from pathlib import Path

import httpx
from pydantic import BaseModel, ConfigDict, Field, model_validator

from harness.bindings import HttpCall, StatusSet
from harness.strategies import TRAVERSAL_FAMILIES, TraversalPayload
from harness.strategies import curl as repro_command


class TraversalBinding(BaseModel):
    """Where the payload goes (`call` with a `{param}` placeholder) and the sandbox behind it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    call: HttpCall
    param: str = "name"
    sandbox: Path
    #: Answers a payload may get; anything else (and any 5xx) fails the check.
    allowed: StatusSet = frozenset(range(400, 500))
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
                f"(write e.g. call = \"GET /exports/{{{self.param}}}\")"
            )
        unknown = [f for f in self.families if f not in TRAVERSAL_FAMILIES]
        if unknown:
            raise ValueError(f"families: unknown {unknown} (use names from TRAVERSAL_FAMILIES)")
        return self


def send(binding: TraversalBinding, client: httpx.Client, payload: TraversalPayload,
         **kwargs: object) -> httpx.Response:
    return binding.call.send(client, {binding.param: payload.text}, headers=binding.headers,
                             **kwargs)


def send_once_more_on_reset(binding: TraversalBinding, client: httpx.Client,
                            payload: TraversalPayload, **kwargs: object) -> httpx.Response | str:
    """Send; a connection the server dropped after an earlier answer is retried once.

    Returns the problem text when the target does not answer twice in a row.
    """
    try:
        return send(binding, client, payload, **kwargs)
    except httpx.TransportError:
        pass
    try:
        return send(binding, client, payload, **kwargs)
    except httpx.TransportError as exc:
        return f"no answer twice in a row ({exc!r}): did the target crash?"


def curl(response: httpx.Response) -> str:
    """A command that resends the request exactly (encoded path, no dot-segment cleanup)."""
    return repro_command(response.request)


def status_problem(binding: TraversalBinding, response: httpx.Response) -> str | None:
    code = response.status_code
    if code >= 500:
        return f"answered {code}: bad input must get a 4xx, never a server error"
    if code not in binding.allowed:
        return f"answered {code}, which is not in allowed={sorted(binding.allowed)[:3]}..."
    return None
