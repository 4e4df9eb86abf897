"""The blocking pack: the sample's sync DB call in `GET /reports/summary` (finding blocking-db)
stalls the event loop on the buggy base and not on the fixed head, measured in-process (loop
lag) and over HTTP against uvicorn (a fast endpoint's latency while summaries are in flight).
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from harness.blocking import LoopLagMeter, percentile
from harness.errors import UserError
from harness.scenario import run
from harness.targets import launch
from tests.packs.support import failure, findings_apart

Checkout = Callable[[str], Path]
MIGRATIONS = "migrations/001_init.sql"

#: In-process: every DB query takes 50 ms (a loaded database), 8 summaries at a time. On the
#: base the heartbeat waits for whole queries (p95 ~ 400-600 ms on 2 busy cores); on the head
#: it stays under ~30 ms. The threshold sits between, with room on both sides.
LAG_BINDING = {
    "call": "GET /reports/summary",
    "concurrency": 8,
    "requests": 24,
    "threshold": 0.2,
    "slow": {"at": "shopapp.db:Database.query", "seconds": 0.05},
}
#: Over HTTP: 4 summaries kept in flight over 100 000 tickets (~0.1-0.2 s per query). Measured
#: on 2 busy cores, 15 runs each: base p50 620-1500 ms, head under 300 ms in every run (with
#: 40 000 tickets the base passed 4 runs in 50: the queries were too short to queue behind).
LATENCY_BINDING = {
    "call": "GET /reports/summary",
    "fast": {"call": "GET /healthz"},
    "in_flight": 4,
    "probes": 8,
    "threshold": 0.3,
}
TICKETS = (
    250_000  # the summary must block the loop well past the threshold, even on a loaded CI box
)


def _lag_check(sample_app: Any, rev: str) -> None:
    with sample_app(rev) as target:
        run("blocking.event_loop_lag", LAG_BINDING, target)


@pytest.mark.timeout(60)
def test_loop_lag_fails_on_base_at_the_sync_query(
    sample_app: Any,
) -> None:
    started = time.perf_counter()
    with pytest.raises(AssertionError) as caught:
        _lag_check(sample_app, "base")
    message = str(caught.value)
    assert message.startswith("blocking.event_loop_lag: the event loop stalled: lag p95 ")
    assert (
        "while 8 × GET /reports/summary ran at once with shopapp.db:Database.query slowed "
        "by 50 ms per call: a synchronous call is running on the event loop thread"
    ) in message
    assert "shopapp/reports.py:15 build_summary (rows = db.query(" in message
    assert time.perf_counter() - started < 30


@pytest.mark.timeout(60)
def test_loop_lag_passes_on_the_fixed_head(sample_app: Any, fixed: Callable[[str], None]) -> None:
    fixed("blocking-db")
    _lag_check(sample_app, "head")


def test_loop_lag_needs_an_in_process_app(sample_target: Any) -> None:
    with sample_target("base", {"kind": "python", "factory": "shopapp.notifier:Notifier"}) as t:
        with pytest.raises(
            UserError, match=r"blocking\.event_loop_lag measures the loop of an in-process app"
        ):
            run("blocking.event_loop_lag", LAG_BINDING, t)


def _seed(tree: Path, data: Path) -> None:
    """The sample's own schema, with enough tickets that the summary query takes a while."""
    data.mkdir(parents=True)
    with sqlite3.connect(data / "shopapp.sqlite3") as conn:
        conn.executescript((tree / MIGRATIONS).read_text())
        conn.executemany(
            "INSERT INTO tickets (id, user_id, used, created_at) VALUES (?, ?, ?, 0)",
            ((f"t{i}", f"u{i % 97}", i % 2) for i in range(TICKETS)),
        )
    conn.close()


def _latency_check(tree: Path, data: Path, sample_spec: Any) -> None:
    _seed(tree, data)
    with launch(sample_spec(tree, data)) as target:
        run("blocking.fast_endpoint_latency", LATENCY_BINDING, target)


@pytest.mark.timeout(90)
def test_fast_endpoint_is_slow_on_base_while_summaries_run(
    checkout: Checkout, sample_spec: Any, tmp_path: Path
) -> None:
    with pytest.raises(AssertionError) as caught:
        _latency_check(checkout("base"), tmp_path / "data", sample_spec)
    message = str(caught.value)
    assert message.startswith("blocking.fast_endpoint_latency: GET /healthz took p50 ")
    assert (
        "while 4 × GET /reports/summary were in flight: the slow handler blocks the "
        "server's event loop"
    ) in message
    assert "over 8 probes" in message


@pytest.mark.timeout(90)
def test_fast_endpoint_stays_fast_on_the_fixed_head(
    checkout: Checkout, sample_spec: Any, tmp_path: Path, fixed: Callable[[str], None]
) -> None:
    fixed("blocking-db")
    _latency_check(checkout("head"), tmp_path / "data", sample_spec)


@pytest.mark.timeout(30)
def test_lag_meter_sees_a_blocking_sleep_and_names_its_line() -> None:
    import asyncio

    async def main() -> Any:
        meter = LoopLagMeter(asyncio.get_running_loop(), threshold=0.05).start()
        await asyncio.sleep(0.05)
        time.sleep(0.5)  # blocks the loop; long enough for a starved watchdog to look
        await asyncio.sleep(0.05)
        return await meter.astop()

    report = asyncio.run(main())
    assert report.stat("max") > 0.45, report.describe()
    places = [s.frames[-1] for s in report.top_stalls() if s.frames]
    assert any("test_blocking_pack.py" in p and "time.sleep(0.5)" in p for p in places), places


def test_percentiles() -> None:
    values = [0.01 * i for i in range(1, 101)]
    assert percentile(values, "p50") == pytest.approx(0.5, abs=0.011)
    assert percentile(values, "p95") == pytest.approx(0.95, abs=0.011)
    assert percentile(values, "max") == 1.0
    assert percentile([], "max") == 0.0


# --- precision: a failing request is not lag -----------------------------------------------------


def _flaky_app(block: bool = False) -> Any:
    """Every other /work answers 500; with `block` each one also sleeps on the loop thread."""
    import asyncio

    from fastapi import FastAPI, HTTPException

    app = FastAPI()
    calls = {"n": 0}

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/work")
    async def work() -> dict[str, int]:
        calls["n"] += 1
        n = calls["n"]
        if block:
            time.sleep(0.3)  # the bug class: a sync call on the event loop thread
        else:
            await asyncio.sleep(0.05)
        if n % 2:
            raise HTTPException(500, "the store is down")
        return {"n": n}

    return app


FLAKY_LAG = {"call": "GET /work", "concurrency": 4, "requests": 8, "threshold": 0.15}


@pytest.mark.timeout(60)
def test_loop_lag_reports_5xx_apart_and_fails_on_them_only_when_asked() -> None:
    with launch({"kind": "asgi", "factory": _flaky_app}) as target:
        seen = findings_apart("blocking.event_loop_lag", FLAKY_LAG, target)
    assert [f.problem for f in seen] == [
        "0 transport error(s) and 4 5xx answer(s) among 8 × GET /work under load"
    ]


@pytest.mark.timeout(60)
def test_loop_lag_leads_with_the_stall_when_a_blocking_app_also_fails() -> None:
    with launch({"kind": "asgi", "factory": lambda: _flaky_app(block=True)}) as target:
        message = failure("blocking.event_loop_lag", FLAKY_LAG, target)
    assert message.startswith("blocking.event_loop_lag: the event loop stalled: lag p95 ")
    assert "  finding: 0 transport error(s) and 4 5xx answer(s)" in message


FLAKY_LATENCY = {"call": "GET /work", "in_flight": 2, "probes": 6, "threshold": 0.2}


@pytest.mark.timeout(60)
def test_fast_endpoint_reports_a_failing_slow_call_apart() -> None:
    with launch({"kind": "asgi", "factory": _flaky_app}) as target:
        seen = findings_apart("blocking.fast_endpoint_latency", FLAKY_LATENCY, target)
    assert seen and all(f.problem == "GET /work answered 500" for f in seen), seen
    assert seen[0].repro.startswith("curl -s -X GET ") and seen[0].repro.endswith("/work")


@pytest.mark.timeout(60)
def test_fast_endpoint_with_no_slow_call_succeeding_proves_nothing() -> None:
    def broken() -> Any:
        from fastapi import FastAPI, HTTPException

        app = FastAPI()

        @app.get("/healthz")
        async def healthz() -> dict[str, str]:
            return {"status": "ok"}

        @app.get("/work")
        async def work() -> None:
            raise HTTPException(503, "down")

        return app

    with launch({"kind": "asgi", "factory": broken}) as target:
        with pytest.raises(
            AssertionError,
            match=r"the probe proves nothing: no GET /work "
            r"succeeded",
        ):
            run("blocking.fast_endpoint_latency", FLAKY_LATENCY, target)
