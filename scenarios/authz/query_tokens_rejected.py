"""authz.query_tokens_rejected: a credential in the query string is refused, in a header accepted."""

from __future__ import annotations

from pydantic import Field

from harness.pack import (
    FindingPolicy,
    HttpCall,
    StatusSet,
    Target,
    collect,
    conclude,
    curl,
    report_finding,
    scenario,
)

from ._http import request

CHECK = "authz.query_tokens_rejected"


class QueryTokenBinding(FindingPolicy):
    """``call`` needs credentials; ``token`` is valid. Query parameters must not carry it."""

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
    accepted: list[str] = []
    with collect() as findings, target.client(timeout=binding.timeout) as client:
        ok = request(client, binding.call.method, path, headers={binding.header: value})
        if ok.status_code not in binding.success:
            raise AssertionError(
                f"{CHECK}: {binding.call} with the token in "
                f"{binding.header} answered {ok.status_code}; the binding's token must work "
                "in the header for the check to mean anything"
            )
        anonymous = request(client, binding.call.method, path)
        if anonymous.status_code >= 500:
            # Not served either: the route needs credentials, it just fails badly without.
            report_finding(
                CHECK,
                f"{binding.call} without any credential answered {anonymous.status_code}",
                curl(anonymous.request),
            )
        elif anonymous.status_code not in binding.rejected:
            raise AssertionError(
                f"{CHECK}: {binding.call} without any credential answered "
                f"{anonymous.status_code}, not one of {sorted(binding.rejected)}"
            )
        for name in binding.params:
            for sent in (binding.token, value):
                answer = request(client, binding.call.method, path, params={name: sent})
                shown = f"?{name}={sent!r} -> {answer.status_code}"
                if answer.status_code in binding.success:
                    accepted.append(f"{shown}\n    repro: {curl(answer.request)}")
                elif answer.status_code not in binding.rejected:
                    # Not served, so not accepted; but neither the refusal the binding names.
                    report_finding(
                        CHECK,
                        f"{binding.call} {shown}, neither a success nor one "
                        f"of {sorted(binding.rejected)}",
                        curl(answer.request),
                    )
    conclude(
        CHECK,
        f"{binding.call} accepts a token in the query string, where logs and proxies keep it",
        accepted,
        findings,
        binding.server_errors,
    )
