"""injection.sql_payloads_leak_nothing: SQL payloads show no SQL error text and no other tenant's rows."""

from __future__ import annotations

import httpx
from pydantic import ConfigDict, Field, model_validator

from harness.pack import (
    SQL_ERROR_MARKERS,
    SQL_FAMILIES,
    FindingPolicy,
    Hit,
    HttpCall,
    SqlPayload,
    StatusSet,
    Target,
    UserError,
    conclude_probe,
    curl,
    probe,
    scenario,
    send_twice,
    sql_corpus,
    sql_payloads,
)

from ._seed import run_statements

NAME = "injection.sql_payloads_leak_nothing"


class SqlInjectionBinding(FindingPolicy):
    """``call`` looks up ``{param}`` as the caller (``headers``); other tenants' rows hold ``foreign``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    call: HttpCall
    param: str = "id"
    #: Real values the payloads follow (an id the caller owns makes tautologies bite).
    values: tuple[str, ...] = ("1",)
    #: Who the caller is, e.g. {"X-Tenant": "tenant-a"} or an Authorization header.
    headers: dict[str, str] = Field(default_factory=dict)
    #: Text found only in rows the caller must never see (another tenant's).
    foreign: tuple[str, ...] = Field(min_length=1)
    #: Text the legitimate call with values[0] returns: proves the binding reaches the data.
    own: tuple[str, ...] = ()
    #: Statements that create both tenants' rows, run on `dsn` before the payloads.
    setup_sql: tuple[str, ...] = ()
    dsn: str | None = None
    #: Answers a payload may get without a finding. A 5xx alone is a finding, not a violation
    #: (a bad id can crash a handler that binds its parameters); server_errors = "fail" makes
    #: it fail the check, for a service that hides SQL errors behind a bare 500.
    allowed: StatusSet = frozenset({*range(200, 300), *range(400, 500)})
    error_markers: tuple[str, ...] = SQL_ERROR_MARKERS
    families: tuple[str, ...] = SQL_FAMILIES
    examples: int = Field(default=60, ge=0, le=10_000)
    seed: int | None = None
    timeout: float = Field(default=10.0, gt=0)

    @model_validator(mode="after")
    def _consistent(self) -> SqlInjectionBinding:
        if self.param not in self.call.placeholders:
            raise ValueError(
                f"param={self.param!r} is not a placeholder of call={str(self.call)!r}"
            )
        if self.setup_sql and not self.dsn:
            raise ValueError("setup_sql needs a dsn (sqlite:///path or postgresql://...)")
        if not self.values:
            raise ValueError("values must name at least one real id, e.g. ['thread_1']")
        return self


def _judge(
    binding: SqlInjectionBinding, payload: SqlPayload, response: httpx.Response
) -> Hit[SqlPayload] | None:
    """SQL error text or foreign rows are violations; the status alone is at most a finding."""
    body = response.text
    lowered = body.lower()
    repro = curl(response.request)
    violations = []
    errors = [m for m in binding.error_markers if m.lower() in lowered]
    if errors:
        violations.append(f"the body shows SQL error text {errors[:3]}")
    leaked = [m for m in binding.foreign if m in body]
    if leaked:
        violations.append(f"returned another tenant's rows ({', '.join(leaked[:3])})")
    code = response.status_code
    if code >= 500:
        status = f"answered {code} (a server error)"
        if binding.server_errors == "fail":
            violations.append(status + ' (server_errors = "fail")')
    elif code not in binding.allowed:
        status = f"answered {code}, not an allowed status"
    else:
        status = ""
    if violations:
        return Hit(payload, "; ".join(violations), repro)
    return Hit(payload, status, repro, violation=False) if status else None


@scenario(NAME, binding=SqlInjectionBinding)
def sql_payloads_show_no_sql_text_and_no_foreign_rows(
    binding: SqlInjectionBinding, target: Target
) -> None:
    """No SQL payload in ``{param}`` gets SQL error text or another tenant's rows back.

    A 5xx or an answer outside `allowed` is a finding (a failure only with
    server_errors = "fail" for a 5xx).
    """
    if binding.setup_sql:
        assert binding.dsn is not None
        run_statements(binding.dsn, binding.setup_sql)

    with target.client(timeout=binding.timeout) as client:
        legit = binding.call.send(
            client, {binding.param: binding.values[0]}, headers=binding.headers
        )
        missing = [m for m in binding.own if m not in legit.text]
        if legit.status_code >= 400 or missing:
            raise UserError(
                f"binding.values[0]={binding.values[0]!r}: the legitimate call {binding.call} "
                f"answered {legit.status_code} without {missing or 'success'}; the payloads "
                "would prove nothing",
                where="binding.values",
                hint="seed the caller's rows and name a value it owns",
            )

        def attempt(payload: SqlPayload) -> Hit[SqlPayload] | None:
            request = client.build_request(
                binding.call.method,
                binding.call.render({binding.param: payload.text}),
                headers=binding.headers,
            )
            response = send_twice(client, request, payload)
            return response if isinstance(response, Hit) else _judge(binding, payload, response)

        result = probe(
            sql_corpus(binding.values, families=binding.families),
            sql_payloads(binding.values, families=binding.families),
            attempt,
            examples=binding.examples,
            seed=binding.seed,
        )
    conclude_probe(NAME, result, f"{binding.call} with {binding.param} from the payloads below")
