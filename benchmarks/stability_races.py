"""Stability of the races, lifecycle, idempotency and replay checks with their default budgets.

Every check runs ``--runs`` times (default 50) on a buggy and on a fixed variant:

- the sample service's buggy base and fixed head, wherever the sample has the bug (HTTP checks
  against a uvicorn ``process`` target, the rest on a ``python`` target);
- the small local services of ``tests/packs/`` for the checks the sample never breaks
  (``races.lost_update``, ``lifecycle.restart``, ``lifecycle.loop_errors``,
  ``replay.dedup_window``).

Goal: every check passes on the fixed variant in 50 of 50 runs and fails on the buggy one in at
least 49 of 50.

    python benchmarks/stability_races.py                 # everything, 50 runs (tens of minutes)
    python benchmarks/stability_races.py --runs 5 --only races.

Budgets are the checks' defaults; nothing is tuned for this script.
"""

from __future__ import annotations

import argparse
import importlib.util
import logging
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import scenarios.idempotency  # noqa: E402 - registers the checks
import scenarios.lifecycle  # noqa: E402
import scenarios.races  # noqa: E402
import scenarios.replay  # noqa: E402, F401
from harness.sample import materialise  # noqa: E402
from harness.scenario import run  # noqa: E402
from harness.targets import TargetSpec, launch  # noqa: E402
from harness.targets.base import Target  # noqa: E402


def _load(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[path.stem] = module
    spec.loader.exec_module(module)
    return module


# -- the sample, served or imported from its base and head trees --------------------------------


class Sample:
    def __init__(self, stack: ExitStack, root: Path):
        self.stack = stack
        self.root = root
        self.repo = materialise(root / "repo", corrected=True)
        self.trees: dict[str, Path] = {}
        self.served: dict[str, tuple[Target, Path]] = {}

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

    def serve(self, rev: str) -> tuple[Target, Path]:
        if rev not in self.served:
            data = self.root / f"data-{rev}"
            data.mkdir()
            spec = TargetSpec(
                kind="process",
                command="{python} -m uvicorn shopapp.app:app --host 127.0.0.1 --port {port} "
                "--log-level warning",
                cwd=self.tree(rev),
                health="/healthz",
                startup_timeout=30,
                env={"SHOPAPP_DATA_DIR": str(data), "PYTHONDONTWRITEBYTECODE": "1"},
            )
            self.served[rev] = (self.stack.enter_context(launch(spec)), data)
        return self.served[rev]

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


def _sql(data: Path, query: str) -> dict[str, str]:
    return {"sql": query, "dsn": f"sqlite:///{data / 'shopapp.sqlite3'}"}


def _http(binding: Callable[[Path], dict[str, Any]]) -> Callable[[Sample, str], Any]:
    @contextmanager
    def variant(sample: Sample, rev: str) -> Iterator[tuple[Target, dict[str, Any]]]:
        target, data = sample.serve(rev)
        yield target, binding(data)

    return variant


def _python(factory: Any, binding: dict[str, Any], **kwargs: Any) -> Callable[[Sample, str], Any]:
    @contextmanager
    def variant(sample: Sample, rev: str) -> Iterator[tuple[Target, dict[str, Any]]]:
        with (
            sample.modules(rev),
            launch(TargetSpec(kind="python", factory=factory, kwargs=kwargs)) as target,
        ):
            yield target, binding

    return variant


def _backup_service(data_dir: str) -> Any:
    from shopapp.backups import BackupService
    from shopapp.db import Database

    db = Database(str(Path(data_dir) / f"b-{time.perf_counter_ns()}.sqlite3"))
    db.migrate()
    return BackupService(db)


def _backups_http(data: Path) -> dict[str, Any]:
    return {
        "call": "POST /backups",
        "json": {"target": "db-{key}"},
        "other_json": {"target": "other-{key}"},
        "success": [201],
        "effect": _sql(data, "SELECT count(*) FROM backups WHERE target = 'db-' || :key"),
    }


LIFECYCLE = {
    "stuck": {"work": "scenarios.lifecycle.stubs:never_returns", "drain_timeout": 0.05},
    "failing": {"work": "scenarios.lifecycle.stubs:raises"},
    "unrestartable_errors": ["ServiceUnrestartableError"],
}
GUARD = {"call": "check", "max_nonce_length": 128, "bound": 100}
WEBHOOK_HTTP = {
    "call": "POST /webhooks",
    "headers": {"X-Webhook-Nonce": "{nonce}", "X-Webhook-Timestamp": "{timestamp}"},
    "accept": [202],
    "reject": [409],
    "max_nonce_length": 128,
}
BACKUP_IN_PROCESS = {
    "call": "handle",
    "json": "db-{key}",
    "success": [201],
    "effect": {"attr": "count"},
    "fault_attr": "runner",
}


def sample_cases(tmp: Path) -> dict[str, Callable[[Sample, str], Any]]:
    backups = str(tmp)
    return {
        "races.capacity_limit": _http(
            lambda d: {
                "call": "POST /tickets",
                "json": {"user_id": "{key}"},
                "cap": 5,
                "workers": 12,
                "success": [201],
                "conflict": [429],
                "effect": _sql(d, "SELECT count(*) FROM tickets WHERE user_id = :key AND used = 0"),
            }
        ),
        "races.single_consumer": _http(
            lambda d: {
                "call": "POST /tickets/{resource}/consume",
                "setup": {"call": "POST /tickets", "json": {"user_id": "{key}"}},
                "setup_field": "ticket",
                "success": [200],
                "conflict": [409],
            }
        ),
        "races.exclusive_create": _http(
            lambda d: {
                "call": "POST /simulations",
                "json": {"simulation_id": "{key}", "client_id": "client-{worker}"},
                "success": [201],
                "conflict": [409],
                "effect": _sql(d, "SELECT count(*) FROM simulations WHERE simulation_id = :key"),
            }
        ),
        "races.shared_cache": _python("shopapp.cache:LRUCache", {}, max_size=8),
        "idempotency.key_validation": _http(_backups_http),
        "idempotency.replay": _http(_backups_http),
        "idempotency.payload_mismatch": _http(_backups_http),
        "idempotency.concurrent_requests": _http(_backups_http),
        "idempotency.failure_rollback": _python(
            _backup_service, BACKUP_IN_PROCESS, data_dir=backups
        ),
        "idempotency.loser_rollback": _python(_backup_service, BACKUP_IN_PROCESS, data_dir=backups),
        "replay.freshness": _http(lambda d: WEBHOOK_HTTP),
        "replay.nonce_once": _python("shopapp.webhooks:ReplayGuard", GUARD, max_entries=100),
        "replay.bounded_memory": _python("shopapp.webhooks:ReplayGuard", GUARD, max_entries=100),
        "replay.out_of_order_eviction": _python(
            "shopapp.webhooks:ReplayGuard", GUARD, max_entries=100
        ),
        **{
            f"lifecycle.{name}": _python(
                "shopapp.lifecycle:PollingService", LIFECYCLE, interval=0.01
            )
            for name in ("concurrent_start", "drain_timeout", "orphans", "lock_identity")
        },
    }


def local_cases() -> dict[str, tuple[Callable[[], Any], Callable[[], Any], dict[str, Any]]]:
    """name -> (buggy target spec maker, fixed target spec maker, binding)."""
    packs = ROOT / "tests" / "packs"
    races = _load(packs / "test_races_pack.py")
    life = _load(packs / "test_lifecycle_pack.py")
    replay = _load(packs / "test_replay_pack.py")

    def spec(factory: Any, **kwargs: Any) -> Callable[[], TargetSpec]:
        return lambda: TargetSpec(kind="python", factory=factory, kwargs=kwargs)

    lost = {"call": "increment", "args": ["{key}"], "effect": {"attr": "value", "args": ["{key}"]}}
    return {
        "races.lost_update": (spec(races.Registry), spec(races.Registry, locked=True), lost),
        "lifecycle.restart": (spec(life.StaleEventPoller), spec(life.FixedPoller), {}),
        "lifecycle.loop_errors": (
            spec(life.Poller),
            spec(life.FixedPoller),
            {"failing": {"work": "scenarios.lifecycle.stubs:raises"}},
        ),
        "replay.dedup_window": (spec(replay.Hub, bug="ttl-zero-expires"), spec(replay.Hub), {}),
    }


@dataclass
class Tally:
    failed: int = 0
    passed: int = 0
    errors: int = 0
    seconds: list[float] | None = None
    first_error: str = ""

    def add(self, outcome: str, seconds: float, error: str = "") -> None:
        if self.seconds is None:
            self.seconds = []
        self.seconds.append(seconds)
        setattr(self, outcome, getattr(self, outcome) + 1)
        if error and not self.first_error:
            self.first_error = error


def once(name: str, binding: dict[str, Any], target: Target, tally: Tally) -> None:
    started = time.perf_counter()
    try:
        run(name, binding, target)
    except AssertionError:
        tally.add("failed", time.perf_counter() - started)
    except Exception as exc:  # report, keep going: an error is neither a pass nor a fail
        tally.add("errors", time.perf_counter() - started, f"{type(exc).__name__}: {exc}"[:200])
    else:
        tally.add("passed", time.perf_counter() - started)


def line(name: str, buggy: Tally, fixed: Tally, runs: int) -> str:
    ok = fixed.passed == runs and buggy.failed >= runs - 1
    secs = (buggy.seconds or []) + (fixed.seconds or [])
    median = statistics.median(secs) if secs else 0.0
    errors = f" errors={buggy.errors + fixed.errors}" if buggy.errors or fixed.errors else ""
    note = f"  ({buggy.first_error or fixed.first_error})" if errors else ""
    return (
        f"{'OK ' if ok else 'BAD'} {name:34} buggy fails {buggy.failed:2}/{runs}  "
        f"fixed passes {fixed.passed:2}/{runs}  median {median:.2f}s{errors}{note}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--only", default="", help="run the checks whose name starts with this")
    args = parser.parse_args(argv)
    runs = args.runs
    # The services log their own failures (drain timeouts, dead loops); keep them off the table.
    logging.getLogger().addHandler(logging.NullHandler())
    started = time.perf_counter()
    bad = 0
    with tempfile.TemporaryDirectory(prefix="stability-races-") as tmp, ExitStack() as stack:
        sample = Sample(stack, Path(tmp))
        for name, variant in sample_cases(Path(tmp)).items():
            if not name.startswith(args.only):
                continue
            tallies = {"base": Tally(), "head": Tally()}
            for rev, tally in tallies.items():
                with variant(sample, rev) as (target, binding):
                    for _ in range(runs):
                        once(name, binding, target, tally)
            text = line(name + " [sample]", tallies["base"], tallies["head"], runs)
            bad += text.startswith("BAD")
            print(text, flush=True)
        for name, (buggy, fixed, binding) in local_cases().items():
            if not name.startswith(args.only):
                continue
            tallies = {"buggy": Tally(), "fixed": Tally()}
            for key, make in (("buggy", buggy), ("fixed", fixed)):
                with launch(make()) as target:
                    for _ in range(runs):
                        once(name, binding, target, tallies[key])
            text = line(name + " [local]", tallies["buggy"], tallies["fixed"], runs)
            bad += text.startswith("BAD")
            print(text, flush=True)
    print(f"\n{bad} check(s) missed the goal; {time.perf_counter() - started:.0f}s in all.")
    print("Shared 2-core machine: timings are noisy; the counts are what this script proves.")
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
