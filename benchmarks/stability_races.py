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
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import scenarios.idempotency  # noqa: E402 - registers the checks
import scenarios.lifecycle  # noqa: E402
import scenarios.races  # noqa: E402
import scenarios.replay  # noqa: E402, F401
from benchmarks.stability import Sample, Tally, met  # noqa: E402
from harness.targets import TargetSpec, launch  # noqa: E402
from harness.targets.base import Target  # noqa: E402
from tests.packs import sample_bindings  # noqa: E402


def _load(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[path.stem] = module
    spec.loader.exec_module(module)
    return module


# -- the sample, served or imported from its base and head trees --------------------------------


class ServedSample(Sample):
    """The sample, and one uvicorn server of it per rev shared by every HTTP case."""

    def __init__(self, root: Path, stack: ExitStack) -> None:
        super().__init__(root)
        self.stack = stack
        self.served: dict[str, tuple[Target, Path]] = {}

    def serve(self, rev: str) -> tuple[Target, Path]:
        if rev not in self.served:
            data = self.dir(f"data-{rev}")
            self.served[rev] = (self.stack.enter_context(launch(self.spec(rev, data))), data)
        return self.served[rev]


#: `variant(sample, rev)` -> a context manager of (target, binding).
Variant = Callable[[ServedSample, str], Any]


def _http(binding: dict[str, Any]) -> Variant:
    @contextmanager
    def variant(sample: ServedSample, rev: str) -> Iterator[tuple[Target, dict[str, Any]]]:
        target, data = sample.serve(rev)
        yield (
            target,
            sample_bindings.with_sqlite_effect(binding, data) if "effect" in binding else binding,
        )

    return variant


def _python(factory: Any, binding: dict[str, Any], **kwargs: Any) -> Variant:
    @contextmanager
    def variant(sample: ServedSample, rev: str) -> Iterator[tuple[Target, dict[str, Any]]]:
        spec = TargetSpec(kind="python", factory=factory, kwargs=kwargs)
        with sample.target(rev, spec) as target:
            yield target, binding

    return variant


def sample_cases(tmp: Path) -> dict[str, Variant]:
    backups = str(tmp)
    guard = "shopapp.webhooks:ReplayGuard"
    return {
        **{name: _http(binding) for name, binding in sample_bindings.HTTP_RACES.items()},
        "races.shared_cache": _python("shopapp.cache:LRUCache", {}, max_size=8),
        **{
            f"idempotency.{name}": _http(sample_bindings.BACKUPS_OVER_HTTP)
            for name in ("key_validation", "replay", "payload_mismatch", "concurrent_requests")
        },
        **{
            f"idempotency.{name}": _python(
                sample_bindings.backup_service, sample_bindings.BACKUPS_IN_PROCESS, data_dir=backups
            )
            for name in ("failure_rollback", "loser_rollback")
        },
        "replay.freshness": _http(sample_bindings.WEBHOOKS_OVER_HTTP),
        **{
            f"replay.{name}": _python(guard, sample_bindings.GUARD_IN_PROCESS, max_entries=100)
            for name in ("nonce_once", "bounded_memory", "out_of_order_eviction")
        },
        **{
            f"lifecycle.{name}": _python(
                "shopapp.lifecycle:PollingService", sample_bindings.LIFECYCLE, interval=0.01
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


def line(name: str, buggy: Tally, fixed: Tally, runs: int) -> str:
    ok = met(buggy, fixed, runs)
    secs = buggy.seconds + fixed.seconds
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
        sample = ServedSample(Path(tmp), stack)
        for name, variant in sample_cases(Path(tmp)).items():
            if not name.startswith(args.only):
                continue
            tallies = {"base": Tally(), "head": Tally()}
            for rev, tally in tallies.items():
                with variant(sample, rev) as (target, binding):
                    for _ in range(runs):
                        tally.once(name, binding, target, rev == "base")
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
                        tallies[key].once(name, binding, target, key == "buggy")
            text = line(name + " [local]", tallies["buggy"], tallies["fixed"], runs)
            bad += text.startswith("BAD")
            print(text, flush=True)
    print(f"\n{bad} check(s) missed the goal; {time.perf_counter() - started:.0f}s in all.")
    print("Shared 2-core machine: timings are noisy; the counts are what this script proves.")
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
