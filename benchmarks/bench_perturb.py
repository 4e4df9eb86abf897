"""Schedule perturbation (harness/perturb_plugin.py) on the narrow-window projects, in one run.

The projects are tests/data/perturb/quota (threads: a check-then-insert with no GIL release) and
tests/data/perturb/inbox (asyncio: check, await a save that never suspends, set). Each is copied
into a temp dir as the buggy base (``base/``) and as the fixed tree (``base/`` + ``head/``), and
the claim's test (tests/perturb_repos.py TESTS) is run with pytest, as separate processes unless
said otherwise. What is measured:

1. Reproduction per run: N pytest processes of the claim's test on the base, plain, and N
   perturbed with seeds 1..N (quota: ``preempt``, ``pct``; inbox: ``auto``). Each process is one
   run, exactly what a user gets from one command. Prints failure rates and the ratio
   perturbed/plain. The same seeds are also run as N rounds in one process
   (``--count-rounds N``), plus more modes, as per-round rates.
2. False alarms: the fixed tree, 1000 seeded rounds in one process (``--count-rounds 1000``):
   quota under ``preempt`` and ``pct``, inbox (both of its tests) under ``auto``, ``preempt`` and
   ``pct``. Every failure is a false alarm.
3. Overhead of the claim's quota test, from pytest's own call-phase duration of each round
   (``report.duration`` of the ``call`` phase: the test body plus the plugin's per-test tracer
   start/stop, not collection or reporting), R rounds in one process per variant, one process at
   a time. Plain rounds have no perturbation, so the plugin does not parametrise them; a tiny
   recorder plugin written to the temp dir (``--bench-rounds R``) does it instead.
   - tracer-only factor: ``preempt:p=0`` (the line tracer runs and draws its seeded number at
     every line of quota/store.py, but never switches) / plain, median per round;
   - preempt factor: ``preempt`` (p=0.5 sleep(0) switches) / plain, median per round; ``pct``
     is printed too. Measured on the base and on the fixed tree (where every variant passes, so
     the work per round is the same apart from the perturbation).
4. Replay: the ``replay:`` line printed by the first failing ``preempt`` per-run process on the
   quota base is rerun N times as separate processes; k/N reproduced (the test failed), and how
   many failed with the identical assertion text. The same for the first failing ``pct`` quota run
   and ``auto`` inbox run, with fewer reruns, for information.

Subprocesses run with PYTEST_DISABLE_PLUGIN_AUTOLOAD=1 (the global env's pytest-benchmark
misbehaves) and ``-p harness.perturb_plugin`` (``-p anyio`` for inbox) ``-p no:cacheprovider``
instead; those flags are added to the replay line, which otherwise runs as printed.

    python benchmarks/bench_perturb.py            # full run (N=100, 1000 rounds; a few minutes)
    python benchmarks/bench_perturb.py --quick    # N=20, 200 rounds

Goals (exit 1 when one is missed): quota ``preempt`` reproduces in >= 99% of runs, 0 false
alarms in every row of 2, and the quota ``preempt`` replay reproduces N/N. Timings are noisy on a
shared machine (2 busy cores here); the ratios, measured side by side in one run, are the point.
Nothing here is asserted in a test.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.perturb_repos import DATA, FIX_FILES, SYNC_TESTS, TESTS  # noqa: E402

#: The recorder plugin (a module on PYTHONPATH in the temp dir): call-phase outcome and duration
#: of every test, written as JSON to BENCH_REC_OUT; ``--bench-rounds N`` parametrises plain runs.
RECORDER = "fixguard_bench_recorder"
RECORDER_SOURCE = """
import json
import os

import pytest

_rows = []


def pytest_addoption(parser):
    parser.addoption("--bench-rounds", type=int, default=0)


def pytest_generate_tests(metafunc):
    rounds = metafunc.config.getoption("bench_rounds")
    if rounds > 1:
        metafunc.fixturenames.append("_bench_round")
        metafunc.parametrize(
            "_bench_round", range(rounds), indirect=True, ids=[f"b{r + 1}" for r in range(rounds)]
        )


@pytest.fixture
def _bench_round(request):
    return request.param


def pytest_runtest_logreport(report):
    if report.when == "call" or report.outcome != "passed":
        _rows.append([report.nodeid, report.when, report.outcome, report.duration])


def pytest_sessionfinish(session):
    out = os.environ.get("BENCH_REC_OUT")
    if out:
        with open(out, "w", encoding="utf-8") as handle:
            json.dump(_rows, handle)
"""
TIMEOUT = 300.0


@dataclass(frozen=True)
class Project:
    kind: str
    base: Path
    head: Path
    test: str
    files: str
    plugins: tuple[str, ...]


@dataclass(frozen=True)
class Run:
    """One pytest process: exit code (None on timeout), output and wall seconds."""

    code: int | None
    out: str
    seconds: float

    @property
    def failed(self) -> bool:
        return self.code == 1

    @property
    def broken(self) -> bool:
        return self.code not in (0, 1)


@dataclass(frozen=True)
class Rounds:
    """One process of many rounds: per test id, the call phase's (outcome, duration)."""

    rows: list[tuple[str, str, float]]
    code: int | None
    out: str

    @property
    def broken(self) -> bool:
        return self.code not in (0, 1)

    def count(self, outcome: str) -> int:
        return sum(1 for _, o, _ in self.rows if o == outcome)

    @property
    def durations(self) -> list[float]:
        return [d for _, _, d in self.rows]


class Bench:
    def __init__(self, tmp: Path, jobs: int) -> None:
        self.tmp = tmp
        self.jobs = jobs
        plugins = tmp / "plugins"
        plugins.mkdir()
        (plugins / f"{RECORDER}.py").write_text(RECORDER_SOURCE, encoding="utf-8")
        path = os.pathsep.join([str(ROOT), str(plugins)])
        self.env = {
            **os.environ,
            "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1",
            "PYTHONPATH": path,
            "PYTHONDONTWRITEBYTECODE": "1",
        }
        self.env.pop("FIXGUARD_OUTCOMES_OUT", None)
        self.processes = 0

    def project(self, kind: str, plugins: tuple[str, ...]) -> Project:
        base = self.tmp / f"{kind}-base"
        head = self.tmp / f"{kind}-head"
        shutil.copytree(DATA / kind / "base", base)
        shutil.copytree(DATA / kind / "base", head)
        shutil.copytree(DATA / kind / "head", head, dirs_exist_ok=True)
        return Project(kind, base, head, TESTS[kind], FIX_FILES[kind], plugins)

    def flags(self, project: Project) -> list[str]:
        flags = ["-p", "no:cacheprovider", "-p", "harness.perturb_plugin"]
        for plugin in project.plugins:
            flags += ["-p", plugin]
        return flags

    def command(self, project: Project, target: str, spec: str | None, *extra: str) -> list[str]:
        cmd = [sys.executable, "-m", "pytest", target, *self.flags(project), "-q"]
        if spec is not None:
            cmd.append(f"--harness-perturb={spec}")
        return [*cmd, *extra]

    def run(self, cmd: Sequence[str], cwd: Path, env: dict[str, str] | None = None) -> Run:
        self.processes += 1
        started = time.perf_counter()
        try:
            done = subprocess.run(
                list(cmd),
                cwd=cwd,
                env=env or self.env,
                capture_output=True,
                text=True,
                timeout=TIMEOUT,
            )
        except subprocess.TimeoutExpired as exc:
            out = exc.stdout if isinstance(exc.stdout, str) else ""
            return Run(None, out, time.perf_counter() - started)
        return Run(done.returncode, done.stdout + done.stderr, time.perf_counter() - started)

    def many(self, commands: Iterable[Sequence[str]], cwd: Path) -> list[Run]:
        with ThreadPoolExecutor(self.jobs) as pool:
            return list(pool.map(lambda c: self.run(c, cwd), commands))

    def per_run(
        self, project: Project, mode: str | None, seeds: range, test: str | None = None
    ) -> list[Run]:
        target = test or project.test
        return self.many(
            (self.command(project, target, _spec(mode, seed, project.files)) for seed in seeds),
            project.base,
        )

    def rounds(
        self,
        project: Project,
        tree: Path,
        mode: str | None,
        rounds: int,
        target: str | None = None,
        extra: str = "",
    ) -> Rounds:
        """`rounds` rounds in one process: seeds 1..rounds perturbed, or plain rounds."""
        out = self.tmp / f"rec-{uuid.uuid4().hex}.json"
        env = {**self.env, "BENCH_REC_OUT": str(out)}
        target = target or project.test
        if mode is None:
            cmd = self.command(project, target, None, "-p", RECORDER, f"--bench-rounds={rounds}")
        else:
            spec = _spec(mode, 1, project.files) + extra
            cmd = self.command(project, target, spec, "-p", RECORDER, f"--count-rounds={rounds}")
        run = self.run(cmd, tree, env)
        rows: list[tuple[str, str, float]] = []
        if out.exists():
            for nodeid, when, outcome, duration in json.loads(out.read_text(encoding="utf-8")):
                # A failed setup or teardown is a failure of that round too (no call row then).
                rows.append((nodeid, outcome if when == "call" else "error", duration))
            out.unlink()
        if run.broken or not rows:
            print(f"  ! {shlex.join(cmd)}: exit {run.code}\n{_tail(run.out)}", flush=True)
        return Rounds(rows, run.code, run.out)


def _spec(mode: str | None, seed: int, files: str) -> str | None:
    if mode is None:
        return None
    name, _, rest = mode.partition(":")
    return f"{name}:seed={seed}:files={files}" + (f":{rest}" if rest else "")


def _tail(text: str, lines: int = 15) -> str:
    return "\n".join("    " + line for line in text.strip().splitlines()[-lines:])


def _rate(runs: Sequence[Run]) -> tuple[int, int, int]:
    """(failed, broken, total) of separate runs."""
    return sum(r.failed for r in runs), sum(r.broken for r in runs), len(runs)


def _pct(k: int, n: int) -> str:
    return f"{k}/{n} ({100 * k / n:.1f}%)" if n else "0/0"


def _ratio(a: int, n_a: int, b: int, n_b: int) -> str:
    if b == 0:
        return f"inf (plain 0/{n_b})" if a else "n/a (both 0)"
    return f"{(a / n_a) / (b / n_b):.1f}x"


_REPLAY = re.compile(r"^replay: (.+)$", re.MULTILINE)
_ASSERT = re.compile(r"^E\s+(.+)$", re.MULTILINE)


def _assertion(out: str) -> str | None:
    match = _ASSERT.search(out)
    return match.group(1).strip() if match else None


def replay(bench: Bench, project: Project, runs: Sequence[Run], times: int) -> dict[str, object]:
    """Rerun the first failing run's replay line `times` times; reproduced and identical counts."""
    source = next((r for r in runs if r.failed and _REPLAY.search(r.out)), None)
    if source is None:
        return {"line": None, "failed": 0, "same": 0, "broken": 0, "n": times}
    match = _REPLAY.search(source.out)
    assert match is not None
    line = match.group(1).strip()
    argv = shlex.split(line)
    if argv[:3] != ["python", "-m", "pytest"]:
        raise SystemExit(f"unexpected replay line: {line!r}")
    cmd = [sys.executable, "-m", "pytest", *argv[3:], *bench.flags(project)]
    reruns = bench.many([cmd] * times, project.base)
    expected = _assertion(source.out)
    return {
        "line": line,
        "failed": sum(r.failed for r in reruns),
        "same": sum(r.failed and _assertion(r.out) == expected for r in reruns),
        "broken": sum(r.broken for r in reruns),
        "n": times,
        "assertion": expected,
        "example": next((r.out for r in reruns if not r.failed), None),
    }


def _median_ms(values: Sequence[float]) -> str:
    return f"{1000 * statistics.median(values):.2f} ms" if values else "-"


def _factor(values: Sequence[float], plain: Sequence[float]) -> float | None:
    if not values or not plain or statistics.median(plain) == 0:
        return None
    return statistics.median(values) / statistics.median(plain)


def _fmt_factor(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}x"


def _print_table(rows: list[list[str]]) -> None:
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(rows[0]))]
    for i, row in enumerate(rows):
        print("  " + " | ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)))
        if i == 0:
            print("  " + "-+-".join("-" * w for w in widths))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="N=20, 200 rounds")
    parser.add_argument("--jobs", type=int, default=2, help="pytest processes at a time (2)")
    args = parser.parse_args(argv)
    n = 20 if args.quick else 100
    alarm_rounds = 200 if args.quick else 1000
    timing_rounds = 50 if args.quick else 200
    extra_replays = 5 if args.quick else 20
    started = time.perf_counter()
    goals: list[tuple[str, str, bool]] = []

    with tempfile.TemporaryDirectory(prefix="bench-perturb-") as tmpdir:
        bench = Bench(Path(tmpdir), args.jobs)
        quota = bench.project("quota", ())
        inbox = bench.project("inbox", ("anyio",))
        inbox_sync = SYNC_TESTS["inbox"]

        # -- 1. reproduction per run ----------------------------------------------------------
        print(f"# 1. Reproduction on the base, {n} separate pytest runs each", flush=True)
        seeds = range(1, n + 1)
        per_run: dict[tuple[str, str], list[Run]] = {}
        for project, modes in ((quota, ("plain", "preempt", "pct")), (inbox, ("plain", "auto"))):
            for mode in modes:
                t0 = time.perf_counter()
                runs = bench.per_run(project, None if mode == "plain" else mode, seeds)
                per_run[project.kind, mode] = runs
                failed, broken, total = _rate(runs)
                plain_failed = _rate(per_run[project.kind, "plain"])[0]
                ratio = (
                    ""
                    if mode == "plain"
                    else f"; perturbed/plain {_ratio(failed, total, plain_failed, n)}"
                )
                note = f"; {broken} broken (exit not 0/1)" if broken else ""
                print(
                    f"  {project.kind:5} {mode:8} failed {_pct(failed, total)}{ratio}{note}"
                    f"  [{time.perf_counter() - t0:.0f}s, "
                    f"{statistics.median(r.seconds for r in runs):.2f}s/process]",
                    flush=True,
                )
                if broken:
                    example = next(r for r in runs if r.broken)
                    print(_tail(example.out))
        q_failed, _, q_total = _rate(per_run["quota", "preempt"])
        goals.append(
            (
                "quota preempt reproduces per run >= 99%",
                _pct(q_failed, q_total),
                q_failed >= 0.99 * q_total,
            )
        )

        print(f"\n# 1b. The same seeds as rounds in one process (--count-rounds {n})", flush=True)
        round_rows: list[tuple[str, str, Rounds]] = []
        for project, target, modes in (
            (quota, quota.test, ("plain", "preempt:p=0", "preempt", "pct")),
            (inbox, inbox.test, ("plain", "preempt", "pct", "explore", "auto")),
            (inbox, inbox_sync, ("plain", "preempt", "pct", "auto")),
        ):
            for mode in modes:
                spec_mode, _, extra = mode.partition(":")
                result = bench.rounds(
                    project,
                    project.base,
                    None if mode == "plain" else spec_mode,
                    n,
                    target,
                    f":{extra}" if extra else "",
                )
                name = f"{project.kind}{' (sync test)' if target == inbox_sync else ''}"
                round_rows.append((name, mode, result))
                print(
                    f"  {name:17} {mode:11} failed "
                    f"{_pct(result.count('failed') + result.count('error'), len(result.rows))}",
                    flush=True,
                )

        # -- 2. false alarms -------------------------------------------------------------------
        print(
            f"\n# 2. False alarms on the fixed tree, {alarm_rounds} rounds per process", flush=True
        )
        alarm_jobs = [
            (quota, quota.test, "preempt"),
            (quota, quota.test, "pct"),
            (inbox, "tests", "auto"),
            (inbox, "tests", "preempt"),
            (inbox, "tests", "pct"),
        ]
        with ThreadPoolExecutor(args.jobs) as pool:
            alarms = list(
                pool.map(
                    lambda job: bench.rounds(job[0], job[0].head, job[2], alarm_rounds, job[1]),
                    alarm_jobs,
                )
            )
        for (project, target, mode), result in zip(alarm_jobs, alarms, strict=True):
            bad = len(result.rows) - result.count("passed")
            what = "both tests" if target == "tests" else "claim's test"
            expected = alarm_rounds * (2 if target == "tests" else 1)
            complete = len(result.rows) == expected and not result.broken
            shown = f"{bad}/{len(result.rows)} rounds failed"
            if not complete:
                shown += f" (expected {expected} rounds, exit {result.code})"
            print(f"  {project.kind:5} {mode:8} ({what}): {shown}", flush=True)
            if bad:
                failing = sorted({nodeid for nodeid, o, _ in result.rows if o != "passed"})
                print("    e.g. " + ", ".join(failing[:3]))
                print(_tail(result.out, 25))
            goals.append(
                (f"0 false alarms, {project.kind} {mode} ({what})", shown, bad == 0 and complete)
            )

        # -- 3. overhead -----------------------------------------------------------------------
        print(
            f"\n# 3. Overhead: quota claim's test, call-phase duration, {timing_rounds} rounds "
            "per process, one process at a time",
            flush=True,
        )
        variants = ("plain", "preempt:p=0", "preempt", "pct")
        timing: dict[tuple[str, str], Rounds] = {}
        for label, tree in (("base", quota.base), ("fixed", quota.head)):
            for mode in variants:
                spec_mode, _, extra = mode.partition(":")
                timing[label, mode] = bench.rounds(
                    quota,
                    tree,
                    None if mode == "plain" else spec_mode,
                    timing_rounds,
                    extra=f":{extra}" if extra else "",
                )
        table = [["tree", *[f"{v} median" for v in variants], "tracer-only", "preempt", "pct"]]
        factors: dict[str, dict[str, float | None]] = {}
        for label in ("base", "fixed"):
            plain = timing[label, "plain"].durations
            factors[label] = {v: _factor(timing[label, v].durations, plain) for v in variants}
            table.append(
                [
                    label,
                    *[_median_ms(timing[label, v].durations) for v in variants],
                    _fmt_factor(factors[label]["preempt:p=0"]),
                    _fmt_factor(factors[label]["preempt"]),
                    _fmt_factor(factors[label]["pct"]),
                ]
            )
        _print_table(table)
        print(
            "  factors: median per-round call duration / plain median (tracer-only = "
            "preempt:p=0, never switches)"
        )

        # -- 4. replay -------------------------------------------------------------------------
        print("\n# 4. Replay of a failing run's replay line, separate processes", flush=True)
        replays = [
            ("quota preempt", quota, per_run["quota", "preempt"], n, True),
            ("quota pct", quota, per_run["quota", "pct"], extra_replays, False),
            ("inbox auto", inbox, per_run["inbox", "auto"], extra_replays, False),
        ]
        replay_results: list[tuple[str, dict[str, object], bool]] = []
        for name, project, runs, times, gated in replays:
            result = replay(bench, project, runs, times)
            replay_results.append((name, result, gated))
            print(f"  {name}: {result['line']}")
            if result["line"] is None:
                print("    no failing run to replay")
            else:
                print(
                    f"    reproduced {result['failed']}/{times}; identical assertion "
                    f"({result['assertion']}) {result['same']}/{times}"
                    + (f"; {result['broken']} broken" if result["broken"] else ""),
                    flush=True,
                )
                if result["example"] is not None and result["failed"] != times:
                    print("    a rerun that did not reproduce:")
                    print(_tail(str(result["example"]), 6))
            if gated:
                goals.append(
                    (
                        f"replay reproduces {name} {times}/{times}",
                        f"{result['failed']}/{times}",
                        result["failed"] == times,
                    )
                )

        # -- summary ---------------------------------------------------------------------------
        elapsed = time.perf_counter() - started
        print(f"\n# Summary ({'quick' if args.quick else 'full'} run)")
        rows = [["measure", "figure"]]
        for (kind, mode), runs in per_run.items():
            failed, _, total = _rate(runs)
            figure = _pct(failed, total)
            if mode != "plain":
                plain_failed = _rate(per_run[kind, "plain"])[0]
                figure += f"; perturbed/plain {_ratio(failed, total, plain_failed, n)}"
            rows.append([f"per run, {kind} {mode}", figure])
        for name, mode, result in round_rows:
            bad = result.count("failed") + result.count("error")
            rows.append([f"per round, {name} {mode}", _pct(bad, len(result.rows))])
        for (project, target, mode), result in zip(alarm_jobs, alarms, strict=True):
            bad = len(result.rows) - result.count("passed")
            which = "both tests" if target == "tests" else "claim's test"
            rows.append(
                [f"false alarms, {project.kind} {mode} ({which})", f"{bad}/{len(result.rows)}"]
            )
        for label in ("base", "fixed"):
            rows.append(
                [
                    f"overhead, quota {label}",
                    f"tracer-only {_fmt_factor(factors[label]['preempt:p=0'])}, "
                    f"preempt {_fmt_factor(factors[label]['preempt'])}, "
                    f"pct {_fmt_factor(factors[label]['pct'])} "
                    f"(plain {_median_ms(timing[label, 'plain'].durations)})",
                ]
            )
        for name, result, _ in replay_results:
            times = result["n"]
            rows.append(
                [
                    f"replay, {name}",
                    f"{result['failed']}/{times} reproduced, {result['same']}/{times} identical",
                ]
            )
        rows.append(["pytest processes, wall time", f"{bench.processes}, {elapsed:.0f}s"])
        _print_table(rows)
        print()
        missed = [g for g in goals if not g[2]]
        for goal, figure, met in goals:
            print(f"  {'met   ' if met else 'MISSED'} {goal}: {figure}")
        print("\nShared 2-core machine: timings are noisy; compare the ratios.")
        return 1 if missed else 0


if __name__ == "__main__":
    raise SystemExit(main())
