"""summary.md: a verdict table and the top survivors, short enough for a PR comment."""

from __future__ import annotations

import html
import re
from collections.abc import Callable

from ..outcomes import MutantStatus, Verdict
from ..verify.prmode import (
    FindingOutcome,
    FindingState,
    PrEvidence,
    PrHunk,
    TestClass,
    TestEvidence,
)
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


def _perturbation_section(run: RunResult) -> list[str]:
    """Which claims ran under schedule perturbation, and the replay of each failing run."""
    perturbed = [c for c in run.claims if c.perturbation]
    if not perturbed:
        return []
    lines = [
        "",
        "### Schedule perturbation",
        "",
        "Concurrency claims run their tests with seeded thread and await switches in the fix's "
        "files; a failing run's command reruns it with the same seed.",
        "",
    ]
    for claim in perturbed:
        lines.append(f"- claim `{claim.claim_id}`: {_escape(claim.perturbation)}")
        for where, command in claim.replays[:MAX_FINDINGS]:
            lines.append(f"  - {where}: {_inline_code(command)}")
    return lines


def _verdict_rows(run: RunResult) -> list[str]:
    lines = [
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
    return lines


def _counts_line(run: RunResult) -> str:
    return " · ".join(f"{ICONS[Verdict(v)]} {v} {n}" for v, n in run.counts().items() if n)


def _claim_sections(run: RunResult) -> list[str]:
    """Surviving mutants, weak spots, the checks' findings and the gate."""
    gaps: list[tuple[ClaimResult | None, MutantRecord]] = [
        (c, m) for c in run.claims for m in c.gaps
    ]
    gaps += [(None, m) for m in run.diff_mutants if m.status.value == "survived"]
    lines = _mutant_section(
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
    lines += _perturbation_section(run)
    if run.policy_failures:
        lines += ["", "### Gate", ""] + [f"- {f}" for f in policy_lines(run)]
    return lines


def _footer(run: RunResult) -> list[str]:
    reused = f" · {run.reuse_line()}" if run.reuse_line() else ""
    return ["", f"<sub>run {run.run_id} · {run.duration:.1f}s{reused}</sub>", ""]


def render_summary(run: RunResult) -> str:
    if run.pr is not None:
        return render_pr_summary(run, run.pr)
    lines = [
        f"## Fixguard: {len(run.claims)} claims, `{run.base[:10]}..{run.head[:10]}`",
        "",
        _counts_line(run),
        "",
        *_verdict_rows(run),
    ]
    lines += _claim_sections(run)
    lines += _footer(run)
    return "\n".join(lines)


# PR mode: the comment leads with the review's findings, then what the PR's tests prove.

#: How a flagged finding is marked wherever it is shown.
FLAGGED = "marked fixed, nothing behind it"
FLAG_ICON = "🚩"
UNPROVEN_ICON = "⚠️"
MAX_REVIEW_FINDINGS = 60
MAX_UNPROVEN_HUNKS = 10
MAX_HUNK_DIFF_LINES = 30
MAX_EVIDENCE_TESTS = 30
#: The test classes the evidence lists, with what each means (P2F has its own section).
EVIDENCE_CLASSES = (
    (TestClass.F2P, "fail on the base, pass on the head: the evidence of a fix"),
    (TestClass.P2P, "pass on both sides"),
    (TestClass.F2F, "fail on both sides: they prove nothing"),
    (TestClass.NEW_API, "cannot be collected on the base (they import what the PR adds)"),
)


def judging_claim(run: RunResult, finding: FindingOutcome) -> ClaimResult | None:
    """The claim whose verdict a JUDGED finding takes."""
    if finding.state is not FindingState.JUDGED:
        return None
    return next((c for c in run.claims if c.claim_id == finding.claim_id), None)


def finding_verdict_text(run: RunResult, finding: FindingOutcome) -> str:
    """A finding's verdict in words: its claim's verdict, or what PR mode made of it."""
    claim = judging_claim(run, finding)
    if claim is not None:
        return claim.verdict.value
    if finding.state is FindingState.JUDGED:
        return f"judged by {finding.claim_id}, which has no result"
    return finding.state.value


def finding_where(finding: FindingOutcome) -> str:
    """The finding's location as the review gives it: 'file:line', 'file' or ''."""
    if not finding.file:
        return ""
    return f"{finding.file}:{finding.line}" if finding.line else finding.file


def pr_headline(run: RunResult, pr: PrEvidence) -> str:
    """One line: flagged findings, unproven hunks and regressions, the things to look at."""
    flagged = sum(1 for f in run.findings if f.flagged)
    regressions = len(pr.of(TestClass.P2F))
    parts = [
        f"{len(pr.auto_claims)} auto-claim{'s' if len(pr.auto_claims) != 1 else ''}",
        f"{len(pr.unproven)} unproven hunk{'s' if len(pr.unproven) != 1 else ''}",
        f"{regressions} regression{'s' if regressions != 1 else ''} (P2F)",
    ]
    if run.findings:
        parts.insert(
            0, f"{len(run.findings)} review finding{'s' if len(run.findings) != 1 else ''}"
        )
    if flagged:
        parts.insert(0, f"{FLAG_ICON} {flagged} {FLAGGED}")
    return " · ".join(parts)


def _finding_cell(run: RunResult, finding: FindingOutcome) -> str:
    where = f", {_inline_code(finding.hunk)}" if finding.hunk else ""
    claim = judging_claim(run, finding)
    if claim is not None:
        return f"{ICONS[claim.verdict]} **{claim.verdict.value}** (`{claim.claim_id}`{where})"
    text = _escape(finding_verdict_text(run, finding))
    if finding.state is FindingState.UNPROVEN:
        text = f"{UNPROVEN_ICON} {text}" + (
            f" ({_inline_code(finding.hunk)})" if finding.hunk else ""
        )
    if finding.flagged:
        text = f"{FLAG_ICON} **{FLAGGED}**: {text}"
    return text


def _review_findings_section(run: RunResult) -> list[str]:
    if not run.findings:
        return []
    lines = [
        "",
        f"### Review findings ({len(run.findings)})",
        "",
        "Each finding of the review, matched to the hunk of this PR at its file:line; a "
        "matched finding takes the verdict of the auto-claim that hunk belongs to.",
        "",
        "| # | finding | severity | where | verdict |",
        "|---|---|---|---|---|",
    ]
    for n, finding in enumerate(run.findings[:MAX_REVIEW_FINDINGS], 1):
        where = finding_where(finding)
        lines.append(
            f"| {n} | {_escape(finding.title)} | {_escape(finding.severity)} | "
            f"{_inline_code(where) if where else '–'} | {_finding_cell(run, finding)} |"
        )
    if len(run.findings) > MAX_REVIEW_FINDINGS:
        lines.append(f"…and {len(run.findings) - MAX_REVIEW_FINDINGS} more in index.html.")
    return lines


def _fenced(text: str, lang: str = "") -> list[str]:
    """`text` as a fenced block whose fence is longer than any backtick run inside."""
    fence = "`" * max(3, max((len(t) + 1 for t in re.findall(r"`+", text)), default=0))
    return [f"{fence}{lang}", text, fence]


def _hunk_details(hunk: PrHunk) -> list[str]:
    diff = hunk.diff.splitlines()
    shown = "\n".join(diff[:MAX_HUNK_DIFF_LINES])
    if len(diff) > MAX_HUNK_DIFF_LINES:
        shown += f"\n… {len(diff) - MAX_HUNK_DIFF_LINES} more lines"
    why = f": {html.escape(hunk.why)}" if hunk.why else ""
    lines = ["<details>", f"<summary><code>{html.escape(str(hunk))}</code>{why}</summary>", ""]
    lines += _fenced(shown or "(no diff recorded)", "diff")
    return [*lines, "", "</details>"]


def _unproven_section(pr: PrEvidence) -> list[str]:
    if not pr.unproven:
        return []
    lines = [
        "",
        f"### Unproven hunks ({len(pr.unproven)})",
        "",
        "Changed code that no F2P test executes: nothing here shows that it fixes anything.",
        "",
    ]
    for hunk in pr.unproven[:MAX_UNPROVEN_HUNKS]:
        lines += _hunk_details(hunk)
    if len(pr.unproven) > MAX_UNPROVEN_HUNKS:
        lines.append(f"…and {len(pr.unproven) - MAX_UNPROVEN_HUNKS} more in index.html.")
    return lines


def outcomes_text(outcomes: tuple[str, ...]) -> str:
    """'failed ×3', 'passed, failed', or '–' when the side did not run."""
    if not outcomes:
        return "–"
    if len(set(outcomes)) == 1:
        return f"{outcomes[0]} ×{len(outcomes)}" if len(outcomes) > 1 else outcomes[0]
    return ", ".join(outcomes)


def _test_line(test: TestEvidence) -> str:
    line = (
        f"- {_inline_code(test.nodeid)}: base {outcomes_text(test.base)}, "
        f"head {outcomes_text(test.head)}"
    )
    return line + (f" ({_escape(test.note)})" if test.note else "")


def _regressions_section(pr: PrEvidence) -> list[str]:
    regressions = pr.of(TestClass.P2F)
    if not regressions:
        return []
    lines = [
        "",
        f"### Regressions ({len(regressions)})",
        "",
        "Tests that pass on the base and fail on the head (P2F): the PR breaks them.",
        "",
    ]
    return lines + [_test_line(t) for t in regressions]


def _evidence_section(pr: PrEvidence) -> list[str]:
    counts = " · ".join(f"{k.value} {len(pr.of(k))}" for k, _ in EVIDENCE_CLASSES)
    lines = [
        "",
        "### Evidence",
        "",
        "<details>",
        f"<summary>{len(pr.tests)} tests the PR adds or changes: {counts}</summary>",
    ]
    for klass, meaning in EVIDENCE_CLASSES:
        tests = pr.of(klass)
        if not tests:
            continue
        lines += ["", f"**{klass.value}** ({len(tests)}): {meaning}", ""]
        lines += [_test_line(t) for t in tests[:MAX_EVIDENCE_TESTS]]
        if len(tests) > MAX_EVIDENCE_TESTS:
            lines.append(f"- …and {len(tests) - MAX_EVIDENCE_TESTS} more in results.json")
    if pr.auto_claims:
        lines += [
            "",
            f"**Auto-claims** ({len(pr.auto_claims)}): hunks proven by the same tests",
            "",
        ]
    for claim in pr.auto_claims:
        hunks = ", ".join(_inline_code(str(h)) for h in claim.hunks)
        names = ", ".join(_inline_code(t) for t in claim.tests)
        lines.append(f"- `{claim.id}`: hunks {hunks or '–'}; tests {names or '–'}")
    return [*lines, "", "</details>"]


def _unjudged_section(pr: PrEvidence) -> list[str]:
    if not pr.unjudged:
        return []
    lines = [
        "",
        f"### Changed outside Python ({len(pr.unjudged)})",
        "",
        "No line coverage ties these to a test; an F2P test that proves no Python hunk gets a "
        "claim on them (NO_MUTANTS unless one of them can be mutated).",
        "",
    ]
    lines += [f"- `{path}`" for path in pr.unjudged[:MAX_UNPROVEN_HUNKS]]
    if len(pr.unjudged) > MAX_UNPROVEN_HUNKS:
        lines.append(f"- …and {len(pr.unjudged) - MAX_UNPROVEN_HUNKS} more")
    return lines


def render_pr_summary(run: RunResult, pr: PrEvidence) -> str:
    """summary.md as a PR comment: the review's findings first, then the auto-claims' verdicts,
    unproven hunks and regressions, the claim sections, and the evidence last, collapsed."""
    lines = [
        f"## Fixguard: pull request `{run.base[:10]}..{run.head[:10]}`",
        "",
        pr_headline(run, pr),
    ]
    lines += _review_findings_section(run)
    lines += ["", f"### Verdicts ({len(run.claims)} auto-claims)", ""]
    if run.claims:
        lines += [_counts_line(run), "", *_verdict_rows(run)]
    else:
        lines.append("No F2P test: nothing in this PR proves a fix.")
    lines += _unproven_section(pr)
    lines += _unjudged_section(pr)
    lines += _regressions_section(pr)
    lines += _claim_sections(run)
    lines += _evidence_section(pr)
    lines += _footer(run)
    return "\n".join(lines)
