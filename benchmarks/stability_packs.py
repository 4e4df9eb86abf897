"""Stability and timing of the path_traversal, injection, authz, invariants and files checks.

Every check runs ``--runs`` times (default 50) on a buggy and on a fixed variant, reusing one
started target per variant:

- the sample service's buggy base and fixed (corrected) head wherever the sample has the bug:
  HTTP checks against uvicorn ``process`` targets, in-process checks on a ``python`` target
  whose object is the sample module;
- ``path_traversal.read (prefix fix)``: the sample's first, incomplete export fix (prefix check
  without a separator) must keep failing; its "fixed" column is the corrected head;
- where the sample has no such code (a write endpoint, token auth, RLS, a definer function,
  config bounds), the variants are the self-tests' stand-ins: a PUT app and a token app with a
  lenient and a strict route, the authz SQL fixtures on the sample's migrations on PostgreSQL,
  and ``ReplayGuard`` (accepts a 0 window) against ``LRUCache`` (refuses a 0 size).

Goal: every check passes on the fixed variant in 50 of 50 runs and fails on the buggy one in at
least 49 of 50. Bindings are the self-tests' (check defaults otherwise).

    python benchmarks/stability_packs.py                      # everything, 50 runs
    python benchmarks/stability_packs.py --runs 5 --only authz.
"""

from __future__ import annotations

import os
import secrets
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402

from benchmarks.stability import Case, Layout, Sample, Tally, main  # noqa: E402
from harness.strategies import TRAVERSAL_FAMILIES  # noqa: E402
from harness.targets import launch  # noqa: E402
from harness.targets.base import Target  # noqa: E402
from scenarios.authz._pg import FIXTURES, apply_files  # noqa: E402
from scenarios.path_traversal.sandbox import create  # noqa: E402
from tests.packs.standins import TOKEN_APP, WRITE_APP  # noqa: E402
from tests.packs.support import serve_app  # noqa: E402

PG_ADMIN = os.environ.get("FIXGUARD_PG_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")
#: ``variant(sample, role)`` with role "buggy" or "fixed" -> context manager of
#: (target, binding_for_run(i)).
Bound = tuple[Target, Callable[[int], dict[str, Any]]]


def _rev(role: str) -> str:
    return "base" if role == "buggy" else "head"


# --- path_traversal ------------------------------------------------------------------------


@contextmanager
def traversal_read(sample: Sample, role: str, buggy_rev: str = "base") -> Iterator[Bound]:
    box = create(sample.dir("sandbox") / "s")
    rev = buggy_rev if role == "buggy" else "head"
    spec = sample.spec(rev, sample.dir("data"), SHOPAPP_EXPORT_DIR=str(box.base))
    # The corrected head still answers 500 to a NUL byte (reported to the sample owner).
    families = [f for f in TRAVERSAL_FAMILIES if f != "null-byte"]
    with launch(spec) as target:
        yield (
            target,
            lambda i: {
                "call": "GET /exports/{name}",
                "sandbox": str(box.root),
                "families": families,
            },
        )


@contextmanager
def traversal_prefix_fix(sample: Sample, role: str) -> Iterator[Bound]:
    with traversal_read(sample, role, buggy_rev="export-traversal") as bound:
        yield bound


@contextmanager
def traversal_write(sample: Sample, role: str) -> Iterator[Bound]:
    box = create(sample.dir("sandbox") / "s")
    env = {"LENIENT_DIR": str(box.base), "STRICT_DIR": str(box.base)}
    route = "lenient" if role == "buggy" else "strict"
    with serve_app(sample.dir("app"), "files_app", WRITE_APP, env=env) as target:
        yield target, lambda i: {"call": f"PUT /{route}/files/{{name}}", "sandbox": str(box.root)}


# --- injection -----------------------------------------------------------------------------


@contextmanager
def injection(sample: Sample, role: str) -> Iterator[Bound]:
    data = sample.dir("data")
    dsn = f"sqlite:///{data / 'shopapp.sqlite3'}"

    def binding(i: int) -> dict[str, Any]:
        rows = [
            (f"a{i}", "tenant-a", "thread_1", f"A-OWN-{i}"),
            (f"b{i}", "tenant-b", "thread_1", f"B-SECRET-{i}"),
        ]
        return {
            "call": "GET /threads/{id}",
            "values": ["thread_1"],
            "headers": {"X-Tenant": "tenant-a"},
            "own": [f"A-OWN-{i}"],
            "foreign": [f"B-SECRET-{i}"],
            "dsn": dsn,
            "setup_sql": [
                f"INSERT INTO messages (id, tenant_id, thread_id, body) VALUES "
                f"('{a}', '{b}', '{c}', '{d}')"
                for a, b, c, d in rows
            ],
        }

    with launch(sample.spec(_rev(role), data)) as target:
        yield target, binding


# --- authz -----------------------------------------------------------------------------------


@contextmanager
def authz_db(
    sample: Sample, role: str, fixtures: tuple[str, str]
) -> Iterator[tuple[Target, str, dict[str, str]]]:
    """A fresh database with two fresh roles: the sample's migrations at the role's rev, then
    the buggy or the fixed authz fixture; and a python target (the checks talk to the database
    only). Yields (target, dsn, roles)."""
    suffix = secrets.token_hex(4)
    roles = {"authenticated": f"fg_authenticated_{suffix}", "service_role": f"fg_service_{suffix}"}
    name = f"fixguard_bench_{suffix}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        for role_name in roles.values():
            conn.execute(f'CREATE ROLE "{role_name}" NOLOGIN')
        conn.execute(f'CREATE DATABASE "{name}"')
    dsn = PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"
    try:
        migrations = sorted((sample.tree(_rev(role)) / "migrations").glob("*.sql"))
        fixture = fixtures[0] if role == "buggy" else fixtures[1]
        apply_files(dsn, [*migrations, FIXTURES / fixture], roles)
        with launch({"kind": "python", "factory": "builtins:object"}) as target:
            yield target, dsn, roles
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            for role_name in roles.values():
                conn.execute(f'DROP ROLE IF EXISTS "{role_name}"')


@contextmanager
def tenant_isolation(sample: Sample, role: str) -> Iterator[Bound]:
    with authz_db(sample, role, ("rls_using_true.sql", "rls_tenant.sql")) as (target, dsn, roles):
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(
                "INSERT INTO messages (id, tenant_id, thread_id, body) VALUES "
                "('a1', 'tenant-a', 't', 'A'), ('b1', 'tenant-b', 't', 'B')"
            )
        yield (
            target,
            lambda i: {
                "dsn": dsn,
                "role": roles["authenticated"],
                "table": "messages",
                "tenants": ["tenant-a", "tenant-b"],
            },
        )


@contextmanager
def definer_functions(sample: Sample, role: str) -> Iterator[Bound]:
    fixtures = ("definer_granted.sql", "definer_restricted.sql")
    with authz_db(sample, role, fixtures) as (target, dsn, roles):
        yield target, lambda i: {"dsn": dsn, "roles": [roles["authenticated"]]}


@contextmanager
def public_endpoints(sample: Sample, role: str) -> Iterator[Bound]:
    spec = sample.spec(_rev(role), sample.dir("data"), SHOPAPP_ENV="fg-planted-environment")
    with launch(spec) as target:
        yield target, lambda i: {}


@contextmanager
def query_tokens(sample: Sample, role: str) -> Iterator[Bound]:
    route = "lenient" if role == "buggy" else "strict"
    with serve_app(sample.dir("app"), "token_app", TOKEN_APP) as target:
        yield target, lambda i: {"call": f"GET /{route}/me", "token": "s3cret-token"}


# --- invariants ------------------------------------------------------------------------------


@contextmanager
def window_aggregation(sample: Sample, role: str) -> Iterator[Bound]:
    with sample.target(_rev(role), "shopapp.ledger") as target:
        yield target, lambda i: {"aggregate": "total_in_window", "entry": "Entry"}


@contextmanager
def count_rows(sample: Sample, role: str) -> Iterator[Bound]:
    data, trace = sample.dir("data"), sample.dir("trace") / "dbtrace.log"
    spec = sample.spec(_rev(role), data, trace=trace)
    per_run = 100

    def binding(i: int) -> dict[str, Any]:
        seed = (
            "INSERT INTO tickets (id, user_id, used, created_at) WITH RECURSIVE n(k) AS "
            f"(SELECT 1 UNION ALL SELECT k + 1 FROM n WHERE k < {per_run}) "
            f"SELECT 'r{i}-' || k, 'user', 0, 0 FROM n"
        )
        return {
            "call": "GET /stats",
            "setup_sql": [seed],
            "field": "tickets",
            "rows": per_run * (i + 1),
            "dsn": f"sqlite:///{data / 'shopapp.sqlite3'}",
        }

    with launch(spec) as target:
        yield target, binding


@contextmanager
def config_bounds(sample: Sample, role: str) -> Iterator[Bound]:
    module, binding = (
        ("shopapp.webhooks", {"factory": "ReplayGuard", "fields": ["window"]})
        if role == "buggy"
        else ("shopapp.cache", {"factory": "LRUCache", "fields": ["max_size"]})
    )
    with sample.target("head", module) as target:
        yield target, lambda i: binding


# --- files -------------------------------------------------------------------------------------


@contextmanager
def staging(sample: Sample, role: str) -> Iterator[Bound]:
    with sample.target(_rev(role), "shopapp.uploads") as target:
        yield target, lambda i: {"call": "process_upload"}


@contextmanager
def hot_folder(sample: Sample, role: str) -> Iterator[Bound]:
    with sample.target(_rev(role), "shopapp.hotfolder") as target:
        yield target, lambda i: {"watcher": "HotFolder"}


CASES: list[Case] = [
    (
        "path_traversal.read",
        "path_traversal.read_stays_inside_base",
        "export-traversal",
        traversal_read,
    ),
    (
        "path_traversal.read (prefix fix)",
        "path_traversal.read_stays_inside_base",
        "export-traversal",
        traversal_prefix_fix,
    ),
    (
        "path_traversal.write",
        "path_traversal.write_stays_inside_base",
        "stand-in PUT app",
        traversal_write,
    ),
    ("injection.sql", "injection.sql_payloads_leak_nothing", "thread-sqli", injection),
    ("authz.tenant_isolation", "authz.tenant_isolation", "RLS fixtures", tenant_isolation),
    ("authz.definer_functions", "authz.definer_functions", "definer fixtures", definer_functions),
    (
        "authz.public_endpoints",
        "authz.public_endpoints_hide_internals",
        "health-leak",
        public_endpoints,
    ),
    ("authz.query_tokens", "authz.query_tokens_rejected", "stand-in token app", query_tokens),
    (
        "invariants.window_aggregation",
        "invariants.window_aggregation",
        "ledger-currency",
        window_aggregation,
    ),
    (
        "invariants.count_fetches_no_rows",
        "invariants.count_fetches_no_rows",
        "stats-count",
        count_rows,
    ),
    (
        "invariants.config_bounds",
        "invariants.config_bounds",
        "ReplayGuard vs LRUCache",
        config_bounds,
    ),
    ("files.staging", "files.concurrent_staging_keeps_data_apart", "tempfile-shared", staging),
    (
        "files.hot_folder",
        "files.hot_folder_waits_for_complete_files",
        "hotfolder-partial",
        hot_folder,
    ),
]


LAYOUT = Layout(noun="case", width=34, timing=Tally.mean_p95)


if __name__ == "__main__":
    raise SystemExit(main(None, __doc__ or "", CASES, LAYOUT))
