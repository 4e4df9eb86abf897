"""The gate policy: which verdicts fail the build, the kill-ratio floor, and allowed exceptions."""

from __future__ import annotations

from ..claims.model import Policy
from ..outcomes import ExitCode, MutantStatus
from .results import RunResult

#: How a gate reports changed-line mutation that could not run (a red suite at the head).
DIFF_ERROR_PREFIX = "changed lines: mutation could not run: "


def evaluate(run: RunResult, policy: Policy) -> list[str]:
    """Return one line per policy violation (empty means the gate passes). Pure."""
    failures: list[str] = []
    for claim in run.claims:
        if claim.verdict in policy.fail_on and not claim.excused:
            failures.append(f"{claim.claim_id}: {claim.verdict.value} ({claim.reason})")
        elif policy.weak_spots == "fail" and claim.weak_spots:
            where = ", ".join(f"{m.file}:{m.line} {m.operator}" for m in claim.weak_spots[:3])
            failures.append(
                f"{claim.claim_id}: {len(claim.weak_spots)} weak spots and "
                f"policy.weak_spots='fail' ({where})"
            )
    scored = [
        m
        for m in run.diff_mutants
        if m.status not in (MutantStatus.SKIPPED, MutantStatus.INVALID, MutantStatus.PENDING)
    ]
    if scored:
        killed = sum(1 for m in scored if m.status.is_detected)
        ratio = killed / len(scored)
        if ratio < policy.min_kill_ratio:
            failures.append(
                f"changed lines: kill ratio {ratio:.0%} ({killed}/{len(scored)}) is below "
                f"policy.min_kill_ratio={policy.min_kill_ratio:.0%}"
            )
    return failures


def exit_code(failures: list[str]) -> ExitCode:
    return ExitCode.POLICY_FAILURE if failures else ExitCode.OK
