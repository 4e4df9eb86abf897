"""Schedule perturbation (harness/perturb_plugin.py) on the narrow-window projects, in one run.

The projects are tests/data/perturb/quota (threads: a check-then-insert with no GIL release),
tests/data/perturb/inbox (asyncio: check, await a save that never suspends, set) and
tests/data/perturb/cache (threads: has() takes an RLock, add() checks then stores outside it;
only the first thread can ever see the key missing). Each is made a two-commit git repo
(tests/perturb_repos.py make_repo) in a temp dir, and checked out as the buggy base (``HEAD~1``)
and the fixed tree (``HEAD``); the claim's test (tests/perturb_repos.py TESTS) is run with pytest,
as separate processes unless said otherwise.

Modes are the plugin's, on the fix's file (FIX_FILES), plus ``+hot`` modes: what ``harness
verify`` actually runs. Their files carry the hot lines, computed exactly as verify does:
``harness.verify.perturbation.targets(repo, "HEAD~1", "HEAD", (), [test])`` and
``Targets.spec(mode, side, tree, seed)``, side "base" (the diff's old lines) on the base tree and
"head" (its new lines) on the fixed tree; ``preempt+hot`` is ``preempt`` with those files
(``auto+hot`` for inbox). At a hot line event a thread stalls until the other threads have run a
few line events of the files (HOT_PROGRESS), at most HOT_WAIT: odd seeds at every hot line event
and nowhere else, even seeds at half of them plus the usual random sleep(0) hand-offs; all hot
stalls of one test stop after 0.25 s (HOT_BUDGET). The ``+hot`` rows split odd-seed and
even-seed rounds (the two styles). What is measured:

1. Reproduction per run: N pytest processes of the claim's test on the base, plain, and N
   perturbed with seeds 1..N (quota: ``preempt``, ``pct``, ``preempt+hot``; inbox: ``auto``;
   cache: ``preempt``, ``preempt+hot``). Each process is one run, exactly what a user gets from
   one command. Prints failure rates and the ratio perturbed/plain. The same seeds are also run
   as N rounds in one process (``--count-rounds N``), plus more modes, as per-round rates.
2. False alarms: the fixed tree, seeded rounds in one process (``--count-rounds``), 1000 per row
   except quota ``preempt+hot``: quota under ``preempt``, ``pct`` and ``preempt+hot``; inbox
   (both of its tests) under ``auto``, ``preempt``, ``pct`` and ``auto+hot``; cache under
   ``preempt`` and ``preempt+hot``. Every failure is a false alarm. Quota ``preempt+hot`` runs
   300 rounds: every acquire() on the fixed tree crosses hot lines inside the lock, so each
   round spends its whole 0.25 s stall budget (about 0.3 s a round measured), and 1000 rounds
   would take about 5 minutes.
3. Overhead of the claim's quota test, from pytest's own call-phase duration of each round
   (``report.duration`` of the ``call`` phase: the test body plus the plugin's per-test tracer
   start/stop, not collection or reporting), R rounds in one process per variant, one process at
   a time. Plain rounds have no perturbation, so the plugin does not parametrise them; a tiny
   recorder plugin written to the temp dir (``--bench-rounds R``) does it instead.
   - tracer-only factor: ``preempt:p=0`` (the line tracer runs and draws its seeded number at
     every line of quota/store.py, but never switches) / plain, median per round;
   - preempt factor: ``preempt`` (p=0.5 sleep(0) switches) / plain, median per round; ``pct``
     and ``preempt+hot`` are printed too. Every quota round spends the whole hot-stall budget:
     on the fixed tree the stalls fall inside the lock, one thread at a time, so a round takes
     at least 0.25 s; on the base the threads stall side by side, and a round takes a fraction
     of that. Measured on the base and on the fixed tree (where every variant passes, so the work
     per round is the same apart from the perturbation).
4. Replay: the ``replay:`` line printed by the first failing ``preempt`` per-run process on the
   quota base is rerun N times as separate processes; k/N reproduced (the test failed), and how
   many failed with the identical assertion text. The same for the first failing ``pct`` and
   ``preempt+hot`` quota runs, ``auto`` inbox run and ``preempt+hot`` cache run, with fewer
   reruns, for information.

Subprocesses run with PYTEST_DISABLE_PLUGIN_AUTOLOAD=1 (the global env's pytest-benchmark
misbehaves) and ``-p harness.perturb_plugin`` (``-p anyio`` for inbox) ``-p no:cacheprovider``
instead; those flags are added to the replay line, which otherwise runs as printed.

    python benchmarks/bench_perturb.py            # full run (N=100, 1000 rounds; ~15 min here)
    python benchmarks/bench_perturb.py --quick    # N=20, 200 rounds

Goals (exit 1 when one is missed): quota ``preempt`` reproduces in >= 99% of runs; cache
``preempt+hot`` in >= 90% of its odd-seed runs (the hot style), and the chance that all three of
verify's base seeds (1, 2, 3) miss, from the measured odd and even rates, is <= 1%; 0 false
alarms in every row of 2; and the quota ``preempt`` replay reproduces N/N. Timings are noisy on a shared machine (2 busy cores here); the ratios,
measured side by side in one run, are the point. Nothing here is asserted in a test.

An even seed opens cache's window only when the first thread happens to stall at the store line
(one coin flip at a hot line), so about half the even seeds reproduce: the goals rest on the odd
seeds, and on what verify's three seeds give together. The odd/even split in the rows shows which
style fell short.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
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

from harness.perturb_plugin import HOT_BUDGET, Spec  # noqa: E402
from harness.verify.perturbation import targets  # noqa: E402
from tests.perturb_repos import FIX_FILES, SYNC_TESTS, TESTS, checkout, make_repo  # noqa: E402

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
#: False-alarm rounds of quota ``preempt+hot`` (at most): every acquire() on the fixed tree
#: crosses hot lines inside the lock, so a round spends its whole HOT_BUDGET stalling (about
#: 0.3 s a round measured), and 1000 rounds would take about 5 minutes.
QUOTA_HOT_ALARM_ROUNDS = 300


@dataclass(frozen=True)
class Project:
    kind: str
    base: Path
    head: Path
    test: str
    files: str
    plugins: tuple[str, ...]
    #: The spec's files with hot lines, as verify builds them: side "base" for the base tree,
    #: side "head" for the fixed tree.
    hot_base: str
    hot_head: str

    def files_for(self, tree: Path, hot: bool) -> str:
        if not hot:
            return self.files
        return self.hot_base if tree == self.base else self.hot_head


def _mode(label: str) -> tuple[str | None, bool, str]:
    """A row's mode label -> (plugin mode or None for plain, hot lines?, extra spec fields):
    ``preempt+hot`` -> ("preempt", True, ""), ``preempt:p=0`` -> ("preempt", False, ":p=0")."""
    if label == "plain":
        return None, False, ""
    name, _, extra = label.partition(":")
    hot = name.endswith("+hot")
    return name.removesuffix("+hot"), hot, f":{extra}" if extra else ""


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

    def parity(self) -> tuple[tuple[int, int], tuple[int, int]]:
        """((failed, rounds) of odd seeds, (failed, rounds) of even seeds); round N has seed N."""
        counts = {1: [0, 0], 0: [0, 0]}
        for nodeid, outcome, _ in self.rows:
            match = _ROUND.search(nodeid)
            if match is None:
                continue
            cell = counts[int(match.group(1)) % 2]
            cell[0] += outcome != "passed"
            cell[1] += 1
        return (counts[1][0], counts[1][1]), (counts[0][0], counts[0][1])


_ROUND = re.compile(r"round(\d+)\]$")


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
        """The kind's git repo, its base (HEAD~1) and fixed (HEAD) trees, and the hot-line files
        verify would pass on each (targets(...).spec(...), sides "base" and "head")."""
        repo = make_repo(kind, self.tmp / f"{kind}-repo")
        base = checkout(repo, "HEAD~1", self.tmp / f"{kind}-base")
        head = checkout(repo, "HEAD", self.tmp / f"{kind}-head")
        found = targets(repo, "HEAD~1", "HEAD", (), [TESTS[kind]])
        hot: dict[str, str] = {}
        for side, tree in (("base", base), ("head", head)):
            spec = found.spec("preempt", side, tree, 1)
            if spec is None:
                raise SystemExit(f"{kind}: verify would not perturb the {side} tree")
            hot[side] = ",".join(Spec.parse(spec).files)
            if "@" not in hot[side]:
                raise SystemExit(f"{kind}: no hot lines on the {side} side: {spec}")
        return Project(
            kind, base, head, TESTS[kind], FIX_FILES[kind], plugins, hot["base"], hot["head"]
        )

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
        self, project: Project, label: str, seeds: range, test: str | None = None
    ) -> list[Run]:
        """One process per seed on the base; `label` is a row's mode (``plain``, ``preempt+hot``)."""
        mode, hot, extra = _mode(label)
        files = project.files_for(project.base, hot)
        target = test or project.test
        return self.many(
            (self.command(project, target, _spec(mode, seed, files, extra)) for seed in seeds),
            project.base,
        )

    def rounds(
        self, project: Project, tree: Path, label: str, rounds: int, target: str | None = None
    ) -> Rounds:
        """`rounds` rounds in one process: seeds 1..rounds perturbed, or plain rounds."""
        out = self.tmp / f"rec-{uuid.uuid4().hex}.json"
        env = {**self.env, "BENCH_REC_OUT": str(out)}
        target = target or project.test
        mode, hot, extra = _mode(label)
        spec = _spec(mode, 1, project.files_for(tree, hot), extra)
        if spec is None:
            cmd = self.command(project, target, None, "-p", RECORDER, f"--bench-rounds={rounds}")
        else:
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


def _spec(mode: str | None, seed: int, files: str, extra: str = "") -> str | None:
    if mode is None:
        return None
    return f"{mode}:seed={seed}:files={files}{extra}"


def _tail(text: str, lines: int = 15) -> str:
    return "\n".join("    " + line for line in text.strip().splitlines()[-lines:])


def _rate(runs: Sequence[Run]) -> tuple[int, int, int]:
    """(failed, broken, total) of separate runs."""
    return sum(r.failed for r in runs), sum(r.broken for r in runs), len(runs)


def _pct(k: int, n: int) -> str:
    return f"{k}/{n} ({100 * k / n:.1f}%)" if n else "0/0"


def _split(odd: tuple[int, int], even: tuple[int, int]) -> str:
    return f"odd seeds {_pct(*odd)}, even seeds {_pct(*even)}"


def _run_parity(runs: Sequence[Run]) -> tuple[tuple[int, int], tuple[int, int]]:
    """Per-run counterpart of Rounds.parity: run i has seed i + 1."""
    odd = [r for i, r in enumerate(runs) if (i + 1) % 2]
    even = [r for i, r in enumerate(runs) if not (i + 1) % 2]
    return (sum(r.failed for r in odd), len(odd)), (sum(r.failed for r in even), len(even))


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
    quota_hot_alarm_rounds = min(alarm_rounds, QUOTA_HOT_ALARM_ROUNDS)
    timing_rounds = 50 if args.quick else 200
    extra_replays = 5 if args.quick else 20
    started = time.perf_counter()
    goals: list[tuple[str, str, bool]] = []

    with tempfile.TemporaryDirectory(prefix="bench-perturb-") as tmpdir:
        bench = Bench(Path(tmpdir), args.jobs)
        quota = bench.project("quota", ())
        inbox = bench.project("inbox", ("anyio",))
        cache = bench.project("cache", ())
        inbox_sync = SYNC_TESTS["inbox"]
        print("# Hot-line files, as verify passes them (side base on the base, head on the fixed)")
        for project in (quota, inbox, cache):
            print(f"  {project.kind:5} base {project.hot_base}; fixed {project.hot_head}")

        # -- 1. reproduction per run ----------------------------------------------------------
        print(f"\n# 1. Reproduction on the base, {n} separate pytest runs each", flush=True)
        seeds = range(1, n + 1)
        per_run: dict[tuple[str, str], list[Run]] = {}
        run_modes: tuple[tuple[Project, tuple[str, ...]], ...] = (
            (quota, ("plain", "preempt", "pct", "preempt+hot")),
            (inbox, ("plain", "auto")),
            (cache, ("plain", "preempt", "preempt+hot")),
        )
        for project, modes in run_modes:
            for mode in modes:
                t0 = time.perf_counter()
                runs = bench.per_run(project, mode, seeds)
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
                    f"  {project.kind:5} {mode:11} failed {_pct(failed, total)}{ratio}{note}"
                    f"  [{time.perf_counter() - t0:.0f}s, "
                    f"{statistics.median(r.seconds for r in runs):.2f}s/process]",
                    flush=True,
                )
                if mode.endswith("+hot"):
                    print(f"  {'':5} {'':11} {_split(*_run_parity(runs))}", flush=True)
                if broken:
                    example = next(r for r in runs if r.broken)
                    print(_tail(example.out))
        failed, _, total = _rate(per_run["quota", "preempt"])
        goals.append(
            ("quota preempt reproduces per run >= 99%", _pct(failed, total), failed >= 0.99 * total)
        )
        # What verify meets: the base's runs use seeds 1, 2, 3 and one reproduction suffices.
        (odd, n_odd), (even, n_even) = _run_parity(per_run["cache", "preempt+hot"])
        miss = (1 - odd / n_odd) ** 2 * (1 - even / n_even)
        goals.append(
            (
                "cache preempt+hot: odd seeds (the hot style) reproduce per run >= 90%",
                _pct(odd, n_odd),
                odd >= 0.9 * n_odd,
            )
        )
        goals.append(
            (
                "cache preempt+hot: seeds 1-3 (verify's) all miss <= 1%",
                f"{100 * miss:.2f}% (odd {_pct(odd, n_odd)}, even {_pct(even, n_even)})",
                miss <= 0.01,
            )
        )

        print(f"\n# 1b. The same seeds as rounds in one process (--count-rounds {n})", flush=True)
        round_rows: list[tuple[str, str, Rounds]] = []
        round_modes: tuple[tuple[Project, str, tuple[str, ...]], ...] = (
            (quota, quota.test, ("plain", "preempt:p=0", "preempt", "pct", "preempt+hot")),
            (inbox, inbox.test, ("plain", "preempt", "pct", "explore", "auto")),
            (inbox, inbox_sync, ("plain", "preempt", "pct", "auto", "auto+hot")),
            (cache, cache.test, ("plain", "preempt", "preempt+hot")),
        )
        for project, target, modes in round_modes:
            for mode in modes:
                result = bench.rounds(project, project.base, mode, n, target)
                name = f"{project.kind}{' (sync test)' if target == inbox_sync else ''}"
                round_rows.append((name, mode, result))
                split = f"; {_split(*result.parity())}" if mode.endswith("+hot") else ""
                print(
                    f"  {name:17} {mode:11} failed "
                    f"{_pct(result.count('failed') + result.count('error'), len(result.rows))}"
                    f"{split}",
                    flush=True,
                )

        # -- 2. false alarms -------------------------------------------------------------------
        print(
            f"\n# 2. False alarms on the fixed tree, {alarm_rounds} rounds per process "
            f"(quota preempt+hot: {quota_hot_alarm_rounds}, each round spends its "
            f"{HOT_BUDGET} s hot-stall budget)",
            flush=True,
        )
        # The slowest first, so the two at a time finish close together.
        alarm_jobs = [
            (quota, quota.test, "preempt+hot", quota_hot_alarm_rounds),
            (quota, quota.test, "preempt", alarm_rounds),
            (quota, quota.test, "pct", alarm_rounds),
            (inbox, "tests", "auto", alarm_rounds),
            (inbox, "tests", "preempt", alarm_rounds),
            (inbox, "tests", "pct", alarm_rounds),
            (inbox, "tests", "auto+hot", alarm_rounds),
            (cache, cache.test, "preempt", alarm_rounds),
            (cache, cache.test, "preempt+hot", alarm_rounds),
        ]
        t0 = time.perf_counter()
        with ThreadPoolExecutor(args.jobs) as pool:
            alarms = list(
                pool.map(
                    lambda job: bench.rounds(job[0], job[0].head, job[2], job[3], job[1]),
                    alarm_jobs,
                )
            )
        for (project, target, mode, rounds), result in zip(alarm_jobs, alarms, strict=True):
            bad = len(result.rows) - result.count("passed")
            what = "both tests" if target == "tests" else "claim's test"
            expected = rounds * (2 if target == "tests" else 1)
            complete = len(result.rows) == expected and not result.broken
            shown = f"{bad}/{len(result.rows)} rounds failed"
            if not complete:
                shown += f" (expected {expected} rounds, exit {result.code})"
            print(f"  {project.kind:5} {mode:11} ({what}): {shown}", flush=True)
            if bad:
                failing = sorted({nodeid for nodeid, o, _ in result.rows if o != "passed"})
                print("    e.g. " + ", ".join(failing[:3]))
                print(_tail(result.out, 25))
            goals.append(
                (f"0 false alarms, {project.kind} {mode} ({what})", shown, bad == 0 and complete)
            )
        print(f"  [{time.perf_counter() - t0:.0f}s]", flush=True)

        # -- 3. overhead -----------------------------------------------------------------------
        print(
            f"\n# 3. Overhead: quota claim's test, call-phase duration, {timing_rounds} rounds "
            "per process, one process at a time",
            flush=True,
        )
        variants = ("plain", "preempt:p=0", "preempt", "pct", "preempt+hot")
        timing: dict[tuple[str, str], Rounds] = {}
        for label, tree in (("base", quota.base), ("fixed", quota.head)):
            for mode in variants:
                timing[label, mode] = bench.rounds(quota, tree, mode, timing_rounds)
        factor_columns = (
            ("tracer-only", "preempt:p=0"),
            ("preempt", "preempt"),
            ("pct", "pct"),
            ("preempt+hot", "preempt+hot"),
        )
        table = [
            ["tree", *[f"{v} median" for v in variants], *[name for name, _ in factor_columns]]
        ]
        factors: dict[str, dict[str, float | None]] = {}
        for label in ("base", "fixed"):
            plain = timing[label, "plain"].durations
            factors[label] = {v: _factor(timing[label, v].durations, plain) for v in variants}
            table.append(
                [
                    label,
                    *[_median_ms(timing[label, v].durations) for v in variants],
                    *[_fmt_factor(factors[label][v]) for _, v in factor_columns],
                ]
            )
        _print_table(table)
        print(
            "  factors: median per-round call duration / plain median (tracer-only = "
            f"preempt:p=0, never switches; preempt+hot stalls at most {HOT_BUDGET} s a round)"
        )

        # -- 4. replay -------------------------------------------------------------------------
        print("\n# 4. Replay of a failing run's replay line, separate processes", flush=True)
        replays = [
            ("quota preempt", quota, per_run["quota", "preempt"], n, True),
            ("quota pct", quota, per_run["quota", "pct"], extra_replays, False),
            ("quota preempt+hot", quota, per_run["quota", "preempt+hot"], extra_replays, False),
            ("inbox auto", inbox, per_run["inbox", "auto"], extra_replays, False),
            ("cache preempt+hot", cache, per_run["cache", "preempt+hot"], extra_replays, False),
        ]
        replay_results: list[tuple[str, dict[str, object], bool]] = []
        for name, project, runs, times, gated in replays:
            replayed = replay(bench, project, runs, times)
            replay_results.append((name, replayed, gated))
            print(f"  {name}: {replayed['line']}")
            if replayed["line"] is None:
                print("    no failing run to replay")
            else:
                print(
                    f"    reproduced {replayed['failed']}/{times}; identical assertion "
                    f"({replayed['assertion']}) {replayed['same']}/{times}"
                    + (f"; {replayed['broken']} broken" if replayed["broken"] else ""),
                    flush=True,
                )
                if replayed["example"] is not None and replayed["failed"] != times:
                    print("    a rerun that did not reproduce:")
                    print(_tail(str(replayed["example"]), 6))
            if gated:
                goals.append(
                    (
                        f"replay reproduces {name} {times}/{times}",
                        f"{replayed['failed']}/{times}",
                        replayed["failed"] == times,
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
            if mode.endswith("+hot"):
                figure += f"; {_split(*_run_parity(runs))}"
            rows.append([f"per run, {kind} {mode}", figure])
        for name, mode, result in round_rows:
            bad = result.count("failed") + result.count("error")
            figure = _pct(bad, len(result.rows))
            if mode.endswith("+hot"):
                figure += f"; {_split(*result.parity())}"
            rows.append([f"per round, {name} {mode}", figure])
        for (project, target, mode, _), result in zip(alarm_jobs, alarms, strict=True):
            bad = len(result.rows) - result.count("passed")
            which = "both tests" if target == "tests" else "claim's test"
            rows.append(
                [f"false alarms, {project.kind} {mode} ({which})", f"{bad}/{len(result.rows)}"]
            )
        for label in ("base", "fixed"):
            rows.append(
                [
                    f"overhead, quota {label}",
                    ", ".join(
                        f"{name} {_fmt_factor(factors[label][v])}" for name, v in factor_columns
                    )
                    + f" (plain {_median_ms(timing[label, 'plain'].durations)})",
                ]
            )
        for name, replayed, _ in replay_results:
            reruns = replayed["n"]
            rows.append(
                [
                    f"replay, {name}",
                    f"{replayed['failed']}/{reruns} reproduced, {replayed['same']}/{reruns} identical",
                ]
            )
        rows.append(["pytest processes, wall time", f"{bench.processes}, {elapsed:.0f}s"])
        _print_table(rows)
        if quota_hot_alarm_rounds < alarm_rounds:
            print(
                f"  (quota preempt+hot false alarms: {quota_hot_alarm_rounds} rounds, not "
                f"{alarm_rounds}: each round on the fixed tree spends the {HOT_BUDGET} s budget)"
            )
        print()
        missed = [g for g in goals if not g[2]]
        for goal, figure, met in goals:
            print(f"  {'met   ' if met else 'MISSED'} {goal}: {figure}")
        print("\nShared 2-core machine: timings are noisy; compare the ratios.")
        return 1 if missed else 0


if __name__ == "__main__":
    raise SystemExit(main())
