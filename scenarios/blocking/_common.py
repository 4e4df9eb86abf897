"""What the blocking checks share: the request template and the slow-dependency injection."""

from __future__ import annotations

import json
import shlex
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from harness.pack import HttpCall


class Slowdown(BaseModel):
    """Make one sync dependency slow: ``at`` sleeps ``seconds`` (blocking) before each call."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    at: str
    seconds: float = Field(default=0.05, gt=0, le=10)


class Request(BaseModel):
    """One HTTP request: ``call`` plus path values, JSON body and headers."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    call: HttpCall
    values: dict[str, str] = Field(default_factory=dict)
    json_body: Any = Field(default=None, alias="json")
    headers: dict[str, str] = Field(default_factory=dict)

    def kwargs(self) -> dict[str, Any]:
        out: dict[str, Any] = {"headers": self.headers}
        if self.json_body is not None:
            out["json"] = self.json_body
        return out


def describe_call(request: Request, base_url: str) -> str:
    """A curl line for `request` against `base_url` (the repro of a finding)."""
    words = ["curl", "-s", "-X", request.call.method]
    for name, value in request.headers.items():
        words += ["-H", f"{name}: {value}"]
    if request.json_body is not None:
        words += [
            "-H",
            "content-type: application/json",
            "--data-binary",
            json.dumps(request.json_body),
        ]
    return " ".join(
        shlex.quote(w) for w in [*words, base_url.rstrip("/") + request.call.render(request.values)]
    )
