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

import argparse
import asyncio
import json
import os
import secrets
import sqlite3
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from io import BytesIO
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import scenarios.blocking  # noqa: E402 - registers the checks
import scenarios.leaks  # noqa: E402
import scenarios.resilience  # noqa: E402, F401
from harness.leaks import StubUpstream  # noqa: E402
from harness.sample import materialise  # noqa: E402
from harness.scenario import run  # noqa: E402
from harness.targets import free_port, launch  # noqa: E402
from harness.targets.base import Target  # noqa: E402

PG_ADMIN = os.environ.get("FIXGUARD_PG_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")
Variant = Callable[["Sample", str], Any]  # -> context manager of (target, binding, between)


class Sample:
    """The sample repo, its base and head trees, and started targets (torn down at the end)."""

    def __init__(self, stack: ExitStack, root: Path) -> None:
        self.stack, self.root = stack, root
        self.repo = materialise(root / "repo", corrected=True)
        self.trees: dict[str, Path] = {}

    def tree(self, rev: str) -> Path:
        if rev not in self.trees:
            sha = self.repo.base if rev == "base" else self.repo.head
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

    def data(self, name: str) -> Path:
        path = self.root / f"data-{name}-{secrets.token_hex(3)}"
        path.mkdir()
        return path

    def spec(self, rev: str, data: Path, **env: str) -> dict[str, Any]:
        return {
            "kind": "process",
            "cwd": self.tree(rev),
            "health": "/healthz",
            "startup_timeout": 60,
            "stop_timeout": 3,
            "command": "{python} -m uvicorn shopapp.app:app --host 127.0.0.1 --port {port} "
            "--log-level warning",
            "env": {
                "SHOPAPP_DATA_DIR": str(data),
                "PYTHONDONTWRITEBYTECODE": "1",
                "PYTHONPATH": str(ROOT),
                **env,
            },
        }

    @contextmanager
    def modules(self, rev: str) -> Iterator[None]:
        tree = str(self.tree(rev))

        def forget() -> None:
            for name in [m for m in sys.modules if m == "shopapp" or m.startswith("shopapp.")]:
                del sys.modules[name]

        forget()
        sys.path.insert(0, tree)
        try:
            yield
        finally:
            sys.path.remove(tree)
            forget()


def _none() -> None:
    return None


# --- variants ---------------------------------------------------------------------------------


@contextmanager
def settings_file(sample: Sample, rev: str) -> Iterator[tuple[Target, dict[str, Any], Any]]:
    path = sample.data("settings") / "overrides.json"
    path.write_text(json.dumps({"max_pending_tickets": 7}))
    with (
        sample.modules(rev),
        launch(
            {
                "kind": "python",
                "factory": "importlib:import_module",
                "kwargs": {"name": "shopapp.settings"},
            }
        ) as target,
    ):
        yield target, {"steps": [{"call": "load_settings_file", "args": [str(path)]}]}, _none


@contextmanager
def upstream_client(sample: Sample, rev: str) -> Iterator[tuple[Target, dict[str, Any], Any]]:
    # 10 iterations, not 50, and no allocation sites: each iteration builds an
    # httpx.AsyncClient (an SSL context, ~60 ms), which tracemalloc slows down several times.
    with (
        StubUpstream() as stub,
        sample.modules(rev),
        launch(
            {
                "kind": "python",
                "factory": "shopapp.upstream:UpstreamClient",
                "kwargs": {"base_url": stub.url},
            }
        ) as target,
    ):
        yield (
            target,
            {
                "steps": ["startup", "http.get /items/1", "shutdown"],
                "warmup": 2,
                "iterations": 10,
                "allocation_sites": False,
            },
            _none,
        )


@contextmanager
def notifier(sample: Sample, rev: str) -> Iterator[tuple[Target, dict[str, Any], Any]]:
    with (
        sample.modules(rev),
        launch({"kind": "python", "factory": "shopapp.notifier:Notifier"}) as target,
    ):
        yield (
            target,
            {
                "call": {"call": "notify", "args": [{"event": "x"}]},
                "close": "aclose",
                "overrides": {"sink": "scenarios.leaks.stubs:never_returns"},
            },
            _none,
        )


LEAKY_APP = """
import os

HELD = []


async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    if scope["path"] == "/leak":
        HELD.append(open(os.devnull))
    elif scope["path"] == "/reset":
        while HELD:
            HELD.pop().close()
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})
"""


@contextmanager
def target_process(sample: Sample, rev: str) -> Iterator[tuple[Target, dict[str, Any], Any]]:
    if rev == "head":  # fixed: the sample, which closes what it opens
        with launch(sample.spec("head", sample.data("tp"))) as target:
            yield target, {"call": "GET /stats"}, _none
        return
    folder = sample.data("leaky")
    (folder / "leaky_app.py").write_text(LEAKY_APP)
    with launch(
        {
            "kind": "process",
            "cwd": folder,
            "health": "/",
            "command": "{python} -m uvicorn leaky_app:app --port {port} --log-level warning",
        }
    ) as t:

        def reset() -> None:
            with t.client() as client:
                client.get("/reset")

        yield t, {"call": "GET /leak", "settle": 0.2}, reset


@contextmanager
def db_connections(sample: Sample, rev: str) -> Iterator[tuple[Target, dict[str, Any], Any]]:
    import psycopg

    name = f"fixguard_bench_{secrets.token_hex(4)}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    dsn = PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"
    held: list[Any] = []
    try:
        if rev == "head":
            with launch(sample.spec("head", sample.data("pg"), SHOPAPP_DB=dsn)) as target:
                yield target, {"call": "GET /stats", "dsn": dsn}, _none
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
def loop_lag(sample: Sample, rev: str) -> Iterator[tuple[Target, dict[str, Any], Any]]:
    os.environ["SHOPAPP_DATA_DIR"] = str(sample.data("asgi"))
    with sample.modules(rev), launch({"kind": "asgi", "app": "shopapp.app:app"}) as target:
        yield (
            target,
            {
                "call": "GET /reports/summary",
                "concurrency": 8,
                "requests": 24,
                "threshold": 0.2,
                "slow": {"at": "shopapp.db:Database.query", "seconds": 0.05},
            },
            _none,
        )


@contextmanager
def fast_endpoint(sample: Sample, rev: str) -> Iterator[tuple[Target, dict[str, Any], Any]]:
    data = sample.data("latency")
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
            _none,
        )


@contextmanager
def hung_upstream(sample: Sample, rev: str) -> Iterator[tuple[Target, dict[str, Any], Any]]:
    upstream = f"http://127.0.0.1:{free_port()}"
    spec = sample.spec(
        rev, sample.data("hung"), SHOPAPP_UPSTREAM_URL=upstream, SHOPAPP_PRICING_TIMEOUT="1"
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
            _none,
        )


@contextmanager
def failed_write(sample: Sample, rev: str) -> Iterator[tuple[Target, dict[str, Any], Any]]:
    upstream = f"http://127.0.0.1:{free_port()}"
    with launch(sample.spec(rev, sample.data("patch"), SHOPAPP_UPSTREAM_URL=upstream)) as target:
        yield (
            target,
            {
                "call": "PATCH /inventory/{sku}",
                "values": {"sku": "abc"},
                "json": {"quantity": 3},
                "upstream": upstream,
            },
            _none,
        )


def _inventory_sync() -> Any:
    from shopapp.inventory import InventorySync
    from shopapp.upstream import UpstreamClient

    upstream = UpstreamClient("http://catalogue.invalid")
    asyncio.run(upstream.startup())
    return InventorySync(upstream)


@contextmanager
def swallowed(sample: Sample, rev: str) -> Iterator[tuple[Target, dict[str, Any], Any]]:
    with sample.modules(rev), launch({"kind": "python", "factory": _inventory_sync}) as target:
        yield (
            target,
            {
                "call": {"call": "push_stock", "args": ["sku-1", 3]},
                "fault": {"at": "httpx:AsyncClient.send", "status": 503},
            },
            _none,
        )


CASES: list[tuple[str, str, Variant]] = [
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


@dataclass
class Tally:
    failed: int = 0
    passed: int = 0
    errors: int = 0
    seconds: list[float] = field(default_factory=list)
    first_error: str = ""
    first_surprise: str = ""

    def add(self, outcome: str, seconds: float, note: str = "") -> None:
        self.seconds.append(seconds)
        setattr(self, outcome, getattr(self, outcome) + 1)
        if outcome == "errors" and not self.first_error:
            self.first_error = note

    def timing(self) -> str:
        if not self.seconds:
            return "-"
        return f"median {statistics.median(self.seconds):.2f}s max {max(self.seconds):.2f}s"


def once(
    name: str,
    binding: dict[str, Any],
    target: Target,
    tally: Tally,
    expect_fail: bool,
    between: Callable[[], None],
) -> None:
    started = time.perf_counter()
    try:
        run(name, binding, target)
    except AssertionError as exc:
        tally.add("failed", time.perf_counter() - started)
        if not expect_fail and not tally.first_surprise:
            tally.first_surprise = str(exc).splitlines()[0][:300]
    except Exception as exc:  # an error is neither a pass nor a fail; report it
        tally.add("errors", time.perf_counter() - started, f"{type(exc).__name__}: {exc}"[:300])
    else:
        tally.add("passed", time.perf_counter() - started)
        if expect_fail and not tally.first_surprise:
            tally.first_surprise = "passed on the buggy variant"
    finally:
        between()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--only", default="", help="run the checks whose name starts with this")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    runs, bad, rows = args.runs, 0, []
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="stability-leaks-") as tmp, ExitStack() as stack:
        sample = Sample(stack, Path(tmp))
        for name, finding, variant in CASES:
            if not name.startswith(args.only):
                continue
            tallies = {"base": Tally(), "head": Tally()}
            try:
                for rev, tally in tallies.items():
                    with variant(sample, rev) as (target, binding, between):
                        for _ in range(runs):
                            once(name, binding, target, tally, rev == "base", between)
            except Exception as exc:  # e.g. PostgreSQL down: say so, go on with the rest
                print(
                    f"ERR {name:31} [{finding}] could not run: {type(exc).__name__}: {exc}"[:300],
                    flush=True,
                )
                bad += 1
                continue
            buggy, fixed = tallies["base"], tallies["head"]
            ok = fixed.passed == runs and buggy.failed >= runs - 1
            bad += not ok
            note = (
                buggy.first_surprise
                or fixed.first_surprise
                or buggy.first_error
                or fixed.first_error
            )
            print(
                f"{'OK ' if ok else 'BAD'} {name:31} [{finding}] buggy fails "
                f"{buggy.failed:2}/{runs} ({buggy.timing()})  fixed passes {fixed.passed:2}/"
                f"{runs} ({fixed.timing()})" + (f"\n    first surprise: {note}" if note else ""),
                flush=True,
            )
            rows.append(
                {
                    "check": name,
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
        f"\n{bad} check(s) missed the goal; {total:.0f}s in all (2 busy cores: timings are noisy,"
        " the counts are what this script proves)."
    )
    if args.json:
        args.json.write_text(json.dumps({"runs": runs, "seconds": total, "checks": rows}, indent=2))
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
