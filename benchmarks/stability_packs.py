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

import argparse
import importlib
import json
import os
import secrets
import statistics
import subprocess
import sys
import tarfile
import tempfile
import textwrap
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from io import BytesIO
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402

from harness.sample import materialise  # noqa: E402
from harness.scenario import run  # noqa: E402
from harness.strategies import TRAVERSAL_FAMILIES  # noqa: E402
from harness.targets import launch  # noqa: E402
from harness.targets.base import Target  # noqa: E402
from scenarios.authz._pg import FIXTURES, apply_files  # noqa: E402
from scenarios.path_traversal.sandbox import create  # noqa: E402

PG_ADMIN = os.environ.get("FIXGUARD_PG_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")
#: ``variant(sample, role)`` with role "buggy" or "fixed" -> context manager of
#: (target, binding_for_run(i)).
Bound = tuple[Target, Callable[[int], dict[str, Any]]]
Variant = Callable[["Sample", str], Any]


class Sample:
    """The sample repo and exported trees by rev; data dirs under one temporary root."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.repo = materialise(root / "repo", corrected=True)
        self.trees: dict[str, Path] = {}

    def tree(self, rev: str) -> Path:
        if rev not in self.trees:
            sha = {"base": self.repo.base, "head": self.repo.head}.get(rev) or self.repo.commits[
                rev
            ]
            archive = subprocess.run(
                ["git", "archive", "--format=tar", sha],
                cwd=self.repo.path,
                capture_output=True,
                check=True,
            ).stdout
            dest = self.root / f"tree-{rev}"
            dest.mkdir()
            with tarfile.open(fileobj=BytesIO(archive)) as tar:
                tar.extractall(dest, filter="data")
            self.trees[rev] = dest
        return self.trees[rev]

    def dir(self, name: str) -> Path:
        path = self.root / f"{name}-{secrets.token_hex(3)}"
        path.mkdir()
        return path

    def spec(self, rev: str, data: Path, **env: str) -> dict[str, Any]:
        return {
            "kind": "process",
            "cwd": self.tree(rev),
            "health": "/healthz",
            "command": "{python} -m uvicorn shopapp.app:app --port {port} --log-level warning",
            "startup_timeout": 30,
            "env": {"SHOPAPP_DATA_DIR": str(data), "PYTHONPATH": str(ROOT), **env},
        }

    @contextmanager
    def module(self, rev: str, name: str) -> Iterator[Target]:
        """A python target whose object is `name` imported from the tree of `rev`."""

        def forget() -> None:
            for mod in [m for m in sys.modules if m == "shopapp" or m.startswith("shopapp.")]:
                del sys.modules[mod]

        forget()
        sys.path.insert(0, str(self.tree(rev)))
        importlib.invalidate_caches()
        try:
            with launch(
                {"kind": "python", "factory": "importlib:import_module", "kwargs": {"name": name}}
            ) as target:
                yield target
        finally:
            sys.path.remove(str(self.tree(rev)))
            forget()


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


WRITE_APP = textwrap.dedent("""
    import os, re
    from pathlib import Path
    from fastapi import FastAPI, HTTPException, Request

    app = FastAPI()
    BASE = Path(os.environ["FILES_DIR"])
    STRICT = os.environ["VARIANT"] == "fixed"
    NAME = re.compile(r"[\\w.-]+(/[\\w.-]+)*")

    @app.get("/healthz")
    def healthz():
        return {"status": "ok"}

    @app.put("/files/{name:path}")
    async def put(name: str, request: Request):
        data = await request.body()
        if STRICT:
            if not NAME.fullmatch(name):
                raise HTTPException(400, "bad file name")
            path = (BASE / name).resolve()
            if not path.is_relative_to(BASE.resolve()):
                raise HTTPException(400, "outside the base")
        else:
            path = Path(f"{BASE}/{name}")
        try:
            path.write_bytes(data)
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise HTTPException(404, "no such directory") from None
        return {"written": len(data)}
""")


@contextmanager
def traversal_write(sample: Sample, role: str) -> Iterator[Bound]:
    app = sample.dir("app")
    (app / "files_app.py").write_text(WRITE_APP)
    box = create(sample.dir("sandbox") / "s")
    with launch(
        {
            "kind": "process",
            "cwd": app,
            "health": "/healthz",
            "command": "{python} -m uvicorn files_app:app --port {port} --log-level warning",
            "env": {"FILES_DIR": str(box.base), "VARIANT": role},
        }
    ) as target:
        yield target, lambda i: {"call": "PUT /files/{name}", "sandbox": str(box.root)}


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
def pg_database(sample: Sample, fixture: str, rev: str) -> Iterator[tuple[str, dict[str, str]]]:
    suffix = secrets.token_hex(4)
    roles = {"authenticated": f"fg_authenticated_{suffix}", "service_role": f"fg_service_{suffix}"}
    name = f"fixguard_bench_{suffix}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        for role in roles.values():
            conn.execute(f'CREATE ROLE "{role}" NOLOGIN')
        conn.execute(f'CREATE DATABASE "{name}"')
    dsn = PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"
    try:
        migrations = sorted((sample.tree(rev) / "migrations").glob("*.sql"))
        apply_files(dsn, [*migrations, FIXTURES / fixture], roles)
        yield dsn, roles
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            for role in roles.values():
                conn.execute(f'DROP ROLE IF EXISTS "{role}"')


@contextmanager
def tenant_isolation(sample: Sample, role: str) -> Iterator[Bound]:
    fixture = "rls_using_true.sql" if role == "buggy" else "rls_tenant.sql"
    with (
        pg_database(sample, fixture, _rev(role)) as (dsn, roles),
        launch({"kind": "python", "factory": "builtins:object"}) as target,
    ):
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
    fixture = "definer_granted.sql" if role == "buggy" else "definer_restricted.sql"
    with (
        pg_database(sample, fixture, _rev(role)) as (dsn, roles),
        launch({"kind": "python", "factory": "builtins:object"}) as target,
    ):
        yield target, lambda i: {"dsn": dsn, "roles": [roles["authenticated"]]}


@contextmanager
def public_endpoints(sample: Sample, role: str) -> Iterator[Bound]:
    spec = sample.spec(_rev(role), sample.dir("data"), SHOPAPP_ENV="fg-planted-environment")
    with launch(spec) as target:
        yield target, lambda i: {}


TOKEN_APP = textwrap.dedent("""
    import os
    from fastapi import FastAPI, HTTPException, Request

    app = FastAPI()
    STRICT = os.environ["VARIANT"] == "fixed"

    @app.get("/healthz")
    def healthz():
        return {"status": "ok"}

    @app.get("/me")
    def me(request: Request):
        sent = request.headers.get("authorization", "").removeprefix("Bearer ")
        if not STRICT:
            sent = sent or request.query_params.get("token", "")
        elif any(k in request.query_params for k in ("token", "access_token", "jwt")):
            raise HTTPException(400, "credentials in the query string are not accepted")
        if sent != "s3cret-token":
            raise HTTPException(401, "unauthenticated")
        return {"user": "alice"}
""")


@contextmanager
def query_tokens(sample: Sample, role: str) -> Iterator[Bound]:
    app = sample.dir("app")
    (app / "token_app.py").write_text(TOKEN_APP)
    with launch(
        {
            "kind": "process",
            "cwd": app,
            "health": "/healthz",
            "command": "{python} -m uvicorn token_app:app --port {port} --log-level warning",
            "env": {"VARIANT": role},
        }
    ) as target:
        yield target, lambda i: {"call": "GET /me", "token": "s3cret-token"}


# --- invariants ------------------------------------------------------------------------------


@contextmanager
def window_aggregation(sample: Sample, role: str) -> Iterator[Bound]:
    with sample.module(_rev(role), "shopapp.ledger") as target:
        yield target, lambda i: {"aggregate": "total_in_window", "entry": "Entry"}


@contextmanager
def count_rows(sample: Sample, role: str) -> Iterator[Bound]:
    data, trace = sample.dir("data"), sample.dir("trace") / "dbtrace.log"
    spec = sample.spec(_rev(role), data, FIXGUARD_DBTRACE=str(trace))
    spec["command"] = (
        "{python} -m scenarios.invariants.dbtrace -m uvicorn shopapp.app:app "
        "--port {port} --log-level warning"
    )
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
    with sample.module("head", module) as target:
        yield target, lambda i: binding


# --- files -------------------------------------------------------------------------------------


@contextmanager
def staging(sample: Sample, role: str) -> Iterator[Bound]:
    with sample.module(_rev(role), "shopapp.uploads") as target:
        yield target, lambda i: {"call": "process_upload"}


@contextmanager
def hot_folder(sample: Sample, role: str) -> Iterator[Bound]:
    with sample.module(_rev(role), "shopapp.hotfolder") as target:
        yield target, lambda i: {"watcher": "HotFolder"}


CASES: list[tuple[str, str, str, Variant]] = [
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


@dataclass
class Tally:
    passed: int = 0
    failed: int = 0
    errors: int = 0
    seconds: list[float] = field(default_factory=list)
    first_surprise: str = ""

    def add(self, outcome: str, seconds: float, note: str, surprising: bool) -> None:
        setattr(self, outcome, getattr(self, outcome) + 1)
        self.seconds.append(seconds)
        if surprising and not self.first_surprise:
            self.first_surprise = note[:400]

    def timing(self) -> str:
        if not self.seconds:
            return "-"
        ordered = sorted(self.seconds)
        p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
        return f"mean {statistics.fmean(ordered):.2f}s p95 {p95:.2f}s"


def once(
    check: str, binding: dict[str, Any], target: Target, tally: Tally, expect_fail: bool
) -> None:
    started = time.perf_counter()
    try:
        run(check, binding, target)
    except AssertionError as exc:
        tally.add("failed", time.perf_counter() - started, str(exc), not expect_fail)
    except Exception as exc:  # an error is never a pass, and never a reproduction either
        tally.add("errors", time.perf_counter() - started, f"{type(exc).__name__}: {exc}", True)
    else:
        tally.add("passed", time.perf_counter() - started, "passed", expect_fail)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--only", default="", help="run the cases whose name starts with this")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    runs, bad, rows = args.runs, 0, []
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="stability-packs-") as tmp, ExitStack():
        sample = Sample(Path(tmp))
        for label, check, finding, variant in CASES:
            if not label.startswith(args.only):
                continue
            tallies = {"buggy": Tally(), "fixed": Tally()}
            try:
                for role, tally in tallies.items():
                    with variant(sample, role) as (target, binding):
                        for i in range(runs):
                            once(check, binding(i), target, tally, role == "buggy")
            except Exception as exc:  # e.g. PostgreSQL down: say so, go on with the rest
                print(
                    f"ERR {label:34} [{finding}] could not run: {type(exc).__name__}: {exc}"[:300],
                    flush=True,
                )
                bad += 1
                continue
            buggy, fixed = tallies["buggy"], tallies["fixed"]
            ok = fixed.passed == runs and buggy.failed >= runs - 1
            bad += not ok
            note = buggy.first_surprise or fixed.first_surprise
            print(
                f"{'OK ' if ok else 'BAD'} {label:34} [{finding}] buggy fails {buggy.failed:2}/"
                f"{runs} ({buggy.timing()})  fixed passes {fixed.passed:2}/{runs} "
                f"({fixed.timing()})" + (f"\n    first surprise: {note}" if note else ""),
                flush=True,
            )
            rows.append(
                {
                    "case": label,
                    "check": check,
                    "finding": finding,
                    "runs": runs,
                    "buggy_failed": buggy.failed,
                    "buggy_errors": buggy.errors,
                    "fixed_passed": fixed.passed,
                    "fixed_errors": fixed.errors,
                    "buggy_seconds": buggy.seconds,
                    "fixed_seconds": fixed.seconds,
                }
            )
    total = time.perf_counter() - started
    print(
        f"\n{bad} case(s) missed the goal; {total:.0f}s in all (2 busy cores: timings are "
        "noisy, the counts are what this script proves)."
    )
    if args.json:
        args.json.write_text(json.dumps({"runs": runs, "seconds": total, "cases": rows}, indent=2))
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
