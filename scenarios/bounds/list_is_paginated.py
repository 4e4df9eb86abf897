"""bounds.list_is_paginated: a list endpoint over N rows answers at most its page size, and the
rows it fetches from the database stay bounded (traced in the DB driver)."""

from __future__ import annotations

import os
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from harness.bindings import HttpCall
from harness.errors import UserError
from harness.scenario import scenario
from harness.targets.base import Target
from scenarios.injection._seed import run_statements
from scenarios.invariants import dbtrace


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


def _items(body: Any, field: str | None, what: str) -> list[Any]:
    value = body.get(field) if field is not None and isinstance(body, dict) else body
    if not isinstance(value, list):
        keys = sorted(body) if isinstance(body, dict) else type(body).__name__
        raise UserError(f"binding.items_field={field!r}: {what} has no list there ({keys})",
                        where="binding.items_field")
    return value


@scenario("bounds.list_is_paginated", binding=PaginationBinding)
def list_answers_one_bounded_page(binding: PaginationBinding, target: Target) -> None:
    """At most `page_size` items come back, and at most `max_rows` rows are fetched for them."""
    trace = target.spec.env.get(dbtrace.ENV)
    if not trace or not os.path.exists(trace):
        raise UserError(
            "target: no DB trace file; the target must run under the tracer", where="target",
            hint="command = '{python} -m scenarios.invariants.dbtrace -m uvicorn app:app "
            "--port {port}' with env FIXGUARD_DBTRACE=/path/to/trace")
    if binding.setup_sql:
        if not binding.dsn:
            raise UserError("binding.setup_sql needs binding.dsn", where="binding.dsn")
        run_statements(binding.dsn, binding.setup_sql)
    offset = os.path.getsize(trace)
    with target.client(timeout=binding.timeout) as client:
        response = binding.call.send(client, binding.values, params=binding.params)
    rows, size, fetches = dbtrace.read(str(trace), offset)
    if response.status_code >= 400:
        raise AssertionError(f"bounds.list_is_paginated: {binding.call} answered "
                             f"{response.status_code}: {response.text[:200]!r}")
    items = _items(response.json(), binding.items_field, str(binding.call))
    if not items:
        raise UserError(f"binding.setup_sql: {binding.call} listed nothing; seed more than "
                        f"page_size={binding.page_size} rows first", where="binding.setup_sql")
    limit = binding.page_size + 1 if binding.max_rows is None else binding.max_rows
    problems = []
    if len(items) > binding.page_size:
        problems.append(f"answered {len(items)} items, more than the page size "
                        f"{binding.page_size}")
    if rows > limit:
        problems.append(f"fetched {rows} rows (~{size} bytes in {fetches} fetch call(s)) from the "
                        f"database, more than {limit}")
    if problems:
        raise AssertionError(
            f"bounds.list_is_paginated: {binding.call} is not paginated: " + "; ".join(problems)
            + ". Page in the query (LIMIT with a cursor or offset), not after fetching.")
