"""Mutation testing of one claim's fix: its scope, its options, its mutants' records.

This is the step that decides whether a fix is guarded: the engine (`harness.mutation`) mutates
the fix's lines and runs the claim's tests, then the suite's, against each mutant.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path

from ..claims.model import FixRange
from ..errors import TargetError, UserError
from ..mutation import (
    MutantResult,
    MutationOptions,
    MutationResult,
    Scope,
    count_mutants,
    run_mutation,
    scope_from_diff,
    scope_from_ranges,
)
from ..mutation.copies import CopyPool
from ..mutation.events import NullReporter
from ..mutation.scope import restrict
from ..outcomes import MutantStatus
from ..paths import cache_dir
from .job import ClaimJob, VerifyOptions, VerifyReporter
from .results import MutantRecord
from .workspace import claim_test_files


def build_scope(repo: Path, base: str, head: str, fix: Sequence[FixRange]) -> Scope:
    """The fix's tokens: whole files take their diff; explicit ranges keep what changed in them.

    A range names where the fix is, in head lines; only the code the fix added or changed
    there is mutated, never the unchanged lines a range happens to include.
    """
    if not fix:
        return scope_from_diff(repo, base, head, files=None)
    whole = {f.file for f in fix if f.start is None}
    ranges = [str(f) for f in fix if f.start is not None]
    if ranges:
        scope_from_ranges(repo, head, ranges)  # validates each range against the head
    files = sorted(whole | {f.file for f in fix})
    scope = scope_from_diff(repo, base, head, files=files)
    if not ranges:
        return scope
    ranged = restrict(scope, [r for r in ranges if r.split(":", 1)[0] not in whole])
    kept = [f for f in scope.files if f.path in whole] + list(ranged.files)
    return replace(scope, files=tuple(sorted(kept, key=lambda f: f.path)))


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


def claim_options(
    repo: Path,
    base: str,
    head: str,
    job: ClaimJob,
    options: VerifyOptions,
    workdir: Path,
    workers: int,
    copies: CopyPool | None = None,
) -> MutationOptions:
    """The mutation run of one claim: its fix's scope, its tests, its settings and its store."""
    scope = build_scope(repo, base, head, job.claim.fix)
    # The claim's own test files are tests wherever they live (`pkg/checks/smoke.py`).
    own = claim_test_files(job.nodeids)
    scope = replace(
        scope,
        files=tuple(f for f in scope.files if f.path not in own),
        ignored=scope.ignored + tuple((f.path, "test file") for f in scope.files if f.path in own),
    )
    concurrency = bool(job.settings.concurrency)
    # --fresh: an in-memory store per claim, so nothing is reused and nothing is kept.
    store = (options.store or cache_dir(repo)) if options.reuse else None
    return MutationOptions(
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
        store=store / f"claim-{job.claim.id}.sqlite3" if store else None,
        workdir=workdir,
        run_unreached=True,
        perturb=job.mutant_perturb_spec(),
        fork=options.fork,
        copies=copies,
    )


def estimated_cost(mutation: MutationOptions, job: ClaimJob) -> float:
    """Roughly how long the claim's mutants take: their number times a head run of its tests.

    The pipeline starts the costliest claims first, so the stage does not end on one long claim
    while the other workers idle. The mutants found here are stored, so finding them again when
    the claim runs costs nothing.
    """
    try:
        count = count_mutants(mutation)
    except (UserError, TargetError):
        return 0.0  # the claim's own run reports it
    runs = [r.duration for r in job.head_runs] or [1.0]
    return count * sum(runs) / len(runs) * (job.repeats if job.settings.concurrency else 1)


def mutate_claim(
    mutation: MutationOptions,
    job: ClaimJob,
    reporter: VerifyReporter,
) -> tuple[list[MutantRecord], dict[str, int], str | None]:
    """Mutants on the claim's fix lines (`claim_options`); a baseline problem comes back as an
    error message.

    The suite phase keeps the claim's `map_files` (every claim's fix files, set by the
    pipeline), so the claims of one run measure the whole suite once between them.
    """
    reporter.claim_progress(job.claim.id, "mutating the fix lines")
    try:
        result: MutationResult = run_mutation(mutation, reporter=_Progress(job.claim.id, reporter))
    except TargetError as exc:
        tail = f"\n{exc.log_tail}" if exc.log_tail else ""
        return [], {}, f"mutation baseline: {exc.message}{tail}"
    records = [to_record(m, "claim") for m in result.mutants]
    skipped = dict(result.skipped)
    undetected = [r.id for r in records if r.status in UNDETECTED]
    if undetected and (job.settings.guard_tests or "suite") == "suite":
        reporter.claim_progress(
            job.claim.id, f"{len(undetected)} survivors: trying the project's other tests"
        )
        suite_options = replace(
            mutation,
            tests=None,
            mutant_ids=undetected,
            run_unreached=False,
            # The suite's tests are not the claim's concurrency tests: one run each, except for
            # the concurrency families (a removed lock) and tests marked harness_concurrency.
            concurrency=False,
            perturb=None,
            # The claim's own tests already ran against these mutants: measured with the rest
            # (the map is the same for every claim), then left out.
            exclude_tests=tuple(job.nodeids),
            store=mutation.store.with_name(f"claim-{job.claim.id}-suite.sqlite3")
            if mutation.store
            else None,
        )
        started = time.monotonic()
        by_id, note = suite_kills(suite_options)
        job.timings["suite"] = time.monotonic() - started
        records = [merge_suite(r, by_id.get(r.id)) for r in records]
        if note:
            skipped[note] = skipped.get(note, 0) + len(undetected)
    return records, skipped, None


#: Statuses a claim's tests left undetected: the suite gets a try at them.
UNDETECTED = frozenset({MutantStatus.SURVIVED, MutantStatus.NO_COVERAGE})


def suite_kills(options: MutationOptions) -> tuple[dict[str, MutantResult], str | None]:
    """Run the given mutants against the project's whole suite (the tests that reach each).

    Tests that are red on the head without any mutant (a test needing the network, say) are
    left out. When the suite cannot judge at all, the claim's results stand and the reason is
    returned.
    """
    try:
        result = run_mutation(replace(options, exclude_red_tests=True))
    except UserError:
        # Nothing left to collect once the claim's own tests are deselected.
        return {}, "suite kills: the project has no other tests"
    except TargetError as exc:
        return {}, f"suite kills unavailable: {exc.message.split(';')[0]}"
    return {m.id: m for m in result.mutants}, None


def merge_suite(record: MutantRecord, suite: MutantResult | None) -> MutantRecord:
    """A claim-test survivor that some other test of the project kills is killed by the suite."""
    if suite is None or record.status not in UNDETECTED:
        return record
    status = MutantStatus(suite.status)
    if status.is_detected:
        return replace(
            record,
            status=status,
            killing_test=suite.killing_test,
            killed_by="suite",
            kills=suite.kills,
            runs=record.runs + suite.runs,
            duration=record.duration + suite.duration,
            reused=record.reused and suite.cached,
            tests=_union(record.tests, suite.tests),
        )
    if status is MutantStatus.SURVIVED:
        return replace(
            record,
            status=status,
            runs=record.runs + suite.runs,
            reused=record.reused and suite.cached,
            tests=_union(record.tests, suite.tests),
        )
    return record


def _union(first: tuple[str, ...], then: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(dict.fromkeys((*first, *then)))


def to_record(mutant: MutantResult, killed_by: str = "claim") -> MutantRecord:
    """The engine's MutantResult as the report's MutantRecord (a stable, serialisable copy).

    Lossless: every field of the result has its field in the record (`cached` is `reused`),
    which tests/verify/test_records.py keeps true. `killed_by` names whose tests ran, for a
    result that does not say.
    """
    status = MutantStatus(mutant.status)
    return MutantRecord(
        **{
            **mutant.outcome(),
            "status": status,
            "killed_by": (mutant.killed_by or killed_by) if status.is_detected else None,
            "reused": mutant.cached,
        }
    )
