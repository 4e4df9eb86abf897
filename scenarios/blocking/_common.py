"""What the blocking checks share: the request template and the slow-dependency injection."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from harness.bindings import HttpCall


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
