"""The invariants pack: ledger windows (in process), /stats row fetches (uvicorn + tracer), bounds."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from harness.errors import UserError
from harness.scenario import run
from harness.targets import launch
from scenarios.invariants import dbtrace
from tests.packs.support import failure, findings_apart, serve_app

LEDGER = {"aggregate": "total_in_window", "entry": "Entry", "examples": 30}


def test_window_aggregation_fails_on_the_buggy_base(sample_target: Any) -> None:
    with sample_target("base", "shopapp.ledger") as target:
        message = failure("invariants.window_aggregation", LEDGER, target)
    assert "breaks 1 of 3 properties" in message
    assert "mixed currencies inside the window must raise: returned" in message
    assert "instead of raising: it added different currencies" in message


def test_window_aggregation_passes_on_the_fixed_head(
    sample_target: Any, fixed: Callable[[str], None]
) -> None:
    fixed("ledger-currency")
    with sample_target("head", "shopapp.ledger") as target:
        run("invariants.window_aggregation", LEDGER, target)


def test_window_aggregation_catches_a_fix_that_also_refuses_currencies_outside_the_window(
    sample_target: Any,
) -> None:
    # An over-eager fix (checks every entry, not the window) breaks the second property.
    with sample_target("base", "shopapp.ledger") as target:
        ledger = target.obj
        original = ledger.total_in_window

        def over_eager(entries: list[Any], start: float, end: float) -> Any:
            if len({e.currency for e in entries}) > 1:
                raise ValueError("mixed")
            return original(entries, start, end)

        ledger.total_in_window = over_eager
        with pytest.raises(
            AssertionError, match="only outside the window must not raise: raised ValueError"
        ):
            run("invariants.window_aggregation", LEDGER, target)


# --- /stats, traced in the database driver ----------------------------------------------------

TICKETS = 300
SEED_TICKETS = (
    "INSERT INTO tickets (id, user_id, used, created_at) "
    f"WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {TICKETS}) "
    "SELECT 'fg-' || i, 'user', 0, 0 FROM n",
)


def run_stats(rev: str, shared_sample: Callable[[str], Any], tmp_path: Path) -> None:
    shared = shared_sample(rev)
    binding = {
        "call": "GET /stats",
        "setup_sql": list(SEED_TICKETS),
        "dsn": shared.sqlite_dsn,
        "field": "tickets",
        "rows": TICKETS,
    }
    with pytest.raises(UserError, match="must run under the tracer"):
        run(
            "invariants.count_fetches_no_rows", {**binding, "trace": tmp_path / "no"}, shared.target
        )
    run("invariants.count_fetches_no_rows", binding, shared.target)


def test_count_fails_on_the_buggy_base_that_fetches_every_ticket(
    shared_sample: Any, tmp_path: Path
) -> None:
    with pytest.raises(AssertionError, match=f"GET /stats fetched {TICKETS} rows"):
        run_stats("base", shared_sample, tmp_path)


def test_count_passes_on_the_fixed_head(
    shared_sample: Any, tmp_path: Path, fixed: Callable[[str], None]
) -> None:
    fixed("stats-count")
    run_stats("head", shared_sample, tmp_path)


@pytest.mark.postgres
def test_tracer_counts_psycopg_fetches_too(postgres_db: str, tmp_path: Path) -> None:
    import subprocess
    import sys

    trace = tmp_path / "trace.log"
    code = (
        "import psycopg, sys\n"
        "from scenarios.invariants import dbtrace\n"
        "dbtrace.install(sys.argv[1])\n"
        "with psycopg.connect(sys.argv[2]) as c:\n"
        "    c.execute('SELECT generate_series(1, 25)').fetchall()\n"
        "    c.execute('SELECT 1').fetchone()\n"
    )
    subprocess.run(
        [sys.executable, "-c", code, str(trace), postgres_db],
        check=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    rows, size, calls = dbtrace.read(str(trace))
    assert (rows, calls) == (26, 2) and size > 0


# --- config bounds: the sample's ReplayGuard takes any window; LRUCache refuses 0 ----------------


def test_config_bounds_fail_when_a_zero_window_is_accepted(sample_target: Any) -> None:
    binding = {"factory": "ReplayGuard", "fields": ["window", "max_entries"]}
    with sample_target("head", "shopapp.webhooks") as target:
        message = failure("invariants.config_bounds", binding, target)
    assert "ReplayGuard(window=0) was accepted" in message
    assert "ReplayGuard(max_entries=0) was accepted" in message


def test_config_bounds_pass_when_construction_validates(sample_target: Any) -> None:
    with sample_target("head", "shopapp.cache") as target:
        run("invariants.config_bounds", {"factory": "LRUCache", "fields": ["max_size"]}, target)


def test_config_bounds_need_a_valid_construction_first(sample_target: Any) -> None:
    with sample_target("head", "shopapp.tickets") as target:
        with pytest.raises(AssertionError, match="the valid construction must work first"):
            run(
                "invariants.config_bounds",
                {"factory": "TicketStore", "fields": ["max_pending"]},
                target,
            )
        with pytest.raises(UserError, match="has no attribute 'Nope'"):
            run("invariants.config_bounds", {"factory": "Nope", "fields": ["x"]}, target)


# --- precision: a crash where a refusal belongs is a finding, not an acceptance ------------------


class _Pool:
    """Refuses a bad size, but by crashing (a division), not with ValueError."""

    def __init__(self, size: int = 4) -> None:
        self.per_slot = 1 // size if size > 0 else 1 // 0  # ZeroDivisionError for 0 and below


def _crashing_ledger() -> Any:
    from decimal import Decimal
    from types import SimpleNamespace

    def entry(amount: Decimal, currency: str, at: float) -> Any:
        return SimpleNamespace(amount=amount, currency=currency, at=at)

    def total_in_window(entries: list[Any], start: float, end: float) -> Any:
        inside = [e for e in entries if start <= e.at < end]
        currencies = {e.currency for e in inside}
        if len(currencies) > 1:
            raise KeyError(f"no rate table for {sorted(currencies)}")  # refused, by crashing
        return sum((e.amount for e in inside), Decimal(0)), next(iter(currencies), None)

    return SimpleNamespace(Entry=entry, total_in_window=total_in_window, Pool=_Pool)


def test_config_bounds_report_a_crash_apart_from_an_acceptance() -> None:
    binding = {"factory": "Pool", "fields": ["size"]}
    with launch({"kind": "python", "factory": _crashing_ledger}) as target:
        seen = findings_apart("invariants.config_bounds", binding, target)
    assert [f.problem for f in seen] == [
        "Pool(size=0) raised ZeroDivisionError: integer division or modulo by zero, not one "
        "of ['ValueError', 'TypeError']"
    ]
    assert seen[0].repro == "Pool(size=0)"


def test_window_aggregation_reports_a_crash_on_mixed_currencies_apart() -> None:
    with launch({"kind": "python", "factory": _crashing_ledger}) as target:
        seen = findings_apart("invariants.window_aggregation", LEDGER, target)
    assert len(seen) == 1 and seen[0].problem.startswith(
        "mixed currencies inside the window raised KeyError: "
    ), seen


COUNT_APP = """
import sqlite3, sys

from fastapi import FastAPI, HTTPException

app = FastAPI()
DB = sys.argv[0] and __import__("os").environ["COUNT_DB"]

@app.get("/healthz")
def healthz():
    return {"status": "ok"}

@app.get("/stats")
def stats():
    with sqlite3.connect(DB) as conn:
        (count,) = conn.execute("SELECT count(*) FROM tickets").fetchone()
    raise HTTPException(503, f"the cache of {count} tickets is warming up")
"""


def test_count_reports_a_5xx_apart_when_the_count_fetched_one_row(tmp_path: Path) -> None:
    import sqlite3

    db, trace = tmp_path / "count.sqlite3", tmp_path / "trace.log"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE tickets (id TEXT)")
        conn.executemany("INSERT INTO tickets VALUES (?)", [(f"t{i}",) for i in range(50)])
    conn.close()
    binding = {"call": "GET /stats", "field": "tickets", "rows": 50}
    with serve_app(
        tmp_path, "count_app", COUNT_APP, env={"COUNT_DB": str(db)}, trace=trace
    ) as target:
        seen = findings_apart("invariants.count_fetches_no_rows", binding, target)
    assert [f.problem.split(":")[0] for f in seen] == [
        "GET /stats answered 503 (after fetching 1 row(s))"
    ]
