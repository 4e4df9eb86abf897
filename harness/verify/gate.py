"""The CI gate: verify the claims a diff touches, mutate every changed line, apply the policy."""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path

from ..claims.model import DEFAULT_RUN, Claim, Manifest, RunSettings
from ..errors import TargetError
from ..mutation import MutationOptions, run_mutation, scope_from_diff
from ..mutation.filters import shard
from ..paths import cache_dir
from .claim_mutation import to_record
from .job import VerifyOptions, VerifyReporter
from .pipeline import check_refs, head_sources, review_findings, verify
from .policy import DIFF_ERROR_PREFIX, evaluate
from .preflight import Places, check_python
from .prmode import PrEvidence
from .results import MutantRecord, RunResult
from .workspace import changed_files


@dataclass
class GateOptions:
    verify: VerifyOptions
    #: Verify every claim, not only those the diff touches.
    all_claims: bool = False
    #: Mutate every changed source line against the whole test selection.
    mutate_diff: bool = True
    #: "k/n": this CI job's slice. Claims go to shards by position, changed-line mutants by
    #: the mutation engine's interleaved split; `harness merge` joins the shards' results.
    shard: str | None = None


def touched_claims(manifest: Manifest, changed: list[str]) -> list[Claim]:
    """Claims whose fix files or test files are in the diff (claims with no fix: always)."""
    changed_set = set(changed)
    out = []
    for claim in manifest.claims:
        files = {f.file for f in claim.fix} | {t.split("::")[0] for t in claim.tests}
        if not claim.fix or files & changed_set:
            out.append(claim)
    return out


def gate(options: GateOptions, reporter: VerifyReporter | None = None) -> RunResult:
    opts = options.verify
    root, base, head = check_refs(opts.repo, opts.base, opts.head, opts.allow_dirty)
    changed = changed_files(root, base, head)
    claims = (
        list(opts.manifest.claims) if options.all_claims else touched_claims(opts.manifest, changed)
    )
    pr_mode = opts.pr_mode
    if opts.only is not None:
        named = [opts.manifest.claim(claim_id) for claim_id in opts.only]  # unknown id: UserError
        claims = named
    claims = shard(claims, options.shard)
    if options.mutate_diff and opts.mutate:
        # The changed-line mutation runs even when no claim is touched: its interpreter is
        # checked up front too, so a bad --python is exit 2 before any run.
        label, where = Places.of(opts.manifest).run_python_field(opts.overrides)
        check_python(diff_python(opts), label=label, where=where)
    if pr_mode:  # the claims are the auto-claims verify finds (and the review's findings)
        run = verify(opts, reporter)
    elif claims:
        run = verify(replace(opts, only=[c.id for c in claims]), reporter)
    else:
        run = RunResult(
            run_id=opts.run_id,
            repo=str(root),
            base=base,
            head=head,
            claims=[],
            started="",
            duration=0.0,
            # No claim is touched, so none stands behind a finding; every shard says the same.
            findings=review_findings(opts, root, base, head, PrEvidence()),
        )
    diff_error: str | None = None
    if options.mutate_diff and opts.mutate:
        t0 = time.monotonic()
        try:
            run.diff_mutants = mutate_changed_lines(root, base, head, opts, options.shard)
        except TargetError as exc:
            # A red suite at the head (a claim still failing, say) leaves no baseline to judge
            # mutants against: that is a gate failure to report, not a reason to lose the report.
            diff_error = DIFF_ERROR_PREFIX + exc.message
        run.sources.update(head_sources(root, head, {m.file for m in run.diff_mutants}))
        run.stages["mutate-diff"] = time.monotonic() - t0
    run.policy = opts.manifest.policy.model_dump(mode="json")
    run.shard = options.shard
    run.policy_failures = evaluate(run, opts.manifest.policy)
    if diff_error:
        run.policy_failures.append(diff_error)
    return run


def diff_settings(opts: VerifyOptions) -> RunSettings:
    """The run settings of the changed-line mutation: the manifest's [run], then the CLI's."""
    return DEFAULT_RUN.merged(opts.manifest.run).merged(opts.overrides)


def diff_python(opts: VerifyOptions) -> str:
    return diff_settings(opts).python or opts.python or sys.executable


def mutate_changed_lines(
    root: Path, base: str, head: str, opts: VerifyOptions, shard_spec: str | None = None
) -> list[MutantRecord]:
    """Every changed non-test line, against the whole test selection (coverage picks tests)."""
    settings = diff_settings(opts)
    result = run_mutation(
        MutationOptions(
            repo=root,
            rev=head,
            scope=scope_from_diff(root, base, head, files=None),
            tests=None,
            python=diff_python(opts),
            pytest_args=list(settings.pytest_args or ()),
            env=dict(settings.env or {}),
            setup=settings.setup,
            workers=opts.workers,
            strict=opts.strict,
            store=(opts.store or cache_dir(root)) / "gate.sqlite3" if opts.reuse else None,
            shard=shard_spec,
        )
    )
    return [to_record(m) for m in result.mutants]
