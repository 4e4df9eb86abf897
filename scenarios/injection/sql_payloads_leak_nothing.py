"""injection.sql_payloads_leak_nothing: SQL payloads get no 5xx, no SQL error, no other tenant's rows."""

from __future__ import annotations

import httpx
from pydantic import BaseModel, ConfigDict, Field, model_validator

from harness.bindings import HttpCall, StatusSet
from harness.errors import UserError
from harness.scenario import scenario
from harness.strategies import (
    SQL_ERROR_MARKERS,
    SQL_FAMILIES,
    Finding,
    SqlPayload,
    curl,
    describe,
    probe,
    sql_corpus,
    sql_payloads,
)
from harness.targets.base import Target

from ._seed import run_statements


class SqlInjectionBinding(BaseModel):
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


def _problems(binding: SqlInjectionBinding, response: httpx.Response) -> list[str]:
    body = response.text
    lowered = body.lower()
    found = []
    if response.status_code >= 500:
        found.append(f"answered {response.status_code} (a server error)")
    elif response.status_code not in binding.allowed:
        found.append(f"answered {response.status_code}, not an allowed status")
    errors = [m for m in binding.error_markers if m.lower() in lowered]
    if errors:
        found.append(f"the body shows SQL error text {errors[:3]}")
    leaked = [m for m in binding.foreign if m in body]
    if leaked:
        found.append(f"returned another tenant's rows ({', '.join(leaked[:3])})")
    return found


@scenario("injection.sql_payloads_leak_nothing", binding=SqlInjectionBinding)
def sql_payloads_get_no_server_error_no_sql_text_and_no_foreign_rows(
    binding: SqlInjectionBinding, target: Target
) -> None:
    """Every SQL payload in ``{param}`` gets a 2xx/4xx without SQL error text or foreign rows."""
    if binding.setup_sql:
        assert binding.dsn is not None
        run_statements(binding.dsn, binding.setup_sql)

    with target.client(timeout=binding.timeout) as client:
        legit = binding.call.send(client, {binding.param: binding.values[0]},
                                  headers=binding.headers)
        missing = [m for m in binding.own if m not in legit.text]
        if legit.status_code >= 400 or missing:
            raise UserError(
                f"binding.values[0]={binding.values[0]!r}: the legitimate call {binding.call} "
                f"answered {legit.status_code} without {missing or 'success'}; the payloads "
                "would prove nothing",
                where="binding.values",
                hint="seed the caller's rows and name a value it owns",
            )

        def _send(payload: SqlPayload) -> httpx.Response:
            return binding.call.send(client, {binding.param: payload.text},
                                     headers=binding.headers)

        def attempt(payload: SqlPayload) -> Finding[SqlPayload] | None:
            try:
                response = _send(payload)
            except httpx.TransportError:
                try:  # the server may drop a kept-alive connection after a 500: once more
                    response = _send(payload)
                except httpx.TransportError as exc:
                    return Finding(payload, f"no answer twice in a row ({exc!r})")
            problems = _problems(binding, response)
            if not problems:
                return None
            return Finding(payload, "; ".join(problems), curl(response.request))

        result = probe(
            sql_corpus(binding.values, families=binding.families),
            sql_payloads(binding.values, families=binding.families),
            attempt, examples=binding.examples, seed=binding.seed,
        )
    if not result.ok:
        raise AssertionError(
            f"injection.sql_payloads_leak_nothing: {binding.call} with {binding.param} from "
            f"the payloads below\n{describe(result)}"
        )
