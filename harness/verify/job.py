"""One claim's run through the pipeline: its options, its state, its runs on each side.

`ClaimJob` is what the pipeline (`pipeline.verify`) and the mutation step
(`claim_mutation.mutate_claim`) share, so both import it from here and neither from the other.
"""

from __future__ import annotations

import datetime as dt
import logging
import shlex
import sys
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from ..claims.draft import DraftClaim
from ..claims.model import Claim, Manifest, RunSettings
from ..errors import UserError
from ..forkserver import ServerPool
from ..outcomes import RunOutcome, Verdict
from ..testrun import Launch, TestRun, deselect_args, run_pytest
from .perturbation import Targets, targets
from .results import ClaimResult, MutantRecord, RunRecord
from .reuse import RunReuse
from .scenario_tests import scenario_test_file
from .verdict import decide, judge_runs
from .workspace import Workspace

log = logging.getLogger(__name__)


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
                log.debug("%s %s run %d: reused (same inputs)", self.claim.id, side, index + 1)
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
            log.info(
                "%s %s run %d: forked run %s, run again in a new interpreter: %s",
                self.claim.id,
                side,
                index + 1,
                run.outcome.value,
                fresh.outcome.value,
            )
            if fresh.outcome is not run.outcome and forks is not None:
                forks.distrust(ws.path, self.python, env)
            run = fresh
        result = record(side, index, run)
        log.info(
            "%s %s run %d: %s (%.2fs)",
            self.claim.id,
            side,
            index + 1,
            run.outcome.value,
            run.duration,
        )
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
