"""The "guarded" step: run the mutation engine on one claim's fix lines with the claim's tests."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..claims.model import FixRange
from ..outcomes import MutantStatus
from .results import MutantRecord
from .workspace import Workspace

if TYPE_CHECKING:
    from .pipeline import ClaimJob, VerifyOptions, VerifyReporter


def build_scope(repo: Path, base: str, head: str, fix: tuple[FixRange, ...]) -> Any:
    """Whole files take their diff lines; explicit ranges are head lines; none means the diff."""
    from ..mutation import scope_from_diff, scope_from_ranges

    files = [f.file for f in fix if f.start is None]
    ranges = [str(f) for f in fix if f.start is not None]
    if not fix:
        return scope_from_diff(repo, base, head, files=None)
    scope = scope_from_diff(repo, base, head, files=files) if files else None
    if ranges:
        explicit = scope_from_ranges(repo, head, ranges)
        scope = explicit if scope is None else scope.union(explicit)
    return scope


def mutate_claim(
    repo: Path,
    base: str,
    head: str,
    head_ws: Workspace,
    job: ClaimJob,
    options: VerifyOptions,
    reporter: VerifyReporter,
) -> tuple[list[MutantRecord], dict[str, int]]:
    from ..mutation import MutationOptions, run_mutation

    reporter.claim_progress(job.claim.id, "mutating the fix lines")
    scope = build_scope(repo, base, head, job.fix_ranges())
    store = options.store or (head_ws.path.parent / "mutants.sqlite3")
    result = run_mutation(
        MutationOptions(
            repo=repo,
            rev=head,
            scope=scope,
            tests=list(job.nodeids),
            python=job.python,
            pytest_args=job.pytest_args(),
            env=dict(job.settings.env or {}),
            setup=job.settings.setup,
            workers=options.workers,
            repeats=job.repeats if job.settings.concurrency else 1,
            min_kills=1,
            concurrency=bool(job.settings.concurrency),
            strict=options.strict,
            store=store,
            overlay=head_ws.path,
        )
    )
    records = [to_record(m) for m in result.mutants]
    return records, dict(result.skipped)


def to_record(mutant: Any) -> MutantRecord:
    """The engine's MutantResult as the report's MutantRecord (a stable, serialisable copy)."""
    return MutantRecord(
        id=str(mutant.id),
        family=str(mutant.family),
        operator=str(mutant.operator),
        file=str(mutant.file),
        line=int(mutant.line),
        diff=str(mutant.diff),
        status=MutantStatus(mutant.status),
        killing_test=mutant.killing_test,
        kills=int(getattr(mutant, "kills", 0) or 0),
        runs=int(getattr(mutant, "runs", 0) or 0),
        duration=float(getattr(mutant, "duration", 0.0) or 0.0),
    )
