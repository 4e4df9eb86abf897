"""summary.md: a verdict table and the top survivors, short enough for a PR comment."""

from __future__ import annotations

import re
from collections.abc import Callable

from ..outcomes import MutantStatus, Verdict
from ..verify.results import ClaimFinding, ClaimResult, MutantRecord, RunResult
from ..verify.verdict import undetected_counts

ICONS = {
    Verdict.VERIFIED: "✅",
    Verdict.UNGUARDED: "🛡️",
    Verdict.NOT_REPRODUCED: "❔",
    Verdict.STILL_FAILING: "❌",
    Verdict.FLAKY: "🎲",
    Verdict.NO_MUTANTS: "∅",
    Verdict.ERROR: "💥",
}
MAX_SURVIVORS = 5
MAX_DIFF_LINES = 12
MAX_FINDINGS = 10
#: Characters that would format a finding's text in markdown instead of showing it.
_MARKDOWN = re.compile(r"([\\`*_\[\]<>|#~])")


def evidence_cells(claim: ClaimResult) -> tuple[str, str, str]:
    """(reproduced, fixed, guarded) as short `k/n` strings, '–' where the step did not run."""
    base = f"{claim.base_failures}/{len(claim.base_runs)} fail" if claim.base_runs else "–"
    head = f"{claim.head_passes}/{len(claim.head_runs)} pass" if claim.head_runs else "–"
    scored = [m for m in claim.mutants if m.status.value not in ("skipped", "invalid")]
    killed = sum(1 for m in scored if m.status.is_detected)
    guard = f"{killed}/{len(scored)} killed" if scored else "–"
    # Reverting mutants no test detects, split: one that no test runs did not survive a test.
    survived = sum(1 for m in claim.gaps if m.status is MutantStatus.SURVIVED)
    unreached = sum(1 for m in claim.gaps if m.status is MutantStatus.NO_COVERAGE)
    if survived:
        guard += f", {survived} survive{'s' if survived == 1 else ''}"
    if unreached:
        guard += f", {unreached} never reached"
    weak = len(claim.weak_spots)
    if weak:
        guard += f", {weak} weak spot{'s' if weak != 1 else ''}"
    return base, head, guard


def _diff_block(mutant: MutantRecord) -> list[str]:
    return ["```diff", "\n".join(mutant.diff.splitlines()[:MAX_DIFF_LINES]), "```"]


def policy_lines(run: RunResult) -> list[str]:
    """The policy failures, without the claim reasons the verdict table already shows."""
    shown = {
        f"{c.claim_id}: {c.verdict.value} ({c.reason})": f"{c.claim_id}: {c.verdict.value} "
        "is in policy.fail_on"
        for c in run.claims
    }
    return [shown.get(failure, failure) for failure in run.policy_failures]


def status_word(mutant: MutantRecord) -> str:
    return "never reached by a test" if mutant.status is MutantStatus.NO_COVERAGE else "survives"


def _mutant_section(
    title: str,
    intro: str,
    mutants: list[tuple[ClaimResult | None, MutantRecord]],
    what: Callable[[MutantRecord], str],
) -> list[str]:
    """A heading with the count, one sentence, then the first MAX_SURVIVORS mutants."""
    if not mutants:
        return []
    count = str(len(mutants))
    if any(m.status is MutantStatus.NO_COVERAGE for _, m in mutants):
        count += f": {undetected_counts([m for _, m in mutants])}"
    lines = ["", f"### {title} ({count})", "", intro, ""]
    for holder, mutant in mutants[:MAX_SURVIVORS]:
        owner = f"claim `{holder.claim_id}`" if holder else "changed lines"
        lines.append(f"**{mutant.id}** `{mutant.file}:{mutant.line}` {what(mutant)} ({owner})")
        lines += _diff_block(mutant)
    if len(mutants) > MAX_SURVIVORS:
        lines.append(f"…and {len(mutants) - MAX_SURVIVORS} more in index.html.")
    return lines


def finding_count(claim: ClaimResult) -> str:
    """ "1 finding", "3 findings", or "" when the claim's checks reported none."""
    n = len(claim.findings)
    return f"{n} finding{'s' if n != 1 else ''}" if n else ""


def _inline_code(text: str) -> str:
    """`text` as inline code, fenced with more backticks than any run of them inside."""
    fence = "`" * (max((len(ticks) for ticks in re.findall(r"`+", text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _escape(text: str) -> str:
    """Plain markdown text: one line, its formatting characters shown as they are."""
    return _MARKDOWN.sub(r"\\\1", " ".join(text.splitlines()))


def _finding_lines(claim: ClaimResult, finding: ClaimFinding) -> list[str]:
    check, _, problem = finding.headline.partition(": ")
    what = f"{_inline_code(check)}: {_escape(problem)}" if problem else _escape(check)
    lines = [f"- claim `{claim.claim_id}` ({finding.side}): {what}"]
    if finding.repro:
        lines.append(f"  repro: {_inline_code(' '.join(finding.repro.splitlines()))}")
    return lines


def _findings_section(run: RunResult) -> list[str]:
    """What the checks met outside their bug class, listed apart: it never decides a verdict."""
    found = [(c, f) for c in run.claims for f in c.findings]
    if not found:
        return []
    lines = [
        "",
        f"### Findings ({len(found)})",
        "",
        "Met by a check on the way, outside the bug class it judges (a 5xx on bad input, a slow "
        'answer). They do not change the verdict; a binding with `server_errors = "fail"` '
        "makes its check fail on them.",
        "",
    ]
    for claim, finding in found[:MAX_FINDINGS]:
        lines += _finding_lines(claim, finding)
    if len(found) > MAX_FINDINGS:
        lines.append(f"…and {len(found) - MAX_FINDINGS} more in index.html.")
    return lines


def render_summary(run: RunResult) -> str:
    counts = run.counts()
    lines = [
        f"## Fixguard: {len(run.claims)} claims, `{run.base[:10]}..{run.head[:10]}`",
        "",
        " · ".join(f"{ICONS[Verdict(v)]} {v} {n}" for v, n in counts.items() if n),
        "",
        "| claim | severity | verdict | reproduced (base) | fixed (head) | guarded | note |",
        "|---|---|---|---|---|---|---|",
    ]
    for claim in run.claims:
        base, head, guard = evidence_cells(claim)
        note = claim.reason.replace("|", "\\|")
        if claim.excused:
            note = f"allowed by policy: {claim.excused}"
        if claim.findings:
            note += f" · {finding_count(claim)} (see Findings)"
        lines.append(
            f"| `{claim.claim_id}` {claim.title} | {claim.severity} | "
            f"{ICONS[claim.verdict]} **{claim.verdict.value}** | {base} | {head} | {guard} | {note} |"
        )
    gaps: list[tuple[ClaimResult | None, MutantRecord]] = [
        (c, m) for c in run.claims for m in c.gaps
    ]
    gaps += [(None, m) for m in run.diff_mutants if m.status.value == "survived"]
    lines += _mutant_section(
        "Surviving mutants",
        "Each one undoes part of a fix, and no test of the project notices.",
        gaps,
        lambda m: f"{m.family}: {m.operator}, {status_word(m)}",
    )
    lines += _mutant_section(
        "Weak spots",
        "Tweaks of a fix that no test notices (a boundary, a literal, a message). They do "
        "not undo the fix, so they do not decide the verdict; `--strict` or "
        '`policy.weak_spots = "fail"` makes them count.',
        [(c, m) for c in run.claims for m in c.weak_spots],
        lambda m: f"{m.operator}, {status_word(m)}",
    )
    lines += _findings_section(run)
    if run.policy_failures:
        lines += ["", "### Gate", ""] + [f"- {f}" for f in policy_lines(run)]
    lines += ["", f"<sub>run {run.run_id} · {run.duration:.1f}s</sub>", ""]
    return "\n".join(lines)
