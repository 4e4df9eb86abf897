"""PR mode's discovery: the tests a pull request adds or changes, and what they prove.

With no manifest, the PR's own tests are the claims' evidence. `discover` finds the test files
the diff adds or changes, collects their node ids on the head (and on the base, with the head's
tests laid over it), runs them n times on each side, sorts every test into F2P / P2P / P2F /
F2F / NEW_API, and then runs the F2P tests once more on the head with the line probe to find
which non-test hunks each one executes (harness.verify.proofs).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from .. import cleanup
from ..claims.model import CONCURRENCY_REPEATS, DEFAULT_RUN, RunSettings
from ..errors import InternalError, TargetError, UserError
from ..git import resolve_commit
from ..mutation.workspace import PROBE_MODULE
from ..mutation.workspace import Workspace as ProbeSpace
from ..outcomes import RunOutcome
from ..testpaths import TEST_GLOBS, is_test_path
from ..testrun import TestRun, deselect_args, run_pytest, tail
from .collection import _COLLECTING, _collect, _collection_error, _relative
from .prmode import WHOLE_FILE, AutoClaim, PrEvidence, PrHunk, TestClass, TestEvidence
from .proofs import pr_hunks, prove
from .workspace import (
    Workspace,
    changed_files,
    claim_test_files,
    overlay_tests,
    run_setup,
    worktrees,
)

#: Loaded into `pytest --collect-only` to write the collected node ids as JSON: the `-q` listing
#: turns into per-file counts when the project's addopts add another `-q`.
COLLECTED_MODULE = "fixguard_collected"
_COLLECTED_PLUGIN = '''"""Written by Fixguard: records the node ids pytest collected."""
import json
import os


def pytest_collection_finish(session):
    out = os.environ.get("FIXGUARD_COLLECTED_OUT")
    if out:
        with open(out, "w", encoding="utf-8") as fh:
            json.dump([item.nodeid for item in session.items], fh)
'''

#: Outcome words of one test in one run (TestEvidence.base / .head).
PASSED = "passed"
FAILED = "failed"
SKIPPED = "skipped"
NOT_COLLECTED = "not collected"
TIMED_OUT = "timed out"
CRASHED = "crashed"
ERROR = "error"
#: A run cut short before it reached the test.
NOT_RUN = "not run"
#: What counts towards reproducing on the base (as FAILING_OUTCOMES does for a claim).
_FAILING = frozenset({FAILED, TIMED_OUT})
#: What makes a head run a regression rather than "did not pass" (a skip is neither).
_BROKEN_ON_HEAD = frozenset({FAILED, TIMED_OUT, NOT_COLLECTED, CRASHED, ERROR})


class DiscoveryReporter(Protocol):
    """Progress events; the verify pipeline's reporter already has both methods."""

    def stage(self, name: str, total: int) -> None: ...

    def claim_progress(self, claim_id: str, step: str) -> None: ...


class _NullReporter:
    def stage(self, name: str, total: int) -> None:
        pass

    def claim_progress(self, claim_id: str, step: str) -> None:
        pass


#: The claim id discovery reports its progress under.
PROGRESS_ID = "discovery"


@dataclass
class Collected:
    """What `pytest --collect-only` found in the changed test files on one side."""

    #: Test file → its node ids (files that collected, in pytest's order).
    nodeids: dict[str, list[str]] = field(default_factory=dict)
    #: Test file → pytest's first error line, for files that did not collect.
    broken: dict[str, str] = field(default_factory=dict)
    #: Node ids marked `harness_concurrency` (recorded by the probe plugin).
    concurrency: set[str] = field(default_factory=set)

    def all_ids(self) -> set[str]:
        return {n for ids in self.nodeids.values() for n in ids}


@dataclass(frozen=True)
class _Context:
    """The run settings and the temp dir shared by every pytest call of one discovery."""

    python: str
    settings: RunSettings
    tools: Path
    sources: tuple[str, ...]

    @property
    def timeout(self) -> float:
        return self.settings.timeout or 120.0

    def env(self, ws: Workspace, **extra: str) -> dict[str, str]:
        # The worktree (and its src/) first on PYTHONPATH, as the mutation copies do: the tests
        # import the checked-out code even when the project is installed from the user's tree.
        env = ProbeSpace(ws.path, self.tools).env(self.settings.env or {})
        env["FIXGUARD_PROBE_FILES"] = json.dumps(
            sorted(str((ws.path / f).resolve()) for f in self.sources)
        )
        env.update(extra)
        return env

    def args(self, ws: Workspace) -> list[str]:
        # An explicit rootdir keeps node ids relative to the repository root on both sides,
        # even in a project with no pytest config (pytest would pick the tests' folder).
        # Every test's outcome is evidence: an `-x` in the project's addopts must not stop the
        # collection or the run at the first error (an `-x` in run.pytest_args still wins).
        return [f"--rootdir={ws.path}", "--maxfail=0", *(self.settings.pytest_args or ())]


def changed_test_files(changed: Sequence[str], head_tree: Path, globs: Sequence[str]) -> list[str]:
    """The Python test files among the diff's `changed` paths that still exist on the head.

    conftest.py and __init__.py are support, not tests: named on the command line an
    `__init__.py` would collect its whole package.
    """
    found: list[str] = []
    for path in changed:
        name = path.rsplit("/", 1)[-1]
        if not path.endswith(".py") or name in ("conftest.py", "__init__.py"):
            continue
        if is_test_path(path, globs) and (head_tree / path).is_file():
            found.append(path)
    return sorted(found)


def source_files(changed: Sequence[str], head_tree: Path, globs: Sequence[str]) -> list[str]:
    """The non-test Python files among `changed` that exist on the head (the probed ones)."""
    return sorted(
        path
        for path in changed
        if path.endswith(".py") and not is_test_path(path, globs) and (head_tree / path).is_file()
    )


def collect(ws: Workspace, files: Sequence[str], ctx: _Context) -> Collected:
    """`pytest --collect-only -q FILES` on one side: node ids by file, broken files, marks."""
    found = Collected()
    if not files:
        return found
    out = ctx.tools / f"collected-{ws.label}.json"
    probe = ctx.tools / f"probe-collect-{ws.label}.json"
    env = ctx.env(ws, FIXGUARD_COLLECTED_OUT=str(out), FIXGUARD_PROBE_OUT=str(probe))
    args = [*ctx.args(ws), "-p", PROBE_MODULE, "-p", COLLECTED_MODULE]
    args += deselect_args(ctx.settings.deselect or ())
    code, output = _collect(ws.path, ctx.python, files, args, env, ctx.timeout)
    if code is None:
        raise TargetError(
            f"`pytest --collect-only` of the PR's test files on the {ws.label} did not finish "
            f"within {ctx.timeout:g}s"
        )
    if "No module named pytest" in output:
        raise UserError(f"python={ctx.python!r}: cannot import pytest", hint="install pytest there")
    ids = _read_json(out)
    if code not in (0, 1, 2, 5) or not isinstance(ids, list):
        raise TargetError(
            f"`pytest --collect-only` of the PR's test files on the {ws.label} exited {code}",
            hint="check run.pytest_args and that the test files import",
            log_tail=tail(output),
        )
    for nodeid in ids:
        found.nodeids.setdefault(str(nodeid).split("::", 1)[0], []).append(str(nodeid))
    errors = _errors_by_file(output, ws.path)
    overall = _collection_error(output.splitlines(), ws.path)
    for path in files:
        if path in found.nodeids:
            continue
        if path in errors:
            found.broken[path] = _tidy(errors[path], ws.path)
        elif code == 2 and overall:
            # A broken conftest.py or plugin: the file never got its turn.
            found.broken[path] = _tidy(overall, ws.path)
    probed = _read_json(probe)
    if isinstance(probed, dict):
        found.concurrency = {str(n) for n in probed.get("concurrency", [])}
    return found


def _errors_by_file(output: str, root: Path) -> dict[str, str]:
    """pytest's `ERROR collecting FILE` sections: file → its first error line."""
    sections: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in output.splitlines():
        header = _COLLECTING.match(line)
        if header:
            current = sections.setdefault(_relative(header["path"], root), [])
        if current is not None:
            current.append(line)
    return {path: _collection_error(lines, root) for path, lines in sections.items()}


def _tidy(message: str, root: Path) -> str:
    """An error line without the temp worktree's path, so it reads the same on every run."""
    for spelling in {str(root.resolve()), str(root)}:
        message = message.replace(spelling + "/", "")
    return message


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def outcome_word(run: TestRun, nodeid: str) -> str:
    """How one test ended in one run, from the JUnit lists and the run's own outcome.

    In a run cut short (a timeout, a crash) only the test it was in gets the run's outcome; a
    test it never reached did not run, which is neither a failure nor a pass.
    """
    if nodeid in run.failed:
        return FAILED
    if nodeid in run.passed:
        return PASSED
    if run.outcome in (RunOutcome.TIMED_OUT, RunOutcome.CRASHED) and nodeid != run.cut_short:
        return NOT_RUN
    return {
        RunOutcome.TIMED_OUT: TIMED_OUT,
        RunOutcome.CRASHED: CRASHED,
        RunOutcome.NOT_COLLECTED: NOT_COLLECTED,
        RunOutcome.INTERNAL_ERROR: ERROR,
        RunOutcome.TARGET_ERROR: ERROR,
        RunOutcome.NO_TESTS: NOT_COLLECTED,
    }.get(run.outcome, SKIPPED)


def run_side(
    ws: Workspace, files: Sequence[str], ctx: _Context, reporter: DiscoveryReporter, step: str
) -> TestRun:
    reporter.claim_progress(PROGRESS_ID, step)
    # One file that stops collecting must not stop the others from running.
    args = ["--continue-on-collection-errors", *ctx.args(ws)]
    args += deselect_args(ctx.settings.deselect or ())
    return run_pytest(
        ws.path, files, python=ctx.python, pytest_args=args, env=ctx.env(ws), timeout=ctx.timeout
    )


def classify_test(
    base: Sequence[str], head: Sequence[str], *, min_failures: int, base_collected: bool = True
) -> TestClass:
    """The class of one test from its outcome words on each side.

    F2P needs `min_failures` failures on the base and a pass in every head run. A test the base
    cannot collect is NEW_API (it reproduces nothing), unless the head cannot run it either. A
    test that is only skipped on the head is no regression: it counts with the passes.
    """
    head_passes = bool(head) and all(w == PASSED for w in head)
    head_broken = any(w in _BROKEN_ON_HEAD for w in head)
    if not base_collected or NOT_COLLECTED in base:
        return TestClass.NEW_API if head_passes or not head_broken else TestClass.F2F
    base_fails = sum(1 for w in base if w in _FAILING) >= min_failures
    if base_fails:
        return TestClass.F2P if head_passes else TestClass.F2F
    return TestClass.P2F if head_broken else TestClass.P2P


def discover(
    repo: Path,
    base: str,
    head: str,
    *,
    python: str,
    settings: RunSettings,
    spaces: tuple[Workspace, Workspace] | None = None,
    workdir: Path | None = None,
    reporter: DiscoveryReporter | None = None,
) -> PrEvidence:
    """What the PR's own tests prove about `base..head`: tests by class, auto-claims, the rest.

    `spaces` are the (base, head) worktrees the verify pipeline already made (the base with
    the head's tests laid over, setup already run); without them discovery makes its own with
    `workspace.worktrees` and runs `settings.setup` in both. `workdir` holds the temp files.
    """
    reporter = reporter or _NullReporter()
    settings = DEFAULT_RUN.merged(settings)
    base_sha = resolve_commit(repo, base, field="--base")
    head_sha = resolve_commit(repo, head, field="--head")
    if spaces is None:
        with _own_worktrees(repo, base_sha, head_sha, settings) as own:
            return discover(
                repo,
                base_sha,
                head_sha,
                python=python,
                settings=settings,
                spaces=own,
                workdir=workdir,
                reporter=reporter,
            )
    base_ws, head_ws = spaces
    if (base_ws.sha, head_ws.sha) != (base_sha, head_sha):
        raise InternalError(
            f"discover: the worktrees are at {base_ws.sha[:8]}..{head_ws.sha[:8]}, "
            f"the refs name {base_sha[:8]}..{head_sha[:8]}"
        )
    with cleanup.temp_dir("fixguard-pr-", workdir) as tools:
        return _discover(repo, base_ws, head_ws, python, settings, tools, reporter)


@contextmanager
def _own_worktrees(
    repo: Path, base: str, head: str, settings: RunSettings
) -> Iterator[tuple[Workspace, Workspace]]:
    with worktrees(repo, base, head, test_paths=settings.test_paths or ()) as (base_ws, head_ws):
        if settings.setup:
            for ws in (base_ws, head_ws):
                run_setup(ws, settings.setup, dict(settings.env or {}), timeout=900)
        yield base_ws, head_ws


def _discover(
    repo: Path,
    base_ws: Workspace,
    head_ws: Workspace,
    python: str,
    settings: RunSettings,
    tools: Path,
    reporter: DiscoveryReporter,
) -> PrEvidence:
    globs = settings.test_paths or TEST_GLOBS
    base, head = base_ws.sha, head_ws.sha
    changed = changed_files(repo, base, head)
    files = changed_test_files(changed, head_ws.path, globs)
    sources = source_files(changed, head_ws.path, globs)
    here = Path(__file__).parents[1] / "mutation" / "probe_plugin.py"
    shutil.copyfile(here, tools / f"{PROBE_MODULE}.py")
    (tools / f"{COLLECTED_MODULE}.py").write_text(_COLLECTED_PLUGIN, encoding="utf-8")
    ctx = _Context(python=python, settings=settings, tools=tools, sources=tuple(sources))
    # The tests under study reach the base wherever they live, whatever the globs say.
    extra = overlay_tests(repo, head, base_ws.path, globs, claim_test_files(files))
    base_ws.overlaid = tuple(dict.fromkeys([*base_ws.overlaid, *extra]))

    reporter.stage("discover", len(files))
    reporter.claim_progress(PROGRESS_ID, f"collect {len(files)} test file(s)")
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="fixguard-pr") as pool:
        on_base, on_head = pool.map(lambda ws: collect(ws, files, ctx), (base_ws, head_ws))
    words = _run_both(base_ws, head_ws, files, on_base, on_head, ctx, reporter)
    tests = _evidence(files, on_base, on_head, words, settings)

    hunks = pr_hunks(repo, base, head, globs)
    f2p = [t.nodeid for t in tests if t.klass is TestClass.F2P]
    lines = _coverage(head_ws, f2p, ctx, reporter) if f2p and hunks else {}
    texts = {h.file: _read_text(head_ws.path / h.file) for h in hunks}
    claims, unproven = prove(hunks, lines, texts, set(f2p))
    unjudged = other_files(changed, head_ws.path, globs)
    claims += orphan_claim(claims, f2p, unjudged)
    return PrEvidence(tests=tests, auto_claims=claims, unproven=unproven, unjudged=unjudged)


def other_files(changed: Sequence[str], head_tree: Path, globs: Sequence[str]) -> list[str]:
    """The changed non-test files that are not Python (SQL, config, templates) and still exist
    on the head: line coverage cannot tie them to a test, so they are listed apart."""
    return sorted(
        path
        for path in changed
        if not path.endswith(".py")
        and not is_test_path(path, globs)
        and (head_tree / path).is_file()
    )


def orphan_claim(
    claims: Sequence[AutoClaim], f2p: Sequence[str], unjudged: Sequence[str]
) -> list[AutoClaim]:
    """A claim for the F2P tests that prove no Python hunk, when the PR changed other files.

    Those tests show a fix the Python diff does not explain: a SQL constraint, a config value.
    Its fix is those files, so it gets the normal verdict: reproduced and fixed, and NO_MUTANTS
    unless a mutable line is among them, as a manifest claim on a SQL-only fix would.
    """
    proven = {t for claim in claims for t in claim.tests}
    orphans = tuple(sorted(t for t in f2p if t not in proven))
    if not orphans or not unjudged:
        return []
    hunks = tuple(PrHunk(path, 1, WHOLE_FILE) for path in unjudged)
    return [AutoClaim(id=f"auto-{len(claims) + 1}", hunks=hunks, tests=orphans)]


@dataclass
class _Words:
    """Outcome words per node id and side, plus the repeats each test got."""

    base: dict[str, list[str]] = field(default_factory=dict)
    head: dict[str, list[str]] = field(default_factory=dict)
    repeats: dict[str, int] = field(default_factory=dict)


def _run_both(
    base_ws: Workspace,
    head_ws: Workspace,
    files: Sequence[str],
    on_base: Collected,
    on_head: Collected,
    ctx: _Context,
    reporter: DiscoveryReporter,
) -> _Words:
    """n runs on each side (more for concurrency tests), one pytest call per run; the two
    sides run side by side, as the pipeline runs its claims."""
    n = ctx.settings.repeats or 1
    words = _Words()
    head_ids = on_head.all_ids()
    for nodeid in head_ids:
        words.repeats[nodeid] = max(n, CONCURRENCY_REPEATS) if nodeid in on_head.concurrency else n
    concurrent = {t.split("::", 1)[0] for t in on_head.concurrency & head_ids}
    # The base runs what it can collect, including a file the head breaks (P2F or F2F).
    sides = (
        (base_ws, [f for f in files if f in on_base.nodeids], on_base, words.base),
        (head_ws, [f for f in files if f in on_head.nodeids], on_head, words.head),
    )

    def one_side(side: tuple[Workspace, list[str], Collected, dict[str, list[str]]]) -> None:
        ws, runnable, collected, out = side
        total = max(n, CONCURRENCY_REPEATS) if concurrent else n
        for index in range(total):
            chosen = runnable if index < n else [f for f in runnable if f in concurrent]
            if not chosen:
                break
            run = run_side(ws, chosen, ctx, reporter, f"{ws.label} run {index + 1}/{total}")
            for path in chosen:
                for nodeid in collected.nodeids.get(path, []):
                    if index < words.repeats.get(nodeid, n):
                        out.setdefault(nodeid, []).append(outcome_word(run, nodeid))

    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="fixguard-pr") as pool:
        list(pool.map(one_side, sides))
    return words


def _evidence(
    files: Sequence[str],
    on_base: Collected,
    on_head: Collected,
    words: _Words,
    settings: RunSettings,
) -> list[TestEvidence]:
    n = settings.repeats or 1
    found: list[TestEvidence] = []
    base_ids = on_base.all_ids()
    for path in files:
        if path in on_head.broken:
            # The head cannot collect the file: one entry for it, judged by its base tests.
            base_words = _file_words(on_base.nodeids.get(path, []), words.base, n)
            head_words = (NOT_COLLECTED,) * n
            klass = classify_test(
                base_words,
                head_words,
                min_failures=min(settings.min_failures or 1, n),
                base_collected=path not in on_base.broken,
            )
            found.append(
                TestEvidence(path, klass, base_words, head_words, note=on_head.broken[path])
            )
            continue
        for nodeid in on_head.nodeids.get(path, []):
            repeats = words.repeats.get(nodeid, n)
            k = min(settings.min_failures or 1, repeats)
            head_words = tuple(words.head.get(nodeid, ()))
            collected = nodeid in base_ids
            base_words = tuple(words.base.get(nodeid, ())) if collected else (NOT_COLLECTED,)
            klass = classify_test(base_words, head_words, min_failures=k, base_collected=collected)
            if collected:
                note = _note(base_words, head_words, k)
            else:
                note = on_base.broken.get(path) or "not collected on the base"
            found.append(TestEvidence(nodeid, klass, base_words, head_words, note=note))
    return found


def _file_words(nodeids: Sequence[str], by_id: Mapping[str, list[str]], n: int) -> tuple[str, ...]:
    """A whole file's outcome per run: failed if any of its tests failed, else passed."""
    if not nodeids:
        return (NOT_COLLECTED,)
    out: list[str] = []
    for index in range(n):
        here = [by_id.get(t, [])[index] for t in nodeids if len(by_id.get(t, [])) > index]
        if not here:
            break
        failing = next((w for w in here if w in _FAILING), None)
        out.append(failing or (PASSED if PASSED in here else here[0]))
    return tuple(out)


def _note(base: Sequence[str], head: Sequence[str], k: int) -> str:
    """Why a test is not plainly what its class says: a base failing below k, a skip."""
    failures = sum(1 for w in base if w in _FAILING)
    if 0 < failures < k:
        return f"failed on the base in {failures} of {len(base)} runs, needed {k}"
    odd = next((w for w in head if w != PASSED), None)
    if odd and odd not in _BROKEN_ON_HEAD:
        return f"{odd} on the head"
    return ""


def _coverage(
    head_ws: Workspace, f2p: Sequence[str], ctx: _Context, reporter: DiscoveryReporter
) -> dict[str, dict[int, list[str]]]:
    """Run the F2P tests once on the head with the line probe: file → line → node ids."""
    reporter.claim_progress(PROGRESS_ID, f"coverage of {len(f2p)} F2P test(s)")
    out = ctx.tools / "probe-coverage.json"
    run = run_pytest(
        head_ws.path,
        list(f2p),
        python=ctx.python,
        pytest_args=[*ctx.args(head_ws), "-p", PROBE_MODULE],
        env=ctx.env(head_ws, FIXGUARD_PROBE_OUT=str(out)),
        timeout=ctx.timeout,
    )
    payload = _read_json(out)
    if not isinstance(payload, dict):
        raise TargetError(
            f"the line probe wrote no data for the F2P tests on the head; the project's pytest "
            f"did not load the {PROBE_MODULE} plugin ({run.outcome.value})",
            hint="check that pytest_args do not disable plugins (-p no:…) or PYTHONPATH",
            log_tail=run.log_tail,
        )
    root = head_ws.path.resolve()
    lines: dict[str, dict[int, list[str]]] = {}
    for filename, by_line in payload.get("lines", {}).items():
        try:
            rel = Path(filename).resolve().relative_to(root).as_posix()
        except ValueError:
            continue
        if rel in ctx.sources:
            lines[rel] = {int(n): list(contexts) for n, contexts in by_line.items()}
    return lines


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
