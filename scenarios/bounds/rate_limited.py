"""bounds.rate_limited: a burst past the limit gets 429 past the threshold, while another client
is still served."""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import urlencode

from pydantic import BaseModel, ConfigDict, Field, model_validator

from harness.pack import (
    FindingMode,
    HttpCall,
    HttpRequest,
    StatusSet,
    Target,
    curl_command,
    fail_on,
    fail_with,
    report_finding,
    scenario,
)


class RateLimitBinding(BaseModel):
    """``limit`` requests per window are allowed for one client, told apart by ``client_header``."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    call: HttpCall
    values: dict[str, str] = Field(default_factory=dict)
    params: dict[str, str] = Field(default_factory=dict)
    json_body: Any = Field(default=None, alias="json")
    headers: dict[str, str] = Field(default_factory=dict)
    #: Requests one client may make in a window.
    limit: int = Field(ge=1, le=10_000)
    #: Requests sent in the burst (default: twice the limit).
    burst: int | None = Field(default=None, ge=2)
    #: The header that names the client (each run uses fresh random ids); None: one client
    #: only, and the "others are served" part is skipped.
    client_header: str | None = "X-Client-Id"
    success: StatusSet = frozenset(range(200, 300))
    limited: StatusSet = frozenset({429})
    #: Requests past `limit` that may still pass (a limiter that counts loosely).
    slack: int = Field(default=0, ge=0)
    #: A 5xx (unless listed in `success` or `limited`) is a finding, neither served nor
    #: limited; "fail" fails the check on it too.
    server_errors: FindingMode = "report"

    @model_validator(mode="after")
    def _burst_over_limit(self) -> RateLimitBinding:
        if self.burst is not None and self.burst <= self.limit + self.slack:
            raise ValueError("burst must be larger than limit + slack")
        return self


def _send(binding: RateLimitBinding, client: Any, who: str | None) -> int:
    headers = dict(binding.headers)
    if binding.client_header is not None and who is not None:
        headers[binding.client_header] = who
    kwargs: dict[str, Any] = {"headers": headers, "params": binding.params}
    if binding.json_body is not None:
        kwargs["json"] = binding.json_body
    return int(binding.call.send(client, binding.values, **kwargs).status_code)


@scenario("bounds.rate_limited", binding=RateLimitBinding)
def burst_past_the_limit_is_refused_and_others_are_served(
    binding: RateLimitBinding, target: Target
) -> None:
    """The first `limit` requests succeed, every request past `limit + slack` is limited, and a
    second client is served in the middle of the burst."""
    burst = binding.burst or 2 * binding.limit
    greedy = f"fg-greedy-{uuid.uuid4().hex[:8]}"
    polite = f"fg-polite-{uuid.uuid4().hex[:8]}"
    codes: list[int] = []
    other: int | None = None
    with target.client() as client:
        for i in range(burst):
            codes.append(_send(binding, client, greedy))
            if i == binding.limit and binding.client_header is not None:
                other = _send(binding, client, polite)

    def server_error(code: int) -> bool:
        # A 5xx neither served the request nor limited it: it says nothing about the limit.
        return code >= 500 and code not in binding.success and code not in binding.limited

    problems = []
    early = [c for c in codes[: binding.limit] if c not in binding.success and not server_error(c)]
    if early:
        problems.append(
            f"within the limit it already answered {early} (the limit is "
            f"{binding.limit}, or the call itself fails)"
        )
    late = codes[binding.limit + binding.slack :]
    judged = [c for c in late if not server_error(c)]
    passed = [c for c in judged if c not in binding.limited]
    if passed:
        problems.append(
            f"{len(passed)} of the {len(late)} requests past the limit were not "
            f"limited (answers {sorted(set(passed))}, want {sorted(binding.limited)})"
        )
    elif not judged:
        problems.append(
            f"could not judge the limit: all {len(late)} requests past it got a "
            "server error (see the findings)"
        )
    if other is not None and other not in binding.success and not server_error(other):
        problems.append(
            f"another client sent one request during the burst and got {other}: "
            "the limit is not per client"
        )
    odd = [c for c in [*codes, *([other] if other is not None else [])] if server_error(c)]
    findings = []
    if odd:
        path = binding.call.render(binding.values)
        if binding.params:
            path += "?" + urlencode(binding.params)
        headers = dict(binding.headers)
        if binding.client_header is not None:
            headers[binding.client_header] = greedy
        repro = curl_command(
            target.base_url,
            HttpRequest(binding.call.method, path, headers=headers, json=binding.json_body),
        )
        findings.append(
            report_finding(
                "bounds.rate_limited",
                f"{len(odd)} of {len(codes) + (other is not None)} requests got a server error "
                f"({sorted(set(odd))}): not a missing limit, so they were left out of the verdict",
                repro,
            )
        )
    if problems:
        fail_with(
            f"bounds.rate_limited: {binding.call} with a burst of {burst} from one client "
            f"(limit {binding.limit}): " + "; ".join(problems) + f"\n  answers in order: {codes}",
            findings,
        )
    fail_on("bounds.rate_limited", findings, binding.server_errors)
