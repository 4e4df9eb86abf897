"""invariants.count_fetches_no_rows: a count endpoint lets the database count, it does not fetch rows."""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import Field

from harness.pack import FindingPolicy, HttpCall, Target, curl, fail_on, report_finding, scenario

from . import dbtrace
from ._traced import seed_rows, trace_file

CHECK = "invariants.count_fetches_no_rows"


class CountBinding(FindingPolicy):
    """``call`` answers a count; the target runs under ``python -m scenarios.invariants.dbtrace``."""

    call: HttpCall
    #: The trace file: the target's FIXGUARD_DBTRACE (read from its env when omitted).
    trace: Path | None = None
    #: Statements that add `rows` rows to count, run on `dsn` before the call.
    setup_sql: tuple[str, ...] = ()
    dsn: str | None = None
    #: How many rows the count should report after setup (checked when `field` is set).
    rows: int | None = Field(default=None, ge=0)
    field: str | None = None
    #: Most rows the call may fetch from the database: a count is one row.
    max_rows: int = Field(default=1, ge=0)
    timeout: float = Field(default=10.0, gt=0)


@scenario("invariants.count_fetches_no_rows", binding=CountBinding)
def counting_fetches_at_most_max_rows_from_the_database(
    binding: CountBinding, target: Target
) -> None:
    """Rows fetched by the call, traced in the DB driver, stay within ``max_rows``."""
    given = binding.trace or target.spec.env.get(dbtrace.ENV)
    trace = trace_file(given, f"binding.trace={str(given)!r}: no trace file", "binding.trace")
    seed_rows(binding.setup_sql, binding.dsn)
    offset = os.path.getsize(trace)
    with target.client(timeout=binding.timeout) as client:
        response = binding.call.send(client)
    rows, size, fetches = dbtrace.read(trace, offset)
    repro = curl(response.request)
    # The rows fetched are the sentence: judged first, whatever the call answered.
    if rows > binding.max_rows:
        raise AssertionError(
            f"{CHECK}: {binding.call} fetched {rows} rows "
            f"(~{size} bytes in {fetches} fetch call(s)) from the database to answer a count; "
            f"at most {binding.max_rows} allowed. Let the database count (SELECT count(*))."
            + (
                f"\n  finding: it answered {response.status_code}"
                if response.status_code >= 500
                else ""
            )
            + f"\n  repro: {repro}"
        )
    if response.status_code >= 500:
        # It fetched no more than a count, then failed: reported apart, with no count to check.
        finding = report_finding(
            CHECK,
            f"{binding.call} answered {response.status_code} "
            f"(after fetching {rows} row(s)): {response.text[:160]!r}",
            repro,
        )
        fail_on(CHECK, [finding], binding.server_errors)
        return
    if response.status_code >= 400:
        raise AssertionError(
            f"{CHECK}: {binding.call} answered {response.status_code}; the bound call must "
            f"answer a count for the check to mean anything\n  repro: {repro}"
        )
    if binding.field is not None and binding.rows is not None:
        got = response.json().get(binding.field)
        if got != binding.rows:
            raise AssertionError(
                f"{CHECK}: {binding.call} reported "
                f"{binding.field}={got!r}, expected {binding.rows}\n  repro: {repro}"
            )
