"""Race detection power, measured in one run: hit rate per attempt and time to first detection.

1. HTTP: the sample service's exclusive-create race (POST /simulations, get-then-save over
   SQLite; the window is one DB round trip), served by uvicorn from the sample's buggy base.
   Last-byte synchronisation against a naive ``asyncio.gather`` of httpx calls.
2. Threads: a count-then-insert store whose window has no GIL release at all. Line-level
   preemption (random and PCT-like) against a barrier with a 1 µs switch interval, against a plain
   ``ThreadPoolExecutor``.

    python benchmarks/bench_races.py            # full run (a few minutes)
    python benchmarks/bench_races.py --quick    # smaller samples

Figures are noisy on a shared machine (2 busy cores here); the ratios, measured side by side in
one run, are the point. Nothing here is asserted in a test.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from io import BytesIO
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from harness.concurrency import (  # noqa: E402
    Budget,
    HttpRace,
    HttpReply,
    HttpRequest,
    Mode,
    Preemption,
    TargetFiles,
    ThreadRace,
    Violation,
    WorkerResult,
    fire,
    race_http,
    race_threads,
)
from harness.concurrency.preempt import monitoring_available  # noqa: E402
from harness.sample import materialise  # noqa: E402
from harness.targets import TargetSpec, launch  # noqa: E402
from harness.targets.base import Target  # noqa: E402
from tests.concurrency.apps.narrow import BuggyStore as NarrowStore  # noqa: E402

# -- the narrow-window thread race -----------------------------------------------------------
# The store is the thread tests' count-then-insert one: nothing between the check and the act
# releases the GIL.

CAP = 5
THREADS = 16


def _cap_check(store: NarrowStore, results: list[WorkerResult]) -> Violation | None:
    wins = sum(r.ok for r in results)
    if wins > CAP or len(store.items) > CAP:
        return Violation("cap exceeded", {"successes": wins}, {"successes": f"<= {CAP}"})
    return None


def _thread_config(mode: Mode, budget: Budget, seed: int, monitoring: bool = True) -> ThreadRace:
    # This file too, as when the store lived here: the workers' lambdas below are preemption
    # points as well, so the figures stay comparable with earlier runs.
    files = TargetFiles.resolve([NarrowStore, __file__])
    preempt = None
    if mode is Mode.PREEMPT:
        preempt = Preemption(files, use_monitoring=monitoring)
    elif mode is Mode.PCT:
        preempt = Preemption(files, points=8, pause=0.0005, use_monitoring=monitoring)
    return ThreadRace(
        workers=THREADS,
        mode=mode,
        preempt=preempt,
        budget=budget,
        seed=seed,
        expected_errors=(OverflowError,),
    )


def thread_hit_rate(mode: Mode, rounds: int, monitoring: bool = True) -> tuple[int, float]:
    """Rounds that broke the cap out of ``rounds``, and seconds per round.

    One run of ``rounds`` attempts whose check counts a hit and lets the run go on, so PCT's
    first (calibrating) round is counted like any other.
    """
    hits = 0

    def count(store: NarrowStore, results: list[WorkerResult]) -> None:
        nonlocal hits
        hits += _cap_check(store, results) is not None

    config = _thread_config(mode, Budget(seconds=3600, max_attempts=rounds), 1, monitoring)
    started = time.perf_counter()
    race_threads("narrow", lambda _: NarrowStore(CAP), lambda s, i: s.create(i), count, config)
    return hits, (time.perf_counter() - started) / rounds


def thread_time_to_detection(mode: Mode, runs: int, budget: float) -> list[float | None]:
    times: list[float | None] = []
    for seed in range(runs):
        cfg = _thread_config(mode, Budget(seconds=budget, max_attempts=100_000), 1000 + seed)
        result = race_threads(
            "narrow", lambda _: NarrowStore(CAP), lambda s, i: s.create(i), _cap_check, cfg
        )
        times.append(result.time_to_failure)
    return times


# -- the sample's HTTP exclusive-create race -------------------------------------------------


@contextmanager
def sample_base() -> Iterator[Target]:
    with tempfile.TemporaryDirectory(prefix="bench-races-") as tmp:
        root = Path(tmp)
        repo = materialise(root / "repo")
        archive = subprocess.run(
            ["git", "archive", "--format=tar", repo.base],
            cwd=repo.path,
            capture_output=True,
            check=True,
        ).stdout
        tree = root / "base"
        tree.mkdir()
        with tarfile.open(fileobj=BytesIO(archive)) as tar:
            tar.extractall(tree, filter="data")
        spec = TargetSpec(
            kind="process",
            command="{python} -m uvicorn shopapp.app:app --host 127.0.0.1 --port {port} "
            "--log-level warning",
            cwd=tree,
            health="/healthz",
            startup_timeout=30,
            env={"SHOPAPP_DATA_DIR": str(root / "data"), "PYTHONDONTWRITEBYTECODE": "1"},
        )
        with launch(spec) as target:
            yield target


WORKERS = 8

#: A service whose exclusive create has a window of one event-loop turn (an ``await`` between
#: the check and the act, no I/O): the narrow HTTP case.
NARROW_APP = """
import asyncio
import sqlite3
import threading
from fastapi import FastAPI, Response

app = FastAPI()
seen = set()
_local = threading.local()


def _db():
    if not hasattr(_local, "conn"):
        _local.conn = sqlite3.connect(":memory:")
    return _local.conn


@app.get("/healthz")
async def healthz():
    return {"ok": True}


@app.post("/simulations", status_code=201)
async def register(body: dict, response: Response):
    key = body["simulation_id"]
    if key in seen:
        response.status_code = 409
        return {"detail": "exists"}
    await asyncio.sleep(0)
    seen.add(key)
    return {"simulation_id": key}


@app.post("/sync-simulations", status_code=201)
def register_sync(body: dict, response: Response):
    key = body["simulation_id"]
    if key in seen:
        response.status_code = 409
        return {"detail": "exists"}
    _db().execute("SELECT 1").fetchone()  # one in-memory DB round trip
    seen.add(key)
    return {"simulation_id": key}
"""


@contextmanager
def narrow_app() -> Iterator[Target]:
    with tempfile.TemporaryDirectory(prefix="bench-narrow-") as tmp:
        (Path(tmp) / "narrow_app.py").write_text(NARROW_APP)
        spec = TargetSpec(
            kind="process",
            command="{python} -m uvicorn narrow_app:app --host 127.0.0.1 --port {port} "
            "--log-level warning",
            cwd=Path(tmp),
            health="/healthz",
            startup_timeout=30,
            env={"PYTHONDONTWRITEBYTECODE": "1"},
        )
        with launch(spec) as target:
            yield target


def _requests(run: str, path: str = "/simulations") -> Callable[[int], list[HttpRequest]]:
    def make(attempt: int) -> list[HttpRequest]:
        key = f"{run}-{attempt}"
        return [
            HttpRequest("POST", path, json={"simulation_id": key, "client_id": f"c{i}"})
            for i in range(WORKERS)
        ]

    return make


def _one_winner(attempt: int, replies: list[HttpReply]) -> Violation | None:
    created = sum(r.status == 201 for r in replies)
    if created > 1:
        return Violation("two winners", {"201": created}, {"201": 1})
    return None


def http_hit_rate(
    target: Target, mode: Mode, attempts: int, path: str = "/simulations"
) -> tuple[int, float]:
    make = _requests(uuid.uuid4().hex[:8], path)
    warmup = HttpRequest("GET", "/healthz")
    hits = 0
    started = time.perf_counter()
    for attempt in range(attempts):
        replies, _ = fire(mode, target.base_url, make(attempt), warmup=warmup)
        ok = [r for r in replies if isinstance(r, HttpReply)]
        hits += _one_winner(attempt, ok) is not None
    return hits, (time.perf_counter() - started) / attempts


def http_time_to_detection(
    target: Target, mode: Mode, runs: int, budget: float, path: str = "/simulations"
) -> list[float | None]:
    times: list[float | None] = []
    for seed in range(runs):
        config = HttpRace(
            workers=WORKERS,
            mode=mode,
            budget=Budget(seconds=budget, max_attempts=100_000),
            seed=seed,
            warmup=HttpRequest("GET", "/healthz"),
        )
        result = race_http(
            "exclusive", target.base_url, _requests(uuid.uuid4().hex[:8], path), _one_winner, config
        )
        times.append(result.time_to_failure)
    return times


# -- reporting -------------------------------------------------------------------------------


def _ttf(times: list[float | None], within: float) -> str:
    found = [t for t in times if t is not None]
    quick = sum(1 for t in found if t <= within)
    median = f"{statistics.median(found):.3f}s" if found else "-"
    worst = f"{max(found):.3f}s" if found else "-"
    return (
        f"detected {len(found)}/{len(times)}, within {within:g}s {quick}/{len(times)} "
        f"({100 * quick / len(times):.0f}%), median {median}, max {worst}"
    )


def _ratio(a: int, b: int, n_a: int, n_b: int) -> str:
    if b == 0:
        return "inf (baseline 0 hits)" if a else "n/a (both 0)"
    return f"{(a / n_a) / (b / n_b):.1f}x"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller samples")
    args = parser.parse_args(argv)
    rounds, runs = (100, 10) if args.quick else (300, 100)
    http_attempts, http_runs = (30, 10) if args.quick else (100, 100)

    print(f"# Thread race: count-then-insert, cap {CAP}, {THREADS} threads, {rounds} rounds")
    rates = {}
    for mode in (Mode.POOL, Mode.BARRIER, Mode.PREEMPT, Mode.PCT):
        hits, per = thread_hit_rate(mode, rounds)
        rates[mode] = hits
        print(
            f"  {mode.value:8} hit {hits}/{rounds} ({100 * hits / rounds:.1f}%), {per * 1000:.1f} ms/round"
        )
    for mode in (Mode.POOL, Mode.BARRIER, Mode.PREEMPT, Mode.PCT):
        times = thread_time_to_detection(mode, runs, budget=2.0)
        print(f"  {mode.value:8} time to first detection (2 s budget): {_ttf(times, 2.0)}")
    print(
        f"  ratio preempt/barrier: {_ratio(rates[Mode.PREEMPT], rates[Mode.BARRIER], rounds, rounds)}"
        f"; preempt/pool: {_ratio(rates[Mode.PREEMPT], rates[Mode.POOL], rounds, rounds)}"
        f"; pct/barrier: {_ratio(rates[Mode.PCT], rates[Mode.BARRIER], rounds, rounds)}"
    )

    if monitoring_available():
        # Line-level preemption's two backends, side by side: the same seeds, so the same
        # yield decisions; the detection figures must agree, and the cost per round differs.
        print(f"\n# Preemption backends on Python {sys.version_info[0]}.{sys.version_info[1]}")
        per_backend = {}
        for backend, monitoring in (("sys.settrace", False), ("sys.monitoring", True)):
            for mode in (Mode.PREEMPT, Mode.PCT):
                hits, per = thread_hit_rate(mode, rounds, monitoring)
                per_backend[backend, mode] = per
                print(
                    f"  {backend:14} {mode.value:8} hit {hits}/{rounds} "
                    f"({100 * hits / rounds:.1f}%), {per * 1000:.2f} ms/round"
                )
        for mode in (Mode.PREEMPT, Mode.PCT):
            cost = per_backend["sys.monitoring", mode] / per_backend["sys.settrace", mode]
            print(f"  ratio monitoring/settrace ({mode.value}, time per round): {cost:.2f}")
    else:
        print("\n# Preemption backends: sys.monitoring needs Python 3.12 (run this there too)")

    targets = (
        ("sample base POST /simulations (get-then-save over SQLite)", sample_base, "/simulations"),
        ("narrow app, async handler (one await between check and act)", narrow_app, "/simulations"),
        (
            "narrow app, sync handler (one in-memory SQLite round trip between check and act)",
            narrow_app,
            "/sync-simulations",
        ),
    )
    for title, starter, path in targets:
        print(f"\n# HTTP race: {title}, {WORKERS} requests per attempt")
        with starter() as target:
            http_rates = {}
            for mode in (Mode.GATHER, Mode.LAST_BYTE):
                hits, per = http_hit_rate(target, mode, http_attempts, path)
                http_rates[mode] = hits
                print(
                    f"  {mode.value:9} hit {hits}/{http_attempts} "
                    f"({100 * hits / http_attempts:.1f}%), {per * 1000:.1f} ms/attempt"
                )
            medians = {}
            for mode in (Mode.GATHER, Mode.LAST_BYTE):
                times = http_time_to_detection(target, mode, http_runs, budget=2.0, path=path)
                found = [t for t in times if t is not None]
                medians[mode] = statistics.median(found) if found else None
                print(f"  {mode.value:9} time to first detection (2 s budget): {_ttf(times, 2.0)}")
            gather_median, last_median = medians[Mode.GATHER], medians[Mode.LAST_BYTE]
            if gather_median and last_median:
                print(
                    "  ratio median time to first detection gather/last-byte: "
                    f"{gather_median / last_median:.1f}x"
                )
            ratio = _ratio(
                http_rates[Mode.LAST_BYTE], http_rates[Mode.GATHER], http_attempts, http_attempts
            )
            print(f"  ratio last-byte/gather (hit rate per attempt): {ratio}")
    print("\nShared 2-core machine: absolute figures are noisy; compare the ratios.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
