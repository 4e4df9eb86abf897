"""Benchmark: how fast each way of running the seed 002/004 races finds them.

For every program in tests/explore/explore_services.py it measures, in one run:

- the schedule explorer under each strategy: schedules and wall time to the first failure;
- plain `asyncio.run`, repeated for a wall-clock budget: runs and hits;
- stress: `asyncio.run` with a `sleep(0)` injected before each resumption with probability p;
- frontrun (if it installs into a side venv; never a project dependency), random and DPOR, on
  the whole scenario as one async worker and, where the race splits into callers, as workers.

Plain and stress runs use the explorer's oracles: the scenario's assertions plus a check that
no task it created is still pending when it returns (asyncio.run alone would hide the leak).

    python benchmarks/bench_explore.py                 # everything, ~3-5 minutes
    python benchmarks/bench_explore.py --frontrun skip --budget 1
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import subprocess
import sys
import time
import types
from collections.abc import Callable, Coroutine, Generator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SERVICES_DIR = ROOT / "tests" / "explore"
sys.path.insert(0, str(SERVICES_DIR))
sys.path.insert(0, str(ROOT))

import explore_services as programs  # noqa: E402

Scenario = Callable[[], Coroutine[Any, Any, None]]


# -- plain asyncio and stress ------------------------------------------------------------------


class Orphaned(AssertionError):
    pass


async def _with_orphan_check(scenario: Scenario) -> None:
    before = {t for t in asyncio.all_tasks() if not t.done()}
    await scenario()
    me = asyncio.current_task()
    left = [t for t in asyncio.all_tasks() if not t.done() and t not in before and t is not me]
    if left:
        raise Orphaned(f"{len(left)} task(s) pending at the end")


@types.coroutine
def _jittered(
    coro: Coroutine[Any, Any, Any], rng: random.Random, p: float
) -> Generator[Any, Any, Any]:
    """Drive `coro`, yielding to the loop (a bare sleep(0)) before a resumption with chance p."""
    send: Any = None
    error: BaseException | None = None
    while True:
        if rng.random() < p:
            try:
                yield None
            except BaseException as thrown:  # a cancellation landing on the injected yield
                error = thrown
        try:
            yielded = coro.throw(error) if error is not None else coro.send(send)
        except StopIteration as stop:
            return stop.value
        error = None
        try:
            send = yield yielded
        except BaseException as thrown:
            error = thrown


def _stress_loop_factory(rng: random.Random, p: float) -> Callable[[], asyncio.AbstractEventLoop]:
    def factory() -> asyncio.AbstractEventLoop:
        loop = asyncio.new_event_loop()

        def task_factory(loop: asyncio.AbstractEventLoop, coro: Any, **kw: Any) -> Any:
            async def wrapper() -> Any:
                return await _jittered(coro, rng, p)

            return asyncio.Task(wrapper(), loop=loop, **kw)

        loop.set_task_factory(task_factory)
        return loop

    return factory


def repeat_plain(
    scenario: Scenario, budget: float, stress_p: float | None, seed: int = 0
) -> dict[str, Any]:
    rng = random.Random(seed)
    runs = hits = 0
    first_at: int | None = None
    first_time: float | None = None
    started = time.perf_counter()
    while time.perf_counter() - started < budget:
        factory = _stress_loop_factory(rng, stress_p) if stress_p is not None else None
        runs += 1
        try:
            with asyncio.Runner(loop_factory=factory) as runner:
                runner.run(_with_orphan_check(scenario))
        except AssertionError:
            hits += 1
            if first_at is None:
                first_at, first_time = runs, time.perf_counter() - started
    return {"runs": runs, "hits": hits, "first_at": first_at, "first_time": first_time}


# -- the explorer ------------------------------------------------------------------------------


def run_explorer(scenario: Scenario, strategy: str, limit: int) -> dict[str, Any]:
    from harness.concurrency.explore import explore

    started = time.perf_counter()
    result = explore(scenario, strategy, schedules=limit)
    return {
        "found": not result.ok,
        "first_at": result.first_failure_at,
        "time": result.time_to_failure,
        "total": time.perf_counter() - started,
        "kind": result.failure.kind.value if result.failure else None,
        "token": repr(result.failing_run.strategy) if result.failing_run else None,
    }


# -- frontrun (child process, inside the frontrun venv, under the `frontrun` launcher) ----------


def _split_workers() -> dict[str, tuple[Callable[[bool], Callable[[], Any]], list[Any], Any]]:
    """The races written as frontrun wants them: setup, one async worker per caller, invariant."""

    def lock_setup(fixed: bool) -> Callable[[], Any]:
        def setup() -> Any:
            service = programs.LockSwapService(fixed)
            service.running = True
            return service

        return setup

    async def stop(s: Any) -> None:
        await s.stop()

    async def start(s: Any) -> None:
        await s.start()

    def event_setup(fixed: bool) -> Callable[[], Any]:
        return lambda: programs.StopEventService(fixed)

    async def start_then_stop(s: Any) -> None:
        await s.start()
        await asyncio.sleep(0)
        await s.stop()

    async def start_and_let_run(s: Any) -> None:
        await s.start()
        for _ in range(5):
            await asyncio.sleep(0)

    def event_ok(s: Any) -> bool:
        return not s.running or (s._task is not None and not s._task.done())

    def claim_setup(fixed: bool) -> Callable[[], Any]:
        def setup() -> Any:
            state = types.SimpleNamespace(
                store=programs.SimulationStore(fixed), bus=programs.EventBus({"a"}), results=[]
            )
            return state

        return setup

    async def attempt_a(s: Any) -> None:
        s.results.append(await programs.start_simulation(s.store, s.bus, "sim-1", "a", 0.0))

    async def attempt_b(s: Any) -> None:
        s.results.append(await programs.start_simulation(s.store, s.bus, "sim-1", "b", 10.0))

    def claim_ok(s: Any) -> bool:
        return all(
            s.store.get("sim-1") is record
            for status, record, runner in s.results
            if status == "started" and runner is not None and not runner.done()
        )

    return {
        "lock_swap": (lock_setup, [stop, start, stop], lambda s: s.overlaps == 0),
        "stop_event": (event_setup, [start_then_stop, start_and_let_run], event_ok),
        "claim_rollback": (claim_setup, [attempt_a, attempt_b], claim_ok),
    }


def frontrun_child(total_timeout: float) -> None:
    from frontrun import explore as frontrun_explore

    def whole(scenario: Scenario) -> Callable[[Any], Coroutine[Any, Any, None]]:
        async def worker(state: Any) -> None:
            await _with_orphan_check(scenario)

        return worker

    def verdict(**kw: Any) -> dict[str, Any]:
        started = time.perf_counter()
        try:
            result = frontrun_explore(**kw)
            if asyncio.iscoroutine(result):
                result = asyncio.run(result)
        except Exception as error:  # frontrun's own refusal or crash: report it as such
            return {"verdict": "error", "note": f"{type(error).__name__}: {error}"[:160]}
        note = (result.explanation or "").strip().splitlines()
        holds = bool(result.property_holds)
        text = note[0][:160] if note else ""
        inconclusive = "inconclusive" in (result.explanation or "")
        return {
            "verdict": "holds" if holds else ("inconclusive" if inconclusive else "violation"),
            "runs": getattr(result, "num_explored", None),
            "time": time.perf_counter() - started,
            "note": text,
        }

    common = {"timeout_per_run": 0.5, "clock": "virtual", "total_timeout": total_timeout}
    kinds = {
        "random": {"strategy": "random", "max_attempts": 200, "seed": 0},
        "dpor": {"strategy": "dpor", "deadlock_timeout": 0.5, "max_executions": 200},
    }
    split = _split_workers()
    for name, (buggy, fixed, _) in programs.PROGRAMS.items():
        for kind, options in kinds.items():
            for version, scenario in (("buggy", buggy), ("fixed", fixed)):
                row = verdict(
                    setup=lambda: None,
                    workers=[whole(scenario)],
                    invariant=lambda s: True,
                    **common,
                    **options,
                )
                print(
                    json.dumps(
                        {
                            "program": name,
                            "form": "whole",
                            "strategy": kind,
                            "version": version,
                            **row,
                        }
                    ),
                    flush=True,
                )
            if name in split:
                setup, workers, invariant = split[name]
                for version, flag in (("buggy", False), ("fixed", True)):
                    row = verdict(
                        setup=setup(flag),
                        workers=workers,
                        invariant=invariant,
                        **common,
                        **options,
                    )
                    print(
                        json.dumps(
                            {
                                "program": name,
                                "form": "split",
                                "strategy": kind,
                                "version": version,
                                **row,
                            }
                        ),
                        flush=True,
                    )


def run_frontrun(venv: Path, total_timeout: float) -> tuple[list[dict[str, Any]], str]:
    python = venv / "bin" / "python"
    launcher = venv / "bin" / "frontrun"
    if not launcher.exists():
        made = subprocess.run(
            [sys.executable, "-m", "venv", str(venv)], capture_output=True, text=True
        )
        pip = (
            subprocess.run(
                [str(venv / "bin" / "pip"), "install", "-q", "frontrun"],
                capture_output=True,
                text=True,
                timeout=600,
            )
            if made.returncode == 0
            else made
        )
        if pip.returncode != 0 or not launcher.exists():
            return [], f"frontrun did not install: {(pip.stderr or pip.stdout).strip()[-200:]}"
    version = subprocess.run(
        [str(python), "-c", "import importlib.metadata as m; print(m.version('frontrun'))"],
        capture_output=True,
        text=True,
    ).stdout.strip()
    child = subprocess.run(
        [
            str(launcher),
            str(python),
            __file__,
            "--frontrun-child",
            "--frontrun-timeout",
            str(total_timeout),
        ],
        capture_output=True,
        text=True,
        timeout=3600,
    )
    rows = []
    for line in child.stdout.splitlines():
        if line.startswith("{"):
            rows.append(json.loads(line))
    note = (
        f"frontrun {version}"
        if rows
        else f"frontrun {version} produced nothing: {child.stderr[-300:]}"
    )
    return rows, note


# -- the table ---------------------------------------------------------------------------------


def _fmt_first(found: bool, at: int | None, seconds: float | None) -> str:
    if not found or at is None:
        return "miss"
    return f"#{at} {seconds * 1000:.0f}ms" if seconds is not None else f"#{at}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=float, default=2.0, help="seconds for plain and stress")
    parser.add_argument("--limit", type=int, default=1000, help="explorer schedule limit")
    parser.add_argument("--stress-p", type=float, default=0.3)
    parser.add_argument("--frontrun", choices=["auto", "skip"], default="auto")
    parser.add_argument(
        "--frontrun-venv", default=os.environ.get("FRONTRUN_VENV", "/tmp/fixguard-frontrun-venv")
    )
    parser.add_argument("--frontrun-timeout", type=float, default=20.0)
    parser.add_argument("--frontrun-child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--json", default=None, help="also write the raw figures here")
    args = parser.parse_args(argv)
    if args.frontrun_child:
        frontrun_child(args.frontrun_timeout)
        return 0

    strategies = [
        "mixed()",
        "pct(depth=3)",
        "random()",
        "hypothesis()",
        "exhaustive(preemptions=2)",
    ]
    figures: dict[str, Any] = {}
    for name, (buggy, _fixed, _) in programs.PROGRAMS.items():
        row: dict[str, Any] = {}
        for strategy in strategies:
            row[strategy] = run_explorer(buggy, strategy, args.limit)
        row["plain"] = repeat_plain(buggy, args.budget, None)
        row["stress"] = repeat_plain(buggy, args.budget, args.stress_p)
        figures[name] = row
        print(f"measured {name}", file=sys.stderr, flush=True)

    header = [
        "bug",
        *[s.split("(")[0] for s in strategies],
        f"asyncio.run {args.budget:g}s",
        f"stress p={args.stress_p:g} {args.budget:g}s",
    ]
    lines = [header]
    for name, row in figures.items():
        cells = [name]
        for strategy in strategies:
            r = row[strategy]
            cells.append(_fmt_first(r["found"], r["first_at"], r["time"]))
        for key in ("plain", "stress"):
            r = row[key]
            first = f", first #{r['first_at']}" if r["first_at"] else ""
            cells.append(f"{r['hits']}/{r['runs']}{first}")
        lines.append(cells)
    print(
        "\nexplorer: '#N Tms' = failing schedule N found after T ms (limit "
        f"{args.limit}); plain/stress: hits/runs in the budget\n"
    )
    _print_table(lines)

    if args.frontrun == "auto":
        rows, note = run_frontrun(Path(args.frontrun_venv), args.frontrun_timeout)
        figures["frontrun"] = {"note": note, "rows": rows}
        print(f"\n{note}: 'violation' on buggy = found; on fixed = false alarm\n")
        if rows:
            table = [["bug", "form", "strategy", "buggy", "fixed", "note (buggy)"]]
            keyed: dict[tuple[str, str, str], dict[str, Any]] = {}
            for r in rows:
                keyed.setdefault((r["program"], r["form"], r["strategy"]), {})[r["version"]] = r
            for (program, form, strategy), pair in keyed.items():
                b, f = pair.get("buggy", {}), pair.get("fixed", {})
                table.append(
                    [program, form, strategy, _fr_cell(b), _fr_cell(f), b.get("note", "")[:70]]
                )
            _print_table(table)
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2, default=str))
    return 0


def _fr_cell(row: dict[str, Any]) -> str:
    if not row:
        return "-"
    if "time" in row:
        return f"{row['verdict']} ({row.get('runs')} runs, {row['time']:.1f}s)"
    return row["verdict"]


def _print_table(rows: list[list[str]]) -> None:
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(rows[0]))]
    for i, row in enumerate(rows):
        print(" | ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)))
        if i == 0:
            print("-+-".join("-" * w for w in widths))


if __name__ == "__main__":
    sys.exit(main())
