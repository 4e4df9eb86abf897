"""authz.query_tokens_rejected: a credential in the query string is refused, in a header accepted."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from harness.bindings import HttpCall, StatusSet
from harness.scenario import scenario
from harness.targets.base import Target


class QueryTokenBinding(BaseModel):
    """``call`` needs credentials; ``token`` is valid. Query parameters must not carry it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    call: HttpCall
    token: str = Field(min_length=1)
    header: str = "Authorization"
    scheme: str = "Bearer"
    params: tuple[str, ...] = ("token", "access_token", "jwt", "auth", "api_key")
    success: StatusSet = frozenset(range(200, 300))
    rejected: StatusSet = frozenset({400, 401, 403})
    timeout: float = Field(default=10.0, gt=0)


@scenario("authz.query_tokens_rejected", binding=QueryTokenBinding)
def tokens_in_the_query_string_are_rejected(binding: QueryTokenBinding, target: Target) -> None:
    """The token in the header succeeds; the same token as ``?token=`` (any name) is rejected.

    Query strings end up in access logs, proxies and browser history (seeds/001, websockets.py).
    """
    value = f"{binding.scheme} {binding.token}".strip()
    path = binding.call.path
    with target.client(timeout=binding.timeout) as client:
        ok = client.request(binding.call.method, path, headers={binding.header: value})
        if ok.status_code not in binding.success:
            raise AssertionError(
                f"authz.query_tokens_rejected: {binding.call} with the token in "
                f"{binding.header} answered {ok.status_code}; the binding's token must work "
                "in the header for the check to mean anything")
        anonymous = client.request(binding.call.method, path)
        if anonymous.status_code not in binding.rejected:
            raise AssertionError(
                f"authz.query_tokens_rejected: {binding.call} without any credential answered "
                f"{anonymous.status_code}, not one of {sorted(binding.rejected)}")
        accepted = []
        for name in binding.params:
            for sent in (binding.token, value):
                answer = client.request(binding.call.method, path, params={name: sent})
                if answer.status_code not in binding.rejected:
                    accepted.append(f"?{name}={sent!r} -> {answer.status_code}")
    if accepted:
        raise AssertionError(
            f"authz.query_tokens_rejected: {binding.call} accepts a token in the query string, "
            "where logs and proxies keep it\n  " + "\n  ".join(accepted))
