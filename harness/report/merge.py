"""Join the results of CI shards into one run, and re-apply the policy to the union. Pure."""

from __future__ import annotations

from collections.abc import Sequence

from ..claims.model import Policy
from ..errors import UserError
from ..verify.policy import DIFF_ERROR_PREFIX, evaluate
from ..verify.prmode import FindingOutcome, PrEvidence
from ..verify.results import MutantRecord, RunResult, to_jsonable


def merge_runs(runs: Sequence[RunResult], *, where: Sequence[str]) -> RunResult:
    """One RunResult from shard results of the same base..head.

    Each claim must come from exactly one shard, and a changed-line mutant that appears in two
    shards must have the same status in both; anything else means the shards did not split the
    same work, which is a user error (mixed runs), not something to paper over.
    """
    if not runs:
        raise UserError("nothing to merge", hint="pass the shards' results.json files or dirs")
    first = runs[0]
    for run, name in zip(runs, where, strict=True):
        if (run.base, run.head) != (first.base, first.head):
            raise UserError(
                f"base..head={run.base[:10]}..{run.head[:10]} differs from "
                f"{first.base[:10]}..{first.head[:10]} of {where[0]}",
                where=name,
            )
    claims = []
    owner: dict[str, str] = {}
    for run, name in zip(runs, where, strict=True):
        for claim in run.claims:
            if claim.claim_id in owner:
                raise UserError(
                    f"claim={claim.claim_id!r} is in two shards ({owner[claim.claim_id]} and {name})",
                    hint="merge the shards of one run only",
                )
            owner[claim.claim_id] = name
            claims.append(claim)
    mutants: dict[str, MutantRecord] = {}
    for run, name in zip(runs, where, strict=True):
        for mutant in run.diff_mutants:
            seen = mutants.get(mutant.id)
            if seen is not None and seen.status is not mutant.status:
                raise UserError(f"mutant={mutant.id!r} has two statuses across shards", where=name)
            mutants[mutant.id] = mutant
    pr, findings = _pr_evidence(runs, where)
    stages: dict[str, float] = {}
    for run in runs:
        for stage, seconds in run.stages.items():
            stages[stage] = max(stages.get(stage, 0.0), seconds)  # shards run in parallel
    merged = RunResult(
        run_id=first.run_id.rsplit("-shard", 1)[0] + "-merged",
        repo=first.repo,
        base=first.base,
        head=first.head,
        claims=sorted(claims, key=lambda c: c.claim_id),
        started=min(r.started for r in runs),
        duration=max(r.duration for r in runs),
        stages=stages,
        diff_mutants=sorted(mutants.values(), key=lambda m: (m.file, m.line, m.id)),
        policy=first.policy,
        sources={k: v for r in runs for k, v in r.sources.items()},
        pr=pr,
        findings=findings,
    )
    merged.policy_failures = evaluate(merged, Policy.model_validate(first.policy or {}))
    # A shard whose changed-line mutation could not run has no mutants to re-judge: keep its line.
    merged.policy_failures += sorted(
        {f for run in runs for f in run.policy_failures if f.startswith(DIFF_ERROR_PREFIX)}
    )
    return merged


def _pr_evidence(
    runs: Sequence[RunResult], where: Sequence[str]
) -> tuple[PrEvidence | None, list[FindingOutcome]]:
    """PR mode's evidence and review findings, which every shard of a PR run carries whole.

    Discovery and matching happen before the claims are split, so shards that disagree did
    not come from the same run.
    """
    first = runs[0]
    for run, name in zip(runs, where, strict=True):
        if to_jsonable(run.pr) != to_jsonable(first.pr):
            raise UserError(f"its PR evidence differs from that of {where[0]}", where=name)
        if to_jsonable(run.findings) != to_jsonable(first.findings):
            raise UserError(f"its review findings differ from those of {where[0]}", where=name)
    return first.pr, list(first.findings)
