"""The lab: run the baseline, then every mutant in isolated copies, k-of-n where it matters."""

from __future__ import annotations

import json
import queue
import threading
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ..errors import TargetError, UserError
from ..outcomes import MutantStatus, RunOutcome
from ..perturb_plugin import Spec
from ..testrun import (
    TestRun,
    deselect_args,
    perturb_args,
    perturb_plugin_digest,
    run_pytest,
)
from . import git
from .callers import def_headers
from .events import MutationReporter, NullReporter
from .filters import ALL_TESTS, decide, is_kill, only_ids, select_tests, shard, should_stop
from .mutant import Mutant
from .options import MutantResult, MutationOptions, MutationResult
from .store import ResultStore, cache_key
from .visit import discover
from .warm import WarmRunner, WarmUnavailable
from .workspace import PROBE_MODULE, Workspace, workspaces

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

    def timeout_for(self, tests: Sequence[str], options: MutationOptions) -> float:
        """A mutant run's time limit: `timeout_factor` times what its tests took unmutated.

        Each chosen test file is charged all of its fixture time, since a module's fixtures are
        set up for whichever of its tests runs first. The whole suite, or a test the baseline did
        not time, falls back to the whole baseline's duration. Never below `min_timeout`: a
        timeout counts as a kill, so a tight limit would be a false one.
        """
        expected = self.duration
        if tests != ALL_TESTS and all(t in self.calls for t in tests):
            files = {_test_file(t) for t in tests}
            fixtures = sum(self.fixtures.get(f, 0.0) for f in files)
            expected = self.startup + fixtures + sum(self.calls[t] for t in tests)
        return max(options.min_timeout, options.timeout_factor * expected)


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
    discovery = discover(scope, lambda path: git.show(repo, rev, path), strict=options.strict)
    mutants = shard(only_ids(discovery.mutants, options.mutant_ids), options.shard)
    skipped = dict(discovery.skipped)
    reporter.scope_ready(scope, mutants, skipped)
    if not mutants:
        result = MutationResult(
            mutants=[], skipped=skipped, baseline_duration=0.0, scope=scope, no_mutants=True
        )
        reporter.run_finished(result)
        return result

    store = ResultStore(options.store)
    try:
        workers = min(options.workers, len(mutants))
        with workspaces(
            repo, rev, workers, workdir=options.workdir, setup=options.setup, env=options.env
        ) as spaces:
            reporter.baseline_started(options.tests)
            baseline = _run_baseline(spaces, options, mutants)
            reporter.baseline_finished(baseline.duration, baseline.reaching, baseline.engine)
            results = _run_all(
                mutants,
                spaces,
                baseline,
                options,
                store,
                reporter,
                tree=git.tree_id(repo, rev),
                rev=rev,
            )
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
    )
    reporter.run_finished(result)
    return result


def _run_baseline(
    spaces: Sequence[Workspace], options: MutationOptions, mutants: Sequence[Mutant]
) -> Baseline:
    files = sorted({m.file for m in mutants})
    # The whole suite is split across the worker copies (each runs its share of the test
    # files); a claim's few named tests run in one.
    shards = list(spaces) if options.tests is None and len(spaces) > 1 else [spaces[0]]
    with ThreadPoolExecutor(max_workers=len(shards), thread_name_prefix="fixguard-base") as pool:
        parts = list(
            pool.map(
                lambda k: _run_shard(shards[k], options, files, k, len(shards)), range(len(shards))
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
    reaching: set[str] = set()
    reached_any = False
    # The lines that show a mutant is reached: the fix lines, and where a hunk revert puts
    # removed lines back (a fix that only deleted code has no fix lines of its own).
    wanted = {(path, line) for path, lines_ in _scope_files(options, files) for line in lines_}
    wanted |= {(m.file, line) for m in mutants for line in m.reach}
    for path, line in sorted(wanted):
        contexts = lines.get(path, {}).get(line, [])
        reached_any = reached_any or bool(contexts)
        reaching.update(c for c in contexts if c)
    if not reached_any and not (options.run_unreached and options.tests):
        raise TargetError(
            "baseline: no selected test reaches the fix lines "
            f"({options.scope.describe()}); a surviving mutant there would prove nothing",
            hint="name tests that exercise the fix with --tests, or check the scope",
            log_tail=runs[0].log_tail,
        )
    return Baseline(
        # A mutant's run may hold every test in one process: its timeout follows the sum.
        duration=sum(run.duration for run in runs),
        engine=engine,
        lines=lines,
        concurrency_tests=frozenset(concurrency),
        reaching=tuple(sorted(reaching)),
        warm_modules=tuple(sorted(warm)),
        red_tests=tuple(sorted(red)),
        calls=calls,
        fixtures=fixtures,
        startup=startup,
    )


def _run_shard(
    space: Workspace, options: MutationOptions, files: Sequence[str], k: int, n: int
) -> tuple[TestRun, list[dict[str, Any]]]:
    """One share of the baseline, in one copy: its run, and the probe's data (main process
    first, then any child interpreters it started)."""
    probe_out = space.root.parent / f"probe-{space.root.name}.json"
    env = space.env(options.env)
    env["FIXGUARD_PROBE_OUT"] = str(probe_out)
    env["FIXGUARD_PROBE_FILES"] = json.dumps(sorted(str((space.root / f).resolve()) for f in files))
    if n > 1:
        env["FIXGUARD_SHARD"] = f"{k}/{n}"
    run = run_pytest(
        space.root,
        list(options.tests or ()),
        python=options.python,
        pytest_args=[*options.pytest_args, "-p", PROBE_MODULE],
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


def _run_all(
    mutants: Sequence[Mutant],
    spaces: Sequence[Workspace],
    baseline: Baseline,
    options: MutationOptions,
    store: ResultStore,
    reporter: MutationReporter,
    *,
    tree: str,
    rev: str,
) -> list[MutantResult]:
    results: dict[str, MutantResult] = {}
    pending: list[tuple[Mutant, tuple[str, ...], int, int, str]] = []
    # Tests red without any mutant cannot judge one: every mutant run leaves them out.
    options = replace(
        options, pytest_args=[*options.pytest_args, *deselect_args(baseline.red_tests)]
    )
    headers = {
        path: def_headers(git.show(Path(options.repo), rev, path) or "")
        for path in sorted({m.file for m in mutants})
    }
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
        key = cache_key(
            mutant.id,
            tree,
            tests,
            options.python,
            list(options.pytest_args),
            sorted(options.env.items()),
            n,
            needed,
            options.setup,
            *([options.perturb, perturb_plugin_digest()] if options.perturb else []),
        )
        if not tests:
            result = _result(mutant, MutantStatus.NO_COVERAGE, tests=())
            store.put(key, result, rev=rev)
            results[mutant.id] = result
            reporter.mutant_finished(result)
            continue
        cached = store.get(key)
        if cached is not None:
            cached = replace(cached, reverting=mutant.reverting)
            results[mutant.id] = cached
            reporter.mutant_finished(cached)
            continue
        pending.append((mutant, tests, n, needed, key))

    free: queue.Queue[Workspace] = queue.Queue()
    for space in spaces:
        free.put(space)
    stop = threading.Event()

    warm: dict[Path, WarmRunner | None] = {}

    # A fork server costs about one plain run to start: worth it from two runs per worker on.
    use_fork = options.fork and len(pending) >= 2 * len(spaces)

    def runner_for(space: Workspace) -> WarmRunner | None:
        """The space's fork server, started on first use (only by the thread holding the space)."""
        if not use_fork:
            return None
        if space.root not in warm:
            try:
                warm[space.root] = WarmRunner(
                    space, options.python, space.env(options.env), baseline.warm_modules
                )
            except (WarmUnavailable, OSError):
                warm[space.root] = None
        return warm[space.root]

    def work(mutant: Mutant, tests: tuple[str, ...], n: int, needed: int) -> MutantResult | None:
        if stop.is_set():
            return None
        space = free.get()
        try:
            reporter.mutant_started(mutant)
            fork = runner_for(space)
            timeout = baseline.timeout_for(tests, options)
            result = _run_one(space, mutant, tests, n, needed, options, timeout, fork)
            if fork is not None and fork.broken:
                warm[space.root] = None
            return result
        finally:
            free.put(space)

    with ThreadPoolExecutor(max_workers=len(spaces), thread_name_prefix="fixguard-mut") as pool:
        futures: list[tuple[Future[MutantResult | None], str]] = [
            (pool.submit(work, m, t, n, k), key) for m, t, n, k, key in pending
        ]
        try:
            for future, key in futures:
                finished = future.result()
                if finished is None:
                    continue
                store.put(key, finished, rev=rev)  # committed before the next one is reported
                results[finished.id] = finished
                reporter.mutant_finished(finished)
        except BaseException:
            stop.set()  # Ctrl-C: no new mutants start; the running ones finish and are kept
            for future, _key in futures:
                future.cancel()
            pool.shutdown(wait=True)
            for future, key in futures:
                if future.done() and not future.cancelled() and future.exception() is None:
                    late = future.result()
                    if late is not None and late.id not in results:
                        store.put(key, late, rev=rev)
            raise
        finally:
            for runner in warm.values():
                if runner is not None:
                    runner.close()
    return [results[m.id] for m in mutants if m.id in results]


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
    fork: WarmRunner | None = None,
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
            pytest_args = [*options.pytest_args, "-p", PROBE_MODULE, "-x"]
            if options.perturb:
                pytest_args += perturb_args(Spec.parse(options.perturb).render(i + 1))
            run = None
            # The first run may fork; repeats start fresh interpreters, since PYTHONHASHSEED can
            # only change at start-up (the switch interval and FIXGUARD_SEED vary either way).
            if i == 0 and fork is not None and not fork.broken:
                try:
                    run = fork.run(nodeids, pytest_args=pytest_args, env=env, timeout=timeout)
                except WarmUnavailable:
                    fork.broken = True
                if run is not None and run.outcome is RunOutcome.INTERNAL_ERROR:
                    # pytest itself failed in the fork (a plugin the server pre-imported cannot
                    # be assertion-rewritten under `filterwarnings = error`, say): that is the
                    # runner's problem, never a kill. Run it fresh, and stop forking.
                    fork.broken = True
                    run = None
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
    return _result(
        mutant,
        status,
        killing_test=killing_test if status.is_detected else None,
        runs=len(outcomes),
        kills=kills,
        duration=time.monotonic() - started,
        tests=tests,
    )
