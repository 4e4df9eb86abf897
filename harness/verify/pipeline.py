"""The verify pipeline: reproduce on the base, confirm on the head, then mutate the fix lines.

It emits events to a reporter and never prints. Each claim runs with the project's own
interpreter in temp worktrees; the user's tree is only read.
"""

from __future__ import annotations

import datetime as dt
import shlex
import subprocess
import sys
import time
import uuid
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

from ..claims.draft import DraftClaim
from ..claims.model import DEFAULT_RUN, Claim, Manifest, RunSettings
from ..errors import UserError
from ..forkserver import ServerPool
from ..mutation.copies import CopyPool
from ..mutation.inputs import Inputs
from ..outcomes import RunOutcome, Verdict
from ..paths import cache_dir
from ..testrun import Launch, TestRun, deselect_args, run_pytest
from .collection import Collectable, check_node_ids
from .discovery import discover
from .perturbation import Targets, targets
from .preflight import Places, check_claims, check_python
from .prmode import FindingOutcome, PrEvidence, manifest_evidence, pr_manifest
from .results import ClaimResult, MutantRecord, RunRecord, RunResult
from .reuse import RunReuse
from .review_match import match_findings
from .scenario_tests import scenario_test_file
from .verdict import decide, judge_runs
from .workspace import (
    Workspace,
    claim_test_files,
    dirty_files,
    git,
    repo_root,
    resolve_ref,
    run_setup,
    worktrees,
)


class VerifyReporter(Protocol):
    """Receives progress events; `harness.report.console` renders them."""

    def stage(self, name: str, total: int) -> None: ...

    def claim_progress(self, claim_id: str, step: str) -> None: ...

    def claim_finished(self, result: ClaimResult) -> None: ...


class NullReporter:
    def stage(self, name: str, total: int) -> None:
        pass

    def claim_progress(self, claim_id: str, step: str) -> None:
        pass

    def claim_finished(self, result: ClaimResult) -> None:
        pass


@dataclass
class VerifyOptions:
    repo: Path
    base: str
    head: str
    manifest: Manifest
    #: Claim ids to verify; None means every claim in the manifest.
    only: Sequence[str] | None = None
    python: str | None = None
    #: Command-line overrides, applied over the manifest and the claim.
    overrides: RunSettings | None = None
    workers: int = 2
    mutate: bool = True
    strict: bool = False
    allow_dirty: bool = False
    #: Directory for the mutation result stores (default: the per-repo cache dir).
    store: Path | None = None
    run_id: str = field(default_factory=lambda: new_run_id())
    #: Where scenario claims' generated tests are kept, so their reproduce commands still work
    #: after the run (the CLI passes <reports>/generated); None: the run's temp dir.
    generated: Path | None = None
    #: PR mode (no manifest): the claims are the auto-claims the PR's own tests prove.
    pr_mode: bool = False
    #: Review findings (`--review`), each matched to the claim that fixes it.
    review: Sequence[DraftClaim] = ()
    #: The PR's description (`--description`); the commit messages base..head are added to it.
    description: str = ""
    #: Reuse stored runs, coverage maps and mutant results whose inputs are unchanged
    #: (`--fresh` turns it off: everything runs again, and nothing is stored).
    reuse: bool = True
    #: Fork each test run from a warm server (`--no-fork`: a new interpreter per run). Runs
    #: are judged the same either way; a server that cannot start means new interpreters.
    fork: bool = True


def new_run_id() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:6]


def check_refs(repo: Path, base: str, head: str, allow_dirty: bool) -> tuple[Path, str, str]:
    """Resolve the repo and refs, refusing a dirty tree when the head is the checkout."""
    root = repo_root(repo)
    base_sha = resolve_ref(root, base, field="--base")
    head_sha = resolve_ref(root, head, field="--head")
    if base_sha == head_sha:
        raise UserError(
            f"--base={base!r} and --head={head!r} are the same commit; nothing to verify"
        )
    if not allow_dirty and head in ("HEAD", "@"):
        dirty = dirty_files(root)
        if dirty:
            shown = ", ".join(dirty[:5]) + (" …" if len(dirty) > 5 else "")
            raise UserError(
                f"the work tree has uncommitted changes ({shown}); they are not part of "
                f"--head={head!r} and would not be verified",
                where=str(root),
                hint="commit or stash them, or pass --allow-dirty to verify the commit as it is",
            )
    return root, base_sha, head_sha


def verify(options: VerifyOptions, reporter: VerifyReporter | None = None) -> RunResult:
    reporter = reporter or NullReporter()
    started = time.monotonic()
    started_at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    root, base_sha, head_sha = check_refs(
        options.repo, options.base, options.head, options.allow_dirty
    )
    places = Places.of(options.manifest)
    # Every input is checked before the first run: a typo is exit 2, never a verdict.
    if options.pr_mode:
        claims: list[Claim] = []  # PR mode finds its claims in the worktrees
        pr_settings = DEFAULT_RUN.merged(options.manifest.run).merged(options.overrides)
        pr_python = pr_settings.python or options.python or sys.executable
        label, where = places.run_python_field(options.overrides)
        check_python(pr_python, label=label, where=where)
        test_paths = pr_settings.test_paths or ()
    else:
        claims = select_claims(options.manifest, options.only)
        check_claims(
            claims,
            places,
            overrides=options.overrides,
            python=options.python,
            default_python=sys.executable,
        )
        test_paths = options.manifest.settings_for(claims[0]).test_paths or () if claims else ()
    stages: dict[str, float] = {}
    results: list[ClaimResult] = []
    evidence: PrEvidence | None = None
    own_tests = claim_test_files([t for claim in claims for t in claim.tests])
    with (
        worktrees(root, base_sha, head_sha, test_paths=test_paths, claim_tests=own_tests) as (
            base_ws,
            head_ws,
        ),
        ExitStack() as owned,
    ):
        stages["checkout"] = time.monotonic() - started
        if options.pr_mode:
            t0 = time.monotonic()
            if pr_settings.setup:
                for ws in (base_ws, head_ws):
                    run_setup(ws, pr_settings.setup, dict(pr_settings.env or {}), timeout=900)
            evidence = discover(
                root,
                base_sha,
                head_sha,
                python=pr_python,
                settings=pr_settings,
                spaces=(base_ws, head_ws),
                reporter=reporter,
            )
            options = replace(options, manifest=pr_manifest(options.manifest, evidence))
            claims = list(options.manifest.claims)
            stages["discover"] = time.monotonic() - t0
        reuse = RunReuse(
            (options.store or cache_dir(root)) / "runs.sqlite3" if options.reuse else None,
            {
                "base": Inputs.at(
                    root, base_sha, overlay=base_ws.path, overlaid=base_ws.overlaid, named=own_tests
                ),
                "head": Inputs.at(root, head_sha, named=own_tests),
            },
        )
        owned.callback(reuse.close)
        jobs = [ClaimJob.build(options, claim, base_ws, head_ws, reuse) for claim in claims]
        t0 = time.monotonic()
        if not options.pr_mode:  # PR mode ran its setup and collected its tests already
            # Each distinct setup command runs once per worktree, with the env of a claim
            # using it.
            setups = {job.settings.setup: job.settings for job in jobs if job.settings.setup}
            for command, settings in sorted(setups.items()):
                for ws in (base_ws, head_ws):
                    run_setup(ws, command, dict(settings.env or {}), timeout=900)
            # One `pytest --collect-only` on the head (after setup: it may install plugins).
            check_node_ids(
                head_ws.path,
                [Collectable(job.claim, job.python, job.settings) for job in jobs],
                places,
                revision=f"the head ({head_sha[:8]})",
            )
        reporter.stage("reproduce", len(jobs))
        # Claims with repeated runs first: the stage must not end on one claim's third run.
        by_runs = sorted(jobs, key=lambda job: -job.repeats)
        with ServerPool() as servers, ThreadPoolExecutor(max(1, options.workers)) as pool:
            forks = servers if options.fork else None
            list(pool.map(lambda job: job.run_sides(reporter, forks), by_runs))
        stages["reproduce+fixed"] = time.monotonic() - t0
        t0 = time.monotonic()
        eligible = [job for job in jobs if job.needs_mutation()]
        reporter.stage("mutate", len(eligible))
        if eligible and options.mutate:
            from . import guard  # the mutation engine (libcst, mutmut) loads only when needed

            # Claims are mutated side by side, each with its share of the workers, so one
            # claim's serial phases (copies, baseline) overlap another's mutant runs.
            lanes = max(1, min(options.workers, len(eligible)))
            per_claim = max(1, options.workers // lanes)

            workdir = head_ws.path.parent
            # One set of worker copies and fork servers for every claim
            # (harness.mutation.copies), gone when the stage ends.
            with CopyPool(root, workdir) as copies:
                mutations = {
                    job.claim.id: guard.claim_options(
                        root, base_sha, head_sha, job, options, workdir, per_claim, copies
                    )
                    for job in eligible
                }

                # Every coverage map records every claim's fix files: the claims with the same
                # tests and settings (and so every claim's suite phase) measure one between them.
                fix_files = tuple(
                    sorted({f.path for m in mutations.values() for f in m.scope.files})
                )
                mutations = {k: replace(m, map_files=fix_files) for k, m in mutations.items()}

                def guard_one(job: ClaimJob) -> None:
                    started_at = time.monotonic()
                    job.mutants, job.skipped, job.error = guard.mutate_claim(
                        mutations[job.claim.id], job, reporter
                    )
                    # The suite-kill phase is timed on its own ("suite"): stages add up to the claim.
                    job.timings["mutate"] = (
                        time.monotonic() - started_at - job.timings.get("suite", 0)
                    )

                # The costliest claims first (longest processing time first): the stage does not
                # end on one long claim started late while the other lane idles.
                costs = {
                    job.claim.id: guard.estimated_cost(mutations[job.claim.id], job)
                    for job in eligible
                }
                by_cost = sorted(eligible, key=lambda job: -costs[job.claim.id])
                with ThreadPoolExecutor(max_workers=lanes) as pool:
                    list(pool.map(guard_one, by_cost))
        for job in jobs:
            results.append(job.finish(options.mutate))
            reporter.claim_finished(results[-1])
        stages["mutate"] = time.monotonic() - t0
    excuse(results, options.manifest)
    files = {m.file for result in results for m in result.mutants}
    # With a manifest, only the claims this run verified can stand behind a finding.
    findings = review_findings(
        options,
        root,
        base_sha,
        head_sha,
        evidence or manifest_evidence(Manifest(claims=tuple(claims))),
    )
    return RunResult(
        run_id=options.run_id,
        repo=str(root),
        base=base_sha,
        head=head_sha,
        claims=results,
        started=started_at,
        duration=time.monotonic() - started,
        stages=stages,
        sources=head_sources(root, head_sha, files),
        pr=evidence,
        findings=findings,
    )


def review_findings(
    options: VerifyOptions, root: Path, base: str, head: str, evidence: PrEvidence
) -> list[FindingOutcome]:
    """The review's findings (`--review`), each matched to the claim that fixes it."""
    if not options.review:
        return []
    description = "\n".join([options.description, commit_messages(root, base, head)])
    return match_findings(options.review, evidence, description=description)


def commit_messages(repo: Path, base: str, head: str) -> str:
    """The messages of the commits base..head: a squashed PR's "✅ Fixed ..." lines live there."""
    return git(repo, "log", "--format=%B", f"{base}..{head}", check=False)


def head_sources(repo: Path, head: str, files: set[str]) -> dict[str, str]:
    """The head's text of each mutated file, for the mutation-testing-elements report."""
    sources: dict[str, str] = {}
    for file in sorted(files):
        proc = subprocess.run(
            ["git", "show", f"{head}:{file}"],
            cwd=repo,
            capture_output=True,
            text=True,
            errors="replace",
        )
        if proc.returncode == 0:
            sources[file] = proc.stdout
    return sources


def excuse(results: Sequence[ClaimResult], manifest: Manifest) -> None:
    """Record the policy's allowed exceptions on the claims they cover."""
    for result in results:
        exc = manifest.policy.excused(result.claim_id, result.verdict)
        result.excused = exc.reason if exc else None


def select_claims(manifest: Manifest, only: Sequence[str] | None) -> list[Claim]:
    if not manifest.claims:
        raise UserError("the manifest has no [[claims]]", hint="add one, or pass --tests")
    chosen = list(manifest.claims) if only is None else [manifest.claim(c) for c in only]
    drafts = [c.id for c in chosen if c.draft]
    if drafts:
        raise UserError(
            f"claims {', '.join(drafts)} are drafts (draft = true)",
            hint="confirm bug_class, add tests or a scenario, then delete draft = true",
        )
    return chosen


@dataclass
class ClaimJob:
    """One claim's state while the pipeline runs it."""

    claim: Claim
    settings: RunSettings
    python: str
    nodeids: tuple[str, ...]
    base_ws: Workspace
    head_ws: Workspace
    base_runs: list[RunRecord] = field(default_factory=list)
    head_runs: list[RunRecord] = field(default_factory=list)
    mutants: list[MutantRecord] | None = None
    skipped: dict[str, int] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    #: Set when the claim could not be judged (for example the mutation baseline failed).
    error: str | None = None
    #: --strict: weak spots decide the verdict like reverting survivors.
    strict: bool = False
    #: The fix's files the runs perturb, with their hot lines (no files: plain runs).
    perturb_targets: Targets = field(default_factory=Targets)
    #: Stored runs with the same inputs, reused instead of run again (None: run everything).
    reuse: RunReuse | None = None
    #: What else decides a run's outcome besides its inputs: the scenario's target.
    target: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def build(
        cls,
        options: VerifyOptions,
        claim: Claim,
        base_ws: Workspace,
        head_ws: Workspace,
        reuse: RunReuse | None = None,
    ) -> ClaimJob:
        settings = options.manifest.settings_for(claim, options.overrides)
        python = settings.python or options.python or sys.executable
        if claim.scenario:
            target = options.manifest.targets[claim.target or ""]
            folder = (options.generated or base_ws.path.parent / "generated").resolve()
            try:
                nodeids: tuple[str, ...] = (scenario_test_file(claim, target, folder),)
                for name, text in GENERATED_FILES.items():
                    (folder / name).write_text(text, encoding="utf-8")
            except OSError as exc:
                raise UserError(
                    f"--out={str(folder.parent)!r}: cannot write the scenario test: {exc.strerror}"
                ) from None
        else:
            nodeids = claim.tests
        found = Targets()
        if settings.perturb_mode is not None:
            found = targets(options.repo, options.base, options.head, claim.fix, nodeids)
        target = options.manifest.targets.get(claim.target or "", {}) if claim.scenario else {}
        return cls(
            claim,
            settings,
            python,
            nodeids,
            base_ws,
            head_ws,
            strict=options.strict,
            perturb_targets=found,
            reuse=reuse,
            target=dict(target),
        )

    @property
    def repeats(self) -> int:
        return self.settings.repeats or 1

    @property
    def min_failures(self) -> int:
        return min(self.settings.min_failures or 1, self.repeats)

    def pytest_args(self) -> list[str]:
        return [*(self.settings.pytest_args or ()), *deselect_args(self.settings.deselect or ())]

    def perturb_spec(self, ws: Workspace, index: int) -> str | None:
        """Run `index`'s perturbation in the side `ws` (seed index + 1), or None."""
        side = "base" if ws is self.base_ws else "head"
        return self.perturb_targets.spec(self.settings.perturb_mode, side, ws.path, index + 1)

    def mutant_perturb_spec(self) -> str | None:
        """The mutants' runs' spec without a seed (the lab adds run i's), or None."""
        return self.perturb_targets.spec(
            self.settings.perturb_mode, "mutant", self.head_ws.path, None
        )

    def run_env(self, index: int) -> dict[str, str]:
        """The env of run `index`: the claim's, and with repeats, hash seed index + 1.

        Each repeat gets its own hash seed, the same on both sides and in the mutants' run i
        (harness.mutation.lab), so a k-of-n result is the same on every re-run. A seed the
        manifest sets wins.
        """
        env = dict(self.settings.env or {})
        if self.repeats > 1:
            env.setdefault("PYTHONHASHSEED", str(index + 1))
        return env

    def run_once(self, ws: Workspace, index: int = 0, forks: ServerPool | None = None) -> RunRecord:
        """Run `index` of the claim's tests on one side, or its stored twin (same inputs).

        With `forks`, the run forks from a warm server for its work tree and env.
        """
        side = "base" if ws is self.base_ws else "head"
        perturb = self.perturb_spec(ws, index)
        timeout = self.settings.timeout or 120.0
        env = self.run_env(index)
        key = ""
        if self.reuse is not None:
            how = [self.pytest_args(), sorted(env.items()), timeout]
            how += [self.settings.setup, self.target]
            key = self.reuse.key(
                side,
                ws.path,
                self.nodeids,
                python=self.python,
                how=how,
                perturb=perturb,
                index=index,
            )
            stored = self.reuse.get(key)
            if stored is not None:
                return stored

        def once(launch: Launch | None) -> TestRun:
            return run_pytest(
                ws.path,
                self.nodeids,
                python=self.python,
                pytest_args=self.pytest_args(),
                env=env,
                timeout=timeout,
                perturb=perturb,
                launch=launch,
            )

        launch = forks.launcher(ws.path, self.python, env) if forks is not None else None
        run = once(launch)
        if run.forked and run.outcome not in _JUDGED:
            # A run that judged nothing may be the fork's doing: it counts only as a new
            # interpreter's. Where that ends otherwise, this kind of run stops forking. (A
            # timeout is judged: servers fork only while they run a single thread, so no lock
            # is held across the fork, and a child ends as an interpreter does.)
            fresh = once(None)
            if fresh.outcome is not run.outcome and forks is not None:
                forks.distrust(ws.path, self.python, env)
            run = fresh
        result = record(side, index, run)
        if self.reuse is not None:
            self.reuse.put(key, result)
        return result

    def run_sides(self, reporter: VerifyReporter, forks: ServerPool | None = None) -> None:
        t0 = time.monotonic()
        for index in range(self.repeats):
            reporter.claim_progress(self.claim.id, f"base run {index + 1}/{self.repeats}")
            self.base_runs.append(self.run_once(self.base_ws, index, forks))
            failures = sum(1 for r in self.base_runs if r.outcome in _FAILS)
            if failures >= self.min_failures:
                break  # reproduced: the remaining base runs cannot change that
        self.timings["base"] = time.monotonic() - t0
        t0 = time.monotonic()
        for index in range(self.repeats):
            reporter.claim_progress(self.claim.id, f"head run {index + 1}/{self.repeats}")
            self.head_runs.append(self.run_once(self.head_ws, index, forks))
        self.timings["head"] = time.monotonic() - t0

    def needs_mutation(self) -> bool:
        verdict, _ = judge_runs(
            self.base_runs, self.head_runs, repeats=self.repeats, min_failures=self.min_failures
        )
        return verdict is None

    def finish(self, mutate: bool) -> ClaimResult:
        mutants = self.mutants if (mutate or self.mutants is not None) else None
        verdict, reason = decide(
            self.base_runs,
            self.head_runs,
            mutants,
            repeats=self.repeats,
            min_failures=self.min_failures,
            strict=self.strict,
        )
        if self.error:
            verdict, reason = Verdict.ERROR, self.error
        elif not mutate and verdict is Verdict.ERROR and self.mutants is None:
            reason = reason.replace(
                "mutation testing did not run", "mutation testing was skipped (--no-mutate)"
            )
        return ClaimResult(
            claim_id=self.claim.id,
            title=self.claim.title,
            severity=self.claim.severity.value,
            source=self.claim.source,
            verdict=verdict,
            reason=reason,
            tests=self.nodeids,
            fix=tuple(str(f) for f in self.claim.fix),
            repeats=self.repeats,
            min_failures=self.min_failures,
            base_runs=self.base_runs,
            head_runs=self.head_runs,
            mutants=list(self.mutants or []),
            skipped=self.skipped,
            repro=self.repro_command(),
            timings=self.timings,
        )

    def repro_command(self) -> str:
        """One command that reruns the claim's tests in a checkout (the user's, at the head).

        A scenario claim's node id is the absolute path of its generated test, kept in the
        reports folder, so the command works from any checkout after the run.
        """
        args = " ".join(shlex.quote(a) for a in (*self.nodeids, *self.pytest_args()))
        return f"{shlex.quote(self.python)} -m pytest {args}"


#: Beside the generated tests, which may sit in a reports folder inside the user's repo.
#: pytest.ini: pytest stops its search for config and conftest.py files here, so neither the
#: run nor the reproduce command reads the repo's work-tree config. conftest.py: a plain
#: `pytest` in the repo skips them (a file named on the command line is still collected).
GENERATED_FILES = {
    "pytest.ini": "# Written by Fixguard: pytest reads no config or conftest.py above here.\n"
    "[pytest]\n",
    "conftest.py": "# Written by Fixguard: only the reproduce command, which names its file,\n"
    "# runs these generated tests.\n"
    'collect_ignore_glob = ["test_claim_*.py"]\n',
}


_FAILS = frozenset({RunOutcome.FAILED, RunOutcome.TIMED_OUT})
#: Outcomes a forked claim run gives as they are; any other is run again in a new interpreter.
_JUDGED = frozenset({RunOutcome.PASSED, RunOutcome.FAILED, RunOutcome.TIMED_OUT})


def record(side: str, index: int, run: TestRun) -> RunRecord:
    return RunRecord(
        side=side,
        index=index,
        outcome=run.outcome,
        duration=round(run.duration, 3),
        failed=run.failed,
        log_tail=run.log_tail,
        command=" ".join(shlex.quote(c) for c in run.command),
        error_line=run.error_line,
        findings=run.findings,
        perturb=run.perturb,
        perturbed=run.perturbed,
        replays=run.replays,
    )
