"""bounds.list_is_paginated: a list endpoint over N rows answers at most its page size, and the
rows it fetches from the database stay bounded (traced in the DB driver)."""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import urlencode

import httpx
from pydantic import BaseModel, ConfigDict, Field

from harness.pack import (
    FindingMode,
    HttpCall,
    HttpRequest,
    Target,
    UserError,
    curl_command,
    fail_on,
    report_finding,
    scenario,
)
from scenarios.invariants import dbtrace
from scenarios.invariants._traced import seed_rows, trace_file


class PaginationBinding(BaseModel):
    """``call`` lists rows; the target runs under ``python -m scenarios.invariants.dbtrace``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    call: HttpCall
    values: dict[str, str] = Field(default_factory=dict)
    #: The largest page the endpoint may answer (its default page size, or the cap).
    page_size: int = Field(ge=1)
    #: JSON key of the answer holding the list; None: the answer is the list.
    items_field: str | None = "items"
    #: Statements that add rows (more than `page_size`), run on `dsn` before the call.
    setup_sql: tuple[str, ...] = ()
    dsn: str | None = None
    #: Most rows the call may fetch from the database (default: page_size + 1, a peek ahead).
    max_rows: int | None = Field(default=None, ge=0)
    #: Query parameters of the call, e.g. {limit = "100000"} to ask for more than the cap.
    params: dict[str, str] = Field(default_factory=dict)
    timeout: float = Field(default=10.0, gt=0)
    #: A 5xx is reported as a finding (and the fetched rows still judged); "fail" fails the
    #: check on it even when the rows were bounded.
    server_errors: FindingMode = "report"


def _items(body: Any, field: str | None, what: str) -> list[Any]:
    value = body.get(field) if field is not None and isinstance(body, dict) else body
    if not isinstance(value, list):
        keys = sorted(body) if isinstance(body, dict) else type(body).__name__
        raise UserError(
            f"binding.items_field={field!r}: {what} has no list there ({keys})",
            where="binding.items_field",
        )
    return value


@scenario("bounds.list_is_paginated", binding=PaginationBinding)
def list_answers_one_bounded_page(binding: PaginationBinding, target: Target) -> None:
    """At most `page_size` items come back, and at most `max_rows` rows are fetched for them."""
    trace = trace_file(target.spec.env.get(dbtrace.ENV), "target: no DB trace file", "target")
    seed_rows(binding.setup_sql, binding.dsn)
    limit = binding.page_size + 1 if binding.max_rows is None else binding.max_rows
    response, rows, too_many = _call(binding, target, trace, binding.params, limit)
    if response.status_code >= 500:
        path = binding.call.render(binding.values)
        if binding.params:
            path += "?" + urlencode(binding.params)
        finding = report_finding(
            "bounds.list_is_paginated",
            f"{binding.call} answered {response.status_code}: {response.text[:160]!r}",
            curl_command(target.base_url, HttpRequest(binding.call.method, path)),
        )
        # Fetching every row and then failing (a timeout serialising them) is still this
        # check's bug, and is judged first.
        if rows > limit:
            raise AssertionError(
                f"bounds.list_is_paginated: {binding.call} is not paginated: {too_many}, and "
                f"then answered {response.status_code}. Page in the query (LIMIT with a cursor "
                f"or offset), not after fetching.\n  finding: {finding.problem}"
            )
        fail_on("bounds.list_is_paginated", [finding], binding.server_errors)
    if 400 <= response.status_code < 500 and binding.params and rows <= limit:
        # Refusing an oversized ask (limit=100000 -> 422) keeps the list bounded: judge the
        # call without the params instead, so that a service refusing everything still fails.
        response, rows, too_many = _call(binding, target, trace, {}, limit)
    if response.status_code >= 400:  # no list to judge: never a pass
        raise AssertionError(
            f"bounds.list_is_paginated: {binding.call} answered "
            f"{response.status_code}: {response.text[:200]!r}"
        )
    items = _items(response.json(), binding.items_field, str(binding.call))
    if not items:
        raise UserError(
            f"binding.setup_sql: {binding.call} listed nothing; seed more than "
            f"page_size={binding.page_size} rows first",
            where="binding.setup_sql",
        )
    problems = []
    if len(items) > binding.page_size:
        problems.append(f"answered {len(items)} items, more than the page size {binding.page_size}")
    if rows > limit:
        problems.append(too_many)
    if problems:
        raise AssertionError(
            f"bounds.list_is_paginated: {binding.call} is not paginated: "
            + "; ".join(problems)
            + ". Page in the query (LIMIT with a cursor or offset), not after fetching."
        )


def _call(
    binding: PaginationBinding, target: Target, trace: str, params: dict[str, str], limit: int
) -> tuple[httpx.Response, int, str]:
    """Send the call; its answer, the rows it fetched, and how to say they were too many."""
    offset = os.path.getsize(trace)
    with target.client(timeout=binding.timeout) as client:
        response = binding.call.send(client, binding.values, params=params)
    rows, size, fetches = dbtrace.read(trace, offset)
    too_many = (
        f"fetched {rows} rows (~{size} bytes in {fetches} fetch call(s)) from the "
        f"database, more than {limit}"
    )
    return response, rows, too_many
