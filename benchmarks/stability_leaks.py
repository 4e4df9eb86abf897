"""Stability and timing of the leaks, blocking and resilience checks.

Every check runs ``--runs`` times (default 50) on a buggy and on a fixed variant, reusing one
started target per variant:

- the sample service's buggy base and fixed head wherever the sample has the bug (in-process
  checks on a ``python``/``asgi`` target, HTTP checks against uvicorn ``process`` targets);
- for ``leaks.target_process`` and ``leaks.db_connections``, which the sample never breaks, the
  fixed variant is the sample and the buggy one a small leaking service (one fd per request; a
  query object that never closes its connection), as in ``tests/packs/test_leaks_pack.py``.

Goal: every check passes on the fixed variant in 50 of 50 runs and fails on the buggy one in at
least 49 of 50. The bindings are the ones the self-tests use (check defaults, except where a
line below says otherwise).

    python benchmarks/stability_leaks.py                     # everything, 50 runs (~25 min)
    python benchmarks/stability_leaks.py --runs 5 --only blocking.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import sqlite3
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import scenarios.blocking  # noqa: E402 - registers the checks
import scenarios.leaks  # noqa: E402
import scenarios.resilience  # noqa: E402, F401
from benchmarks.stability import Case, Layout, Sample, Tally, main  # noqa: E402
from harness.leaks import StubUpstream  # noqa: E402
from harness.targets import free_port, launch  # noqa: E402
from tests.packs.standins import LEAKY_APP  # noqa: E402
from tests.packs.support import serve_app  # noqa: E402

PG_ADMIN = os.environ.get("FIXGUARD_PG_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")


#: What a variant yields: the started target, its binding, and (optionally) what to run
#: after each run.
Bound = Iterator[tuple[Any, ...]]


# --- variants ---------------------------------------------------------------------------------


@contextmanager
def settings_file(sample: Sample, rev: str) -> Bound:
    path = sample.dir("settings") / "overrides.json"
    path.write_text(json.dumps({"max_pending_tickets": 7}))
    with sample.target(rev, "shopapp.settings") as target:
        yield target, {"steps": [{"call": "load_settings_file", "args": [str(path)]}]}


@contextmanager
def upstream_client(sample: Sample, rev: str) -> Bound:
    # 10 iterations, not 50, and no allocation sites: each iteration builds an
    # httpx.AsyncClient (an SSL context, ~60 ms), which tracemalloc slows down several times.
    with StubUpstream() as stub:
        client = {
            "kind": "python",
            "factory": "shopapp.upstream:UpstreamClient",
            "kwargs": {"base_url": stub.url},
        }
        with sample.target(rev, client) as target:
            yield (
                target,
                {
                    "steps": ["startup", "http.get /items/1", "shutdown"],
                    "warmup": 2,
                    "iterations": 10,
                    "allocation_sites": False,
                },
            )


@contextmanager
def notifier(sample: Sample, rev: str) -> Bound:
    with sample.target(rev, {"kind": "python", "factory": "shopapp.notifier:Notifier"}) as target:
        yield (
            target,
            {
                "call": {"call": "notify", "args": [{"event": "x"}]},
                "close": "aclose",
                "overrides": {"sink": "scenarios.leaks.stubs:never_returns"},
            },
        )


@contextmanager
def target_process(sample: Sample, rev: str) -> Bound:
    if rev == "head":  # fixed: the sample, which closes what it opens
        with launch(sample.spec("head", sample.dir("tp"))) as target:
            yield target, {"call": "GET /stats"}
        return
    with serve_app(sample.dir("leaky"), "leaky_app", LEAKY_APP, health="/") as t:

        def reset() -> None:
            with t.client() as client:
                client.get("/reset")

        yield t, {"call": "GET /leak", "settle": 0.2}, reset


@contextmanager
def db_connections(sample: Sample, rev: str) -> Bound:
    import psycopg

    name = f"fixguard_bench_{secrets.token_hex(4)}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    dsn = PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"
    held: list[Any] = []
    try:
        if rev == "head":
            with launch(sample.spec("head", sample.dir("pg"), SHOPAPP_DB=dsn)) as target:
                yield target, {"call": "GET /stats", "dsn": dsn}
        else:

            class Forgetful:
                def ticket_count(self) -> int:
                    conn = psycopg.connect(dsn, autocommit=True)
                    held.append(conn)
                    row = conn.execute("SELECT 1").fetchone()
                    assert row is not None
                    return int(row[0])

            def close_all() -> None:
                while held:
                    held.pop().close()

            with launch({"kind": "python", "factory": Forgetful}) as target:
                yield target, {"steps": ["ticket_count"], "dsn": dsn, "settle": 0.2}, close_all
    finally:
        for conn in held:
            conn.close()
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def loop_lag(sample: Sample, rev: str) -> Bound:
    os.environ["SHOPAPP_DATA_DIR"] = str(sample.dir("asgi"))
    with sample.target(rev, {"kind": "asgi", "app": "shopapp.app:app"}) as target:
        yield (
            target,
            {
                "call": "GET /reports/summary",
                "concurrency": 8,
                "requests": 24,
                "threshold": 0.2,
                "slow": {"at": "shopapp.db:Database.query", "seconds": 0.05},
            },
        )


@contextmanager
def fast_endpoint(sample: Sample, rev: str) -> Bound:
    data = sample.dir("latency")
    with sqlite3.connect(data / "shopapp.sqlite3") as conn:
        conn.executescript((sample.tree(rev) / "migrations/001_init.sql").read_text())
        conn.executemany(
            "INSERT INTO tickets (id, user_id, used, created_at) VALUES (?, ?, ?, 0)",
            ((f"t{i}", f"u{i % 97}", i % 2) for i in range(100_000)),
        )
    conn.close()
    with launch(sample.spec(rev, data)) as target:
        yield (
            target,
            {"call": "GET /reports/summary", "in_flight": 4, "probes": 8, "threshold": 0.3},
        )


@contextmanager
def hung_upstream(sample: Sample, rev: str) -> Bound:
    upstream = f"http://127.0.0.1:{free_port()}"
    spec = sample.spec(
        rev, sample.dir("hung"), SHOPAPP_UPSTREAM_URL=upstream, SHOPAPP_PRICING_TIMEOUT="1"
    )
    with launch(spec) as target:
        yield (
            target,
            {
                "call": "GET /prices/{sku}",
                "values": {"sku": "abc"},
                "upstream": upstream,
                "bound": 3.0,
            },
        )


@contextmanager
def failed_write(sample: Sample, rev: str) -> Bound:
    upstream = f"http://127.0.0.1:{free_port()}"
    with launch(sample.spec(rev, sample.dir("patch"), SHOPAPP_UPSTREAM_URL=upstream)) as target:
        yield (
            target,
            {
                "call": "PATCH /inventory/{sku}",
                "values": {"sku": "abc"},
                "json": {"quantity": 3},
                "upstream": upstream,
            },
        )


def _inventory_sync() -> Any:
    from shopapp.inventory import InventorySync
    from shopapp.upstream import UpstreamClient

    upstream = UpstreamClient("http://catalogue.invalid")
    asyncio.run(upstream.startup())
    return InventorySync(upstream)


@contextmanager
def swallowed(sample: Sample, rev: str) -> Bound:
    with sample.target(rev, {"kind": "python", "factory": _inventory_sync}) as target:
        yield (
            target,
            {
                "call": {"call": "push_stock", "args": ["sku-1", 3]},
                "fault": {"at": "httpx:AsyncClient.send", "status": 503},
            },
        )


CASES: list[Case] = [
    (name, name, finding, variant)
    for name, finding, variant in [
        ("leaks.in_process", "settings-file-leak", settings_file),
        ("leaks.in_process", "upstream-client-close", upstream_client),
        ("leaks.tasks", "notifier-tasks", notifier),
        ("leaks.target_process", "local leaky app / sample", target_process),
        ("leaks.db_connections", "local forgetful queries / sample on PostgreSQL", db_connections),
        ("blocking.event_loop_lag", "blocking-db", loop_lag),
        ("blocking.fast_endpoint_latency", "blocking-db", fast_endpoint),
        ("resilience.hung_upstream", "upstream-timeout", hung_upstream),
        ("resilience.failed_write", "patch-unchecked", failed_write),
        ("resilience.swallowed_errors", "patch-unchecked", swallowed),
    ]
]
#: The variants are the sample's revs: "base" is the buggy one.
LAYOUT = Layout(noun="check", width=31, timing=Tally.median_max, roles=("base", "head"))


if __name__ == "__main__":
    raise SystemExit(main(None, __doc__ or "", CASES, LAYOUT))
