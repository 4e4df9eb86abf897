"""The "guarded" step: run the mutation engine on one claim's fix lines with the claim's tests."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from ..claims.model import FixRange
from ..errors import TargetError
from ..mutation import (
    FileScope,
    MutantResult,
    MutationOptions,
    MutationResult,
    Scope,
    run_mutation,
    scope_from_diff,
    scope_from_ranges,
)
from ..mutation.events import NullReporter
from ..outcomes import MutantStatus
from ..paths import cache_dir
from .results import MutantRecord

if TYPE_CHECKING:
    from .pipeline import ClaimJob, VerifyOptions, VerifyReporter


def union(a: Scope, b: Scope) -> Scope:
    """Both scopes' lines, file by file."""
    merged: dict[str, FileScope] = {f.path: f for f in a.files}
    for f in b.files:
        old = merged.get(f.path)
        merged[f.path] = (
            f
            if old is None
            else FileScope(f.path, old.lines | f.lines, old.reindented | f.reindented)
        )
    return replace(a, files=tuple(merged.values()), ignored=a.ignored + b.ignored)


def build_scope(repo: Path, base: str, head: str, fix: Sequence[FixRange]) -> Scope:
    """Whole files take their diff lines; explicit ranges are head lines; none means the diff."""
    files = [f.file for f in fix if f.start is None]
    ranges = [str(f) for f in fix if f.start is not None]
    if not fix:
        return scope_from_diff(repo, base, head, files=None)
    scope = scope_from_diff(repo, base, head, files=files) if files else None
    if ranges:
        explicit = scope_from_ranges(repo, head, ranges)
        scope = explicit if scope is None else union(scope, explicit)
    assert scope is not None
    return scope


class _Progress(NullReporter):
    """Forwards the engine's per-mutant events to the verify reporter as a progress step."""

    def __init__(self, claim_id: str, reporter: VerifyReporter) -> None:
        self.claim_id = claim_id
        self.reporter = reporter
        self.total = 0
        self.done = 0

    def scope_ready(
        self, scope: Scope, mutants: Sequence[object], skipped: Mapping[str, int]
    ) -> None:
        self.total = len(mutants)

    def mutant_finished(self, result: MutantResult) -> None:
        self.done += 1
        self.reporter.claim_progress(self.claim_id, f"mutant {self.done}/{self.total}")


def mutate_claim(
    repo: Path,
    base: str,
    head: str,
    job: ClaimJob,
    options: VerifyOptions,
    reporter: VerifyReporter,
    workdir: Path,
    workers: int,
) -> tuple[list[MutantRecord], dict[str, int], str | None]:
    """Mutants on the claim's fix lines; a baseline problem comes back as an error message."""
    reporter.claim_progress(job.claim.id, "mutating the fix lines")
    scope = build_scope(repo, base, head, job.claim.fix)
    concurrency = bool(job.settings.concurrency)
    try:
        result: MutationResult = run_mutation(
            MutationOptions(
                repo=repo,
                rev=head,
                scope=scope,
                tests=list(job.nodeids),
                python=job.python,
                pytest_args=job.pytest_args(),
                env=dict(job.settings.env or {}),
                setup=job.settings.setup,
                workers=workers,
                repeats=job.repeats if concurrency else 1,
                min_kills=1,
                concurrency=concurrency,
                strict=options.strict,
                # One store per claim: reruns resume, and unchanged mutants are not re-run.
                store=(options.store or cache_dir(repo)) / f"claim-{job.claim.id}.sqlite3",
                workdir=workdir,
            ),
            reporter=_Progress(job.claim.id, reporter),
        )
    except TargetError as exc:
        tail = f"\n{exc.log_tail}" if exc.log_tail else ""
        return [], {}, f"mutation baseline: {exc.message}{tail}"
    return [to_record(m) for m in result.mutants], dict(result.skipped), None


def to_record(mutant: MutantResult) -> MutantRecord:
    """The engine's MutantResult as the report's MutantRecord (a stable, serialisable copy)."""
    return MutantRecord(
        id=mutant.id,
        family=mutant.family,
        operator=mutant.operator,
        file=mutant.file,
        line=mutant.line,
        diff=mutant.diff,
        status=MutantStatus(mutant.status),
        killing_test=mutant.killing_test,
        kills=mutant.kills,
        runs=mutant.runs,
        duration=mutant.duration,
    )
