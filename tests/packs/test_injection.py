"""The injection pack against the sample's GET /threads/{thread_id} (SQLite and PostgreSQL)."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from harness.errors import UserError
from harness.scenario import run
from harness.strategies import SqlPayload, sql_corpus, sql_payloads
from harness.targets import launch
from scenarios.injection._seed import run_statements

CHECK = "injection.sql_payloads_leak_nothing"
SEED = (
    "INSERT INTO messages (id, tenant_id, thread_id, body) VALUES"
    " ('m1', 'tenant-a', 'thread_1', 'A-OWN-MESSAGE')",
    "INSERT INTO messages (id, tenant_id, thread_id, body) VALUES"
    " ('m2', 'tenant-b', 'thread_1', 'B-SECRET-ONE')",
    "INSERT INTO messages (id, tenant_id, thread_id, body) VALUES"
    " ('m3', 'tenant-b', 'thread_2', 'B-SECRET-TWO')",
)


def binding(dsn: str, **extra: Any) -> dict[str, Any]:
    return {
        "call": "GET /threads/{id}",
        "values": ["thread_1"],
        "headers": {"X-Tenant": "tenant-a"},
        "own": ["A-OWN-MESSAGE"],
        "foreign": ["B-SECRET-ONE", "B-SECRET-TWO"],
        "setup_sql": list(SEED),
        "dsn": dsn,
        "examples": 20,
        **extra,
    }


def run_on_sqlite(rev: str, shared_sample: Callable[[str], Any]) -> None:
    shared = shared_sample(rev)
    try:
        run(CHECK, binding(shared.sqlite_dsn), shared.target)
    finally:
        # A binding whose legitimate call shows none of the caller's rows proves nothing.
        with pytest.raises(UserError, match=r"binding.values\[0\]='thread_1'"):
            run(CHECK, binding(shared.sqlite_dsn, own=["NOT-THERE"], setup_sql=[]), shared.target)


def test_fails_on_the_buggy_base_with_a_tautology_that_reads_tenant_b(
    shared_sample: Any,
) -> None:
    with pytest.raises(AssertionError) as caught:
        run_on_sqlite("base", shared_sample)
    message = str(caught.value)
    assert "returned another tenant's rows (B-SECRET-ONE, B-SECRET-TWO)" in message
    # The minimal payload is a violation (foreign rows); a lone quote's bare 500 is listed
    # after the violations, as a finding: it is not by itself proof of injection.
    violations, findings = message.split("  findings (")
    assert re.search(
        r"minimal payload: SqlPayload\(.*family='tautology'\): returned another", violations
    )
    assert "answered 500" not in violations
    assert "SqlPayload(\"thread_1'\", family='quote-break'): answered 500" in findings


def test_passes_on_the_fixed_head(shared_sample: Any, fixed: Callable[[str], None]) -> None:
    fixed("thread-sqli")
    run_on_sqlite("head", shared_sample)


@pytest.mark.postgres
@pytest.mark.parametrize(("rev", "broken"), [("base", True), ("head", False)])
def test_on_postgresql_base_fails_and_head_passes(
    rev: str,
    broken: bool,
    tmp_path: Path,
    checkout: Any,
    sample_spec: Any,
    postgres_db: str,
    fixed: Callable[[str], None],
) -> None:
    if not broken:
        fixed("thread-sqli")
    spec = sample_spec(checkout(rev), tmp_path / "data", SHOPAPP_DB=postgres_db)
    with launch(spec) as target:
        if broken:
            with pytest.raises(AssertionError, match="returned another tenant's rows"):
                run(CHECK, binding(postgres_db), target)
        else:
            run(CHECK, binding(postgres_db), target)


def test_sql_strategies_are_values_with_pasteable_reprs() -> None:
    assert repr(sql_payloads(["t1"])) == "sql_payloads(values=['t1'])"
    assert repr(SqlPayload("x'", "quote-break")) == "SqlPayload(\"x'\", family='quote-break')"
    corpus = sql_corpus(["t1"])
    assert {p.family for p in corpus} >= {"tautology", "union", "quote-break", "stacked"}
    assert SqlPayload("t1' OR '1'='1", "tautology") in corpus
    with pytest.raises(TypeError, match="unknown"):
        sql_corpus(["t1"], families=["nope"])


def test_seed_statements_reject_an_unknown_scheme() -> None:
    with pytest.raises(UserError, match="unknown scheme"):
        run_statements("mysql://x/y", ["SELECT 1"])
