"""The lab: run the baseline, then every mutant in isolated copies, k-of-n where it matters."""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from .. import git
from ..errors import TargetError, UserError
from ..forkserver import WarmRunner, WarmUnavailable
from ..outcomes import MutantStatus, RunOutcome
from ..perturb_plugin import Spec
from ..testrun import (
    TestRun,
    deselect_args,
    perturb_args,
    perturb_plugin_digest,
    run_pytest,
)
from .callers import def_headers
from .events import MutationReporter, NullReporter
from .families import Family
from .filters import (
    ALL_TESTS,
    covers,
    decide,
    is_kill,
    only_ids,
    select_tests,
    shard,
    should_stop,
)
from .inputs import EVERY_TEST, Inputs, environment, harness_digest
from .mutant import Mutant
from .options import MutantResult, MutationOptions, MutationResult
from .scope import Scope
from .store import ResultStore, cache_key
from .visit import Discovery, discover
from .warm import ForkServers
from .workspace import PROBE_MODULE, Workspace, workspaces

log = logging.getLogger(__name__)

#: sys.setswitchinterval values (seconds) cycled through on the repeats of a k-of-n mutant.
SWITCH_INTERVALS = (1e-4, 1e-5, 1e-3, 5e-3)


@dataclass(frozen=True)
class Baseline:
    duration: float
    engine: str
    #: file (repo-relative) → line → contexts (node ids; "" = ran at import time).
    lines: Mapping[str, Mapping[int, Sequence[str]]]
    concurrency_tests: frozenset[str]
    reaching: tuple[str, ...]
    #: Installed modules the baseline imported: the fork servers pre-import them.
    warm_modules: tuple[str, ...] = ()
    #: Tests that failed on the unmutated revision and were left out (`exclude_red_tests`).
    red_tests: tuple[str, ...] = ()
    #: Seconds per test's call phase, and per test file its tests' setup plus teardown (a
    #: module's fixtures are charged to whichever of its tests runs first).
    calls: Mapping[str, float] = field(default_factory=dict)
    fixtures: Mapping[str, float] = field(default_factory=dict)
    #: The longest share's time outside any test (start-up, collection, imports).
    startup: float = 0.0
    #: The first share's log tail, quoted when no test reaches the fix lines.
    log_tail: str = ""
    #: True when the coverage map came from the store (the tests' inputs are unchanged).
    reused: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "duration": self.duration,
            "engine": self.engine,
            "lines": {f: {str(n): list(c) for n, c in by.items()} for f, by in self.lines.items()},
            "concurrency_tests": sorted(self.concurrency_tests),
            "warm_modules": list(self.warm_modules),
            "red_tests": list(self.red_tests),
            "calls": dict(self.calls),
            "fixtures": dict(self.fixtures),
            "startup": self.startup,
            "log_tail": self.log_tail,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Baseline:
        return cls(
            duration=float(data["duration"]),
            engine=str(data["engine"]),
            lines={f: {int(n): tuple(c) for n, c in by.items()} for f, by in data["lines"].items()},
            concurrency_tests=frozenset(data["concurrency_tests"]),
            reaching=(),
            warm_modules=tuple(data["warm_modules"]),
            red_tests=tuple(data["red_tests"]),
            calls=dict(data["calls"]),
            fixtures=dict(data["fixtures"]),
            startup=float(data["startup"]),
            log_tail=str(data["log_tail"]),
            reused=True,
        )

    def timeout_for(self, tests: Sequence[str], options: MutationOptions) -> float:
        """A mutant run's time limit: `timeout_factor` times what its tests took unmutated.

        Each chosen test file is charged all of its fixture time, since a module's fixtures are
        set up for whichever of its tests runs first. The whole suite, or a test the baseline did
        not time, falls back to the whole baseline's duration. Never below `min_timeout`: a
        timeout counts as a kill, so a tight limit would be a false one.
        """
        return max(options.min_timeout, options.timeout_factor * self.expected(tests))

    def expected(self, tests: Sequence[str]) -> float:
        """Seconds one unmutated run of `tests` took (the whole baseline for ALL_TESTS)."""
        if tests != ALL_TESTS and all(t in self.calls for t in tests):
            files = {_test_file(t) for t in tests}
            fixtures = sum(self.fixtures.get(f, 0.0) for f in files)
            return self.startup + fixtures + sum(self.calls[t] for t in tests)
        return self.duration


def _test_file(nodeid: str) -> str:
    return nodeid.split("::", 1)[0]


def _validate(options: MutationOptions) -> None:
    if options.workers < 1:
        raise UserError(f"workers={options.workers!r}: must be >= 1", hint="use --workers 2")
    if options.repeats < 1:
        raise UserError(f"repeats={options.repeats!r}: must be >= 1", hint="use --repeats 3")
    if not 1 <= options.min_kills <= options.repeats:
        raise UserError(
            f"min_kills={options.min_kills!r}: must be between 1 and repeats={options.repeats}",
            hint="k-of-n needs 1 <= k <= n",
        )
    if options.tests is not None and not options.tests:
        raise UserError(
            "tests=[]: an empty test list selects nothing", hint="omit it to run all tests"
        )


def count_mutants(options: MutationOptions) -> int:
    """How many mutants `run_mutation(options)` will judge; what it finds is stored for it."""
    repo = Path(options.repo)
    rev = git.resolve_commit(repo, options.rev, field="rev")
    store = ResultStore(options.store)
    try:
        mutants, _ = _chosen(options, repo, rev, Inputs.at(repo, rev), store)
    finally:
        store.close()
    return len(mutants)


def _chosen(
    options: MutationOptions, repo: Path, rev: str, inputs: Inputs, store: ResultStore
) -> tuple[list[Mutant], dict[str, int]]:
    """The scope's mutants this run judges (`mutant_ids`, `shard`), and the skipped counts."""
    found = _discover(options.scope, repo, rev, inputs, options.strict, store)
    return shard(only_ids(found.mutants, options.mutant_ids), options.shard), dict(found.skipped)


def run_mutation(
    options: MutationOptions, reporter: MutationReporter | None = None
) -> MutationResult:
    """Mutate the scope's fix lines and run each mutant against the tests that reach it."""
    reporter = reporter or NullReporter()
    _validate(options)
    repo = Path(options.repo)
    rev = git.resolve_commit(repo, options.rev, field="rev")
    scope = options.scope
    if rev != scope.rev:
        raise UserError(
            f"rev={options.rev!r}: resolves to {rev[:12]}, but the scope was built at "
            f"{scope.rev[:12]}",
            hint="build the scope and run the mutants at the same head revision",
        )
    inputs = Inputs.at(repo, rev, named=_test_files(options.tests))
    store = ResultStore(options.store)
    try:
        mutants, skipped = _chosen(options, repo, rev, inputs, store)
    except BaseException:
        store.close()
        raise
    reporter.scope_ready(scope, mutants, skipped)
    if not mutants:
        store.close()
        result = MutationResult(
            mutants=[], skipped=skipped, baseline_duration=0.0, scope=scope, no_mutants=True
        )
        reporter.run_finished(result)
        return result

    environment_hash = environment(options.python or "python3")
    files = sorted({m.file for m in mutants})
    measured_files = sorted({*files, *options.map_files})
    # The coverage map is a function of what the baseline's tests depend on: a push that leaves
    # those alone reuses it, and then only mutants without a stored result need worker copies.
    measure_key = cache_key(
        "baseline",
        inputs.for_tests(options.tests or EVERY_TEST),
        environment_hash,
        list(options.pytest_args),
        sorted(options.env.items()),
        options.setup,
        measured_files,
        options.exclude_red_tests,
    )
    try:
        reporter.baseline_started(options.tests)
        stored = store.get_record(measure_key)
        if stored is None and options.copies is not None:
            stored = options.copies.maps.get(measure_key)  # another claim measured it
        measured = Baseline.from_json(stored) if stored is not None else None
        plan: Plan | None = None
        if measured is not None:
            baseline = _reaching(measured, options, files, mutants)
            reporter.baseline_finished(baseline.duration, baseline.reaching, baseline.engine)
            plan = _plan(mutants, baseline, options, store, reporter, inputs, environment_hash, rev)
        if plan is None or plan.pending:
            count = len(plan.pending) if plan is not None else len(mutants)
            workers = max(1, min(options.workers, count))
            with _copies(options, repo, rev, workers) as (spaces, pooled):
                # A fork server costs about one plain run to start: worth it from two runs per
                # worker on. The baseline then runs in it too, instead of a new interpreter.
                # A pool's servers outlive this claim, so they are worth it from the first run.
                servers = pooled or (
                    ForkServers(options.python, options.env)
                    if options.fork and count >= 2 * len(spaces)
                    else None
                )
                try:
                    if plan is None:
                        measured = _measure(spaces, options, measured_files, servers)
                        store.put_record(measure_key, "baseline", measured.to_json())
                        if options.copies is not None:
                            options.copies.maps[measure_key] = measured.to_json()
                        baseline = _reaching(measured, options, files, mutants)
                        reporter.baseline_finished(
                            baseline.duration, baseline.reaching, baseline.engine
                        )
                        plan = _plan(
                            mutants,
                            baseline,
                            options,
                            store,
                            reporter,
                            inputs,
                            environment_hash,
                            rev,
                        )
                    worth = pooled is not None or len(plan.pending) >= 2 * len(spaces)
                    use = servers if worth else None
                    _run_pending(plan, spaces, baseline, options, store, reporter, rev, use)
                finally:
                    if servers is not None and pooled is None:
                        servers.close()
        results = [plan.results[m.id] for m in mutants if m.id in plan.results]
    finally:
        store.close()
    result = MutationResult(
        mutants=results,
        skipped=skipped,
        baseline_duration=baseline.duration,
        scope=scope,
        no_mutants=False,
        coverage_engine=baseline.engine,
        reaching_tests=baseline.reaching,
        red_tests=baseline.red_tests,
        baseline_reused=baseline.reused,
    )
    reporter.run_finished(result)
    return result


@contextmanager
def _copies(
    options: MutationOptions, repo: Path, rev: str, workers: int
) -> Iterator[tuple[list[Workspace], ForkServers | None]]:
    """The run's worker copies: leased from the verify run's pool (with its servers), or made
    for this run alone (servers: None, the caller decides)."""
    if options.copies is not None:
        with options.copies.lease(
            rev,
            workers,
            setup=options.setup,
            env=options.env,
            python=options.python,
            fork=options.fork,
        ) as leased:
            yield leased
        return
    with workspaces(
        repo, rev, workers, workdir=options.workdir, setup=options.setup, env=options.env
    ) as spaces:
        yield spaces, None


def _measure(
    spaces: Sequence[Workspace],
    options: MutationOptions,
    files: Sequence[str],
    servers: ForkServers | None = None,
) -> Baseline:
    """Run the tests unmutated with the line probe: which tests reach which lines of `files`."""
    # The whole suite is split across the worker copies (each runs its share of the test
    # files); a claim's few named tests run in one.
    shards = list(spaces) if options.tests is None and len(spaces) > 1 else [spaces[0]]
    with ThreadPoolExecutor(max_workers=len(shards), thread_name_prefix="fixguard-base") as pool:
        parts = list(
            pool.map(
                lambda k: _run_shard(shards[k], options, files, k, len(shards), servers),
                range(len(shards)),
            )
        )
    runs = [run for run, _ in parts]
    if all(run.outcome is RunOutcome.NO_TESTS for run in runs):
        raise UserError(
            f"tests={list(options.tests or [])!r}: pytest collected no tests at the revision",
            hint="name existing node ids, e.g. tests/test_x.py::test_y",
            where="baseline",
        )
    bad = [run for run in runs if run.outcome not in (RunOutcome.PASSED, RunOutcome.NO_TESTS)]
    red_only = all(run.outcome is RunOutcome.FAILED and run.failed for run in bad)
    if bad and not (options.exclude_red_tests and red_only):
        run = bad[0]
        failing = ", ".join(run.failed[:5]) or run.outcome.value
        raise TargetError(
            f"baseline: the tests do not pass on the unmutated revision ({run.outcome.value}: "
            f"{failing}); a mutant can only be judged against a green baseline",
            hint="fix the tests, or name the claim's passing tests with --tests",
            log_tail=run.log_tail,
        )
    red = frozenset(test for run in bad for test in run.failed)
    lines: dict[str, dict[int, list[str]]] = {}
    concurrency: set[str] = set()
    warm: set[str] = set()
    calls: dict[str, float] = {}
    fixtures: dict[str, float] = {}
    startup = 0.0
    engine = "none"
    for run, payloads in parts:
        if run.outcome is RunOutcome.NO_TESTS:
            continue
        if not payloads:
            raise TargetError(
                f"baseline: the line probe wrote no data; the project's pytest did not load "
                f"the {PROBE_MODULE} plugin",
                hint="check that pytest_args do not disable plugins (-p no:…) or PYTHONPATH",
                log_tail=run.log_tail,
            )
        engine = str(payloads[0].get("engine", engine))
        concurrency.update(payloads[0].get("concurrency", []))
        warm.update(payloads[0].get("warm", []))
        share_calls = payloads[0].get("durations", {})
        share_fixtures = payloads[0].get("fixtures", {})
        calls.update(share_calls)
        for test, seconds in share_fixtures.items():
            fixtures[_test_file(test)] = fixtures.get(_test_file(test), 0.0) + seconds
        timed = sum(share_calls.values()) + sum(share_fixtures.values())
        startup = max(startup, run.duration - timed)
        # Hits in child processes (a target server) carry the empty context: every test.
        for source in payloads:
            for filename, by_line in source.get("lines", {}).items():
                rel = _relative(filename, files, shards)
                if rel is None:
                    continue
                for n, contexts in by_line.items():
                    merged = lines.setdefault(rel, {}).setdefault(int(n), [])
                    merged.extend(c for c in contexts if c not in merged and c not in red)
    return Baseline(
        # A mutant's run may hold every test in one process: its timeout follows the sum.
        duration=sum(run.duration for run in runs),
        engine=engine,
        lines=lines,
        concurrency_tests=frozenset(concurrency),
        reaching=(),
        warm_modules=tuple(sorted(warm)),
        red_tests=tuple(sorted(red)),
        calls=calls,
        fixtures=fixtures,
        startup=startup,
        log_tail=runs[0].log_tail,
    )


def _reaching(
    baseline: Baseline, options: MutationOptions, files: Sequence[str], mutants: Sequence[Mutant]
) -> Baseline:
    """The baseline with the tests that reach the fix lines; none reaching is an error.

    The excluded tests (`exclude_tests`) are taken out of the map first: they judge no mutant.
    """
    baseline = _without(baseline, options.exclude_tests)
    reaching: set[str] = set()
    reached_any = False
    # The lines that show a mutant is reached: the fix lines, and where a hunk revert puts
    # removed lines back (a fix that only deleted code has no fix lines of its own).
    wanted = {(path, line) for path, lines_ in _scope_files(options, files) for line in lines_}
    wanted |= {(m.file, line) for m in mutants for line in m.reach}
    for path, line in sorted(wanted):
        contexts = baseline.lines.get(path, {}).get(line, [])
        reached_any = reached_any or bool(contexts)
        reaching.update(c for c in contexts if c)
    if not reached_any and not (options.run_unreached and options.tests):
        which = "other" if options.exclude_tests else "selected"
        raise TargetError(
            f"baseline: no {which} test reaches the fix lines "
            f"({options.scope.describe()}); a surviving mutant there would prove nothing",
            hint="name tests that exercise the fix with --tests, or check the scope",
            log_tail=baseline.log_tail,
        )
    return replace(baseline, reaching=tuple(sorted(reaching)))


def _without(baseline: Baseline, excluded: Sequence[str]) -> Baseline:
    """`baseline` as if the tests `excluded` names (files, classes, node ids) had not run."""
    if not excluded:
        return baseline

    def kept(context: str) -> bool:
        return not context or not any(covers(selector, context) for selector in excluded)

    lines = {
        path: {n: [c for c in contexts if kept(c)] for n, contexts in by_line.items()}
        for path, by_line in baseline.lines.items()
    }
    return replace(
        baseline,
        lines={path: {n: c for n, c in by.items() if c} for path, by in lines.items()},
        concurrency_tests=frozenset(t for t in baseline.concurrency_tests if kept(t)),
        calls={t: s for t, s in baseline.calls.items() if kept(t)},
    )


def _discover(
    scope: Scope, repo: Path, rev: str, inputs: Inputs, strict: bool, store: ResultStore
) -> Discovery:
    """The scope's mutants, from the store when its files, lines and operators are unchanged.

    Generating them parses and re-prints each file once per candidate edit: on a re-run with
    nothing changed it is most of the time left.
    """
    key = cache_key(
        "discovery",
        harness_digest(),
        strict,
        [
            (
                f.path,
                inputs.files.get(f.path),
                sorted(f.lines),
                sorted(f.reindented),
                sorted(f.tokens) if f.tokens is not None else None,
                [(h.start, h.count, list(h.base_lines)) for h in f.hunks],
            )
            for f in scope.files
        ],
    )
    stored = store.get_record(key)
    if stored is not None:
        return Discovery(
            mutants=[_mutant_from_json(m) for m in stored["mutants"]],
            skipped=Counter(stored["skipped"]),
        )
    found = discover(scope, lambda path: git.show(repo, rev, path), strict=strict)
    store.put_record(
        key,
        "discovery",
        {"mutants": [_mutant_to_json(m) for m in found.mutants], "skipped": dict(found.skipped)},
    )
    return found


def _mutant_to_json(mutant: Mutant) -> dict[str, Any]:
    data = asdict(mutant)
    data["family"] = mutant.family.value
    return data


def _mutant_from_json(data: Mapping[str, Any]) -> Mutant:
    return Mutant(
        **{
            **data,
            "family": Family(data["family"]),
            "lines": tuple(data["lines"]),
            "reach": tuple(data["reach"]),
        }
    )


def _test_files(tests: Sequence[str] | None) -> set[str]:
    return {_test_file(t) for t in tests or ()}


def _run_shard(
    space: Workspace,
    options: MutationOptions,
    files: Sequence[str],
    k: int,
    n: int,
    servers: ForkServers | None = None,
) -> tuple[TestRun, list[dict[str, Any]]]:
    """One share of the baseline, in one copy: its run, and the probe's data (main process
    first, then any child interpreters it started)."""
    probe_out = space.root.parent / f"probe-{space.root.name}.json"
    env = space.env(options.env)
    env["FIXGUARD_PROBE_OUT"] = str(probe_out)
    env["FIXGUARD_PROBE_FILES"] = json.dumps(sorted(str((space.root / f).resolve()) for f in files))
    if n > 1:
        env["FIXGUARD_SHARD"] = f"{k}/{n}"
    pytest_args = [*options.pytest_args, "-p", PROBE_MODULE]
    run: TestRun | None = None
    if servers is not None and (server := servers.get(space)) is not None:
        # The server has imported nothing of the project: the child imports it under the probe.
        run = _forked_run(
            server, list(options.tests or ()), pytest_args, env, options.baseline_timeout, None
        )
    if run is None:
        run = run_pytest(
            space.root,
            list(options.tests or ()),
            python=options.python,
            pytest_args=pytest_args,
            env=env,
            timeout=options.baseline_timeout,
        )
    if not probe_out.exists():
        return run, []
    children = sorted(probe_out.parent.glob(probe_out.name + ".sub-*.json"))
    return run, [_read_json(p) for p in [probe_out, *children]]


def _relative(filename: str, files: Sequence[str], spaces: Sequence[Workspace]) -> str | None:
    """A probed file's repo-relative path (one of `files`), whichever copy recorded it."""
    real = Path(filename).resolve()
    for space in spaces:
        try:
            rel = real.relative_to(space.root.resolve()).as_posix()
        except ValueError:
            continue
        return rel if rel in files else None
    return None


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _scope_files(
    options: MutationOptions, files: Sequence[str]
) -> list[tuple[str, frozenset[int]]]:
    wanted = set(files)
    return [(f.path, f.lines) for f in options.scope.files if f.path in wanted]


@dataclass
class Plan:
    """The mutants of a run: finished ones by id (stored, or reached by no test), the rest to run."""

    results: dict[str, MutantResult] = field(default_factory=dict)
    #: (mutant, tests, n, k, store key) of each mutant still to run.
    pending: list[tuple[Mutant, tuple[str, ...], int, int, str]] = field(default_factory=list)


def _plan(
    mutants: Sequence[Mutant],
    baseline: Baseline,
    options: MutationOptions,
    store: ResultStore,
    reporter: MutationReporter,
    inputs: Inputs,
    environment_hash: str,
    rev: str,
) -> Plan:
    """Each mutant's tests and k-of-n, and its stored result where its inputs are unchanged."""
    plan = Plan()
    headers = {
        path: def_headers(git.show(Path(options.repo), rev, path) or "")
        for path in sorted({m.file for m in mutants})
    }
    pytest_args = _mutant_args(options, baseline)
    perturb = [options.perturb, perturb_plugin_digest()] if options.perturb else []
    for mutant in mutants:
        tests = select_tests(
            baseline.lines.get(mutant.file, {}), mutant.reach, options.tests, headers[mutant.file]
        )
        if not tests and options.run_unreached and options.tests:
            tests = tuple(options.tests)
        concurrent = (
            options.concurrency
            or mutant.family.is_concurrency
            or any(t in baseline.concurrency_tests for t in tests)
            or (tests == ALL_TESTS and bool(baseline.concurrency_tests))
        )
        n = options.repeats if concurrent else 1
        needed = options.min_kills if concurrent else 1
        # What the run reads: the mutated file (in the mutant's id and diff) and the inputs of
        # the tests it runs; a push that leaves all of them alone re-runs nothing.
        key = cache_key(
            mutant.id,
            mutant.diff,
            inputs.for_tests(EVERY_TEST if tests == ALL_TESTS else tests),
            environment_hash,
            tests,
            pytest_args,
            sorted(options.env.items()),
            n,
            needed,
            options.setup,
            *perturb,
        )
        if not tests:
            result = _result(mutant, MutantStatus.NO_COVERAGE, tests=())
            store.put(key, result, rev=rev)
            plan.results[mutant.id] = result
            reporter.mutant_finished(result)
            continue
        cached = store.get(key)
        if cached is not None:
            cached = replace(cached, reverting=mutant.reverting)
            plan.results[mutant.id] = cached
            reporter.mutant_finished(cached)
            continue
        plan.pending.append((mutant, tests, n, needed, key))
    # The longest first, so the run does not end on one slow mutant while the workers idle.
    plan.pending.sort(key=lambda p: -baseline.expected(p[1]) * p[2])
    return plan


def _mutant_args(options: MutationOptions, baseline: Baseline) -> list[str]:
    """The mutant runs' pytest args: tests red without any mutant cannot judge one, nor can
    the excluded ones."""
    return [*options.pytest_args, *deselect_args([*options.exclude_tests, *baseline.red_tests])]


def _run_pending(
    plan: Plan,
    spaces: Sequence[Workspace],
    baseline: Baseline,
    options: MutationOptions,
    store: ResultStore,
    reporter: MutationReporter,
    rev: str,
    servers: ForkServers | None,
) -> None:
    """Run the plan's pending mutants in the worker copies; each result is stored as it ends."""
    options = replace(options, pytest_args=_mutant_args(options, baseline))
    preload = _preload_tests(plan.pending, baseline, options, len(spaces))
    _Scheduler(spaces, baseline, options, reporter, servers, preload).run(plan, store, rev)


class _Scheduler:
    """Lends the worker copies to mutant runs, one run per copy at a time.

    It owns what the runs share: the free copies, the stop flag an interrupt raises, and the
    fork servers it has made ready (warmed, and for single runs preloaded with the tests).
    """

    def __init__(
        self,
        spaces: Sequence[Workspace],
        baseline: Baseline,
        options: MutationOptions,
        reporter: MutationReporter,
        servers: ForkServers | None,
        preload: list[str] | None,
    ) -> None:
        self.spaces = spaces
        self.baseline = baseline
        self.options = options
        self.reporter = reporter
        self.servers = servers
        self.preload = preload
        self.free: queue.Queue[Workspace] = queue.Queue()
        for space in spaces:
            self.free.put(space)
        self.stop = threading.Event()

    def runner_for(self, space: Workspace, seed: int | None) -> WarmRunner | None:
        """The space's fork server for runs with this hash seed, made ready on first use."""
        servers = self.servers
        if servers is None:
            return None
        runner = servers.get(space, seed)
        if runner is None or (space.root, seed) in servers.ready:
            return runner
        servers.ready.add((space.root, seed))
        try:
            runner.warm(self.baseline.warm_modules)
            if self.preload is not None and seed is None:
                runner.preload([*self.preload, *_run_args(self.options, 0)])
                _check_preload(runner, space, self.preload, self.baseline, self.options)
        except WarmUnavailable as exc:
            runner.broken = True  # it closed itself; later runs there start new interpreters
            log.info("mutant runs in %s: no fork server (%s): new interpreters", space.root, exc)
            return None
        return runner

    def work(
        self, mutant: Mutant, tests: tuple[str, ...], n: int, needed: int
    ) -> MutantResult | None:
        """One mutant's runs in the next free copy; None once an interrupt stopped the run."""
        if self.stop.is_set():
            return None
        space = self.free.get()
        try:
            self.reporter.mutant_started(mutant)
            timeout = self.baseline.timeout_for(tests, self.options)
            # Made ready before the mutant is written: the preloaded copy must hold the
            # unmutated code. (A seed's server imports nothing of the project, so it may start
            # later, with a mutant on disk.)
            single = self.runner_for(space, None) if n == 1 else None
            return _run_one(
                space,
                mutant,
                tests,
                n,
                needed,
                self.options,
                timeout,
                single,
                lambda seed: self.runner_for(space, seed),
            )
        finally:
            self.free.put(space)

    def run(self, plan: Plan, store: ResultStore, rev: str) -> None:
        """Every pending mutant; results are stored and reported in plan order as they end."""
        results = plan.results
        workers = len(self.spaces)
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="fixguard-mut") as pool:
            futures: list[tuple[Future[MutantResult | None], str]] = [
                (pool.submit(self.work, m, t, n, k), key) for m, t, n, k, key in plan.pending
            ]
            try:
                for future, key in futures:
                    finished = future.result()
                    if finished is None:
                        continue
                    store.put(key, finished, rev=rev)  # committed before the next is reported
                    results[finished.id] = finished
                    self.reporter.mutant_finished(finished)
            except BaseException:
                self.stop.set()  # Ctrl-C: no new mutants start; running ones finish and are kept
                for future, _key in futures:
                    future.cancel()
                pool.shutdown(wait=True)
                for future, key in futures:
                    if future.done() and not future.cancelled() and future.exception() is None:
                        late = future.result()
                        if late is not None and late.id not in results:
                            store.put(key, late, rev=rev)
                raise


def _preload_tests(
    pending: Sequence[tuple[Mutant, tuple[str, ...], int, int, str]],
    baseline: Baseline,
    options: MutationOptions,
    workers: int,
) -> list[str] | None:
    """The tests to collect once per worker for the preloaded mode ([] for all), or None.

    Worth it when what the single-run mutants save (each skips its run's start-up) covers the
    tests' one unmutated run in the preloaded copy (`_check_preload`).
    """
    single = [tests for _m, tests, n, _k, _key in pending if n == 1]
    if not options.preload or not single:
        return None
    if ALL_TESTS in single:
        union: tuple[str, ...] = ALL_TESTS
    else:
        union = tuple(sorted({t for tests in single for t in tests}))
    if baseline.expected(union) > len(single) / workers * baseline.startup:
        return None
    return [] if union == ALL_TESTS else list(union)


def _run_args(options: MutationOptions, i: int) -> list[str]:
    """pytest args of a mutant's run `i` (from 0)."""
    # --tb=line: a killed mutant's report needs the failing test, not its traceback;
    # pytest parses each traceback entry's source file to print the long form.
    args = [*options.pytest_args, "-p", PROBE_MODULE, "-x", "--tb=line"]
    if options.perturb:
        args += perturb_args(Spec.parse(options.perturb).render(i + 1))
    return args


def _check_preload(
    runner: WarmRunner,
    space: Workspace,
    tests: list[str],
    baseline: Baseline,
    options: MutationOptions,
) -> None:
    """Trust the preloaded copy only once the unmutated tests pass in a child forked from it.

    Collecting once may leave state a fresh run never has (a session hook that closed what
    import opened, say); tests that pass everywhere else and fail here show that.
    """
    if not runner.preloaded:
        return
    try:
        run, preloaded = runner.run(
            tests,
            pytest_args=_run_args(options, 0),
            env=space.env(options.env),
            timeout=baseline.timeout_for(tuple(tests) if tests else ALL_TESTS, options),
            preloaded=True,
        )
    except WarmUnavailable:
        runner.broken = True
        return
    if not preloaded or run.outcome is not RunOutcome.PASSED:
        runner.preloaded = False
        runner.preload_note = f"the unmutated tests gave {run.outcome.value} when preloaded"


def _forked_run(
    fork: WarmRunner,
    nodeids: list[str],
    pytest_args: list[str],
    env: Mapping[str, str],
    timeout: float,
    patch: str | None,
) -> TestRun | None:
    """A run in the fork server (patched into the preloaded copy where `patch` allows), or None.

    Only a failing test or a timeout is taken from a patched child. Anything else is run again
    in a child that imports the mutated file itself: a survivor decides a verdict, and a crash
    or a collection error there would be the patch's, never the mutant's.
    """
    try:
        run, patched = fork.run(
            nodeids,
            pytest_args=pytest_args,
            env=env,
            timeout=timeout,
            preloaded=patch is not None,
            patch=patch,
        )
        if patched and run.outcome not in (RunOutcome.FAILED, RunOutcome.TIMED_OUT):
            if run.outcome is not RunOutcome.PASSED:
                fork.preloaded = False
            run, _ = fork.run(nodeids, pytest_args=pytest_args, env=env, timeout=timeout)
    except WarmUnavailable as exc:
        fork.broken = True
        log.info("a mutant's forked run failed (%s): new interpreters from now on", exc)
        return None
    if run.outcome is RunOutcome.INTERNAL_ERROR:
        # pytest itself failed in the fork (a plugin the server pre-imported cannot be
        # assertion-rewritten under `filterwarnings = error`, say): that is the runner's
        # problem, never a kill. Run it fresh, and stop forking.
        fork.broken = True
        log.warning("pytest itself failed in a forked mutant run: run fresh, no more forks there")
        return None
    return run


def _result(mutant: Mutant, status: MutantStatus, **fields: object) -> MutantResult:
    base = MutantResult(
        id=mutant.id,
        family=mutant.family.value,
        operator=mutant.operator,
        file=mutant.file,
        line=mutant.line,
        diff=mutant.diff,
        status=status,
        reverting=mutant.reverting,
    )
    return replace(base, **fields)  # type: ignore[arg-type]


def _run_one(
    space: Workspace,
    mutant: Mutant,
    tests: tuple[str, ...],
    n: int,
    needed: int,
    options: MutationOptions,
    timeout: float,
    single: WarmRunner | None = None,
    seeded: Callable[[int], WarmRunner | None] | None = None,
) -> MutantResult:
    nodeids = [] if tests == ALL_TESTS else list(tests)
    previous = space.write(mutant.file, mutant.source)
    outcomes: list[RunOutcome] = []
    killing_test: str | None = None
    started = time.monotonic()
    try:
        for i in range(n):
            env = space.env(options.env)
            if n > 1:
                env["PYTHONHASHSEED"] = str(i + 1)
                env["FIXGUARD_SEED"] = str(i + 1)
                env["FIXGUARD_SWITCH_INTERVAL"] = repr(SWITCH_INTERVALS[i % len(SWITCH_INTERVALS)])
            pytest_args = _run_args(options, i)
            run = None
            fork = single if n == 1 else seeded(i + 1) if seeded is not None else None
            if fork is not None and not fork.broken:
                # Only a single run may be patched: a k-of-n survivor would be run twice per seed.
                run = _forked_run(
                    fork, nodeids, pytest_args, env, timeout, mutant.file if n == 1 else None
                )
            if run is None:
                run = run_pytest(
                    space.root,
                    nodeids,
                    python=options.python,
                    pytest_args=pytest_args,
                    env=env,
                    timeout=timeout,
                )
            outcomes.append(run.outcome)
            if is_kill(run.outcome) and killing_test is None:
                if run.outcome is RunOutcome.TIMED_OUT:
                    killing_test = (
                        f"timeout after {timeout:.1f}s: {' '.join(nodeids) or 'all tests'}"
                    )
                else:
                    killing_test = run.failed[0] if run.failed else f"({run.outcome.value})"
            kills = sum(1 for o in outcomes if is_kill(o))
            if should_stop(kills, len(outcomes), n, needed):
                break
    finally:
        space.restore(mutant.file, previous)
    status = decide(outcomes, needed)
    kills = sum(1 for o in outcomes if is_kill(o))
    log.debug(
        "%s %s:%d (%s): %s, %d of %d runs detected it (%s)",
        mutant.id,
        mutant.file,
        mutant.line,
        mutant.operator,
        status.value,
        kills,
        len(outcomes),
        ", ".join(o.value for o in outcomes),
    )
    return _result(
        mutant,
        status,
        killing_test=killing_test if status.is_detected else None,
        runs=len(outcomes),
        kills=kills,
        duration=time.monotonic() - started,
        tests=tests,
    )
