"""The gate policy: which verdicts fail the build, the kill-ratio floor, and allowed exceptions."""

from __future__ import annotations

from ..claims.model import Policy
from ..outcomes import ExitCode, MutantStatus
from .prmode import TestClass
from .results import RunResult

#: How a gate reports changed-line mutation that could not run (a red suite at the head).
DIFF_ERROR_PREFIX = "changed lines: mutation could not run: "


def evaluate(run: RunResult, policy: Policy) -> list[str]:
    """Return one line per policy violation (empty means the gate passes). Pure.

    In PR mode a regression (a P2F test), a hunk no F2P test executes, and a review finding
    marked fixed with nothing behind it each fail the policy too.
    """
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
    if run.pr is not None:
        for test in run.pr.of(TestClass.P2F):
            failures.append(f"regression: {test.nodeid} passes on the base and fails on the head")
        for hunk in run.pr.unproven:
            why = hunk.why or "no test the PR adds or changes executes it"
            failures.append(f"unproven: {hunk} ({why})")
    for finding in run.findings:
        if finding.flagged:
            failures.append(f"finding {finding.title!r}: marked fixed, but {finding.state.value}")
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
