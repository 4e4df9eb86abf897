"""Owns the terminal: a progress display while claims run and the final verdict table."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from ..outcomes import Verdict
from ..verify.prmode import FindingState, PrEvidence, TestClass
from ..verify.results import ClaimResult, RunResult
from .charts import COLORS
from .summary import (
    FLAGGED,
    evidence_cells,
    finding_count,
    finding_verdict_text,
    finding_where,
    judging_claim,
    outcomes_text,
    policy_lines,
    pr_headline,
    status_word,
)

#: Findings printed per claim; the rest are in the reports.
MAX_FINDINGS = 3
#: Failing perturbed runs whose replay command the console shows per claim.
MAX_REPLAYS = 2
#: What a stage counts, where it is not claims (PR mode's discovery counts test files).
STAGE_UNITS = {"discover": "test file"}
#: Review findings, unproven hunks and regressions printed in PR mode; the rest are in the reports.
MAX_PR_LINES = 20
MAX_TITLE = 60


class ConsoleReporter:
    """Renders verify events with rich: a line per stage that runs, and a transient progress bar.

    Verdicts and their reasons are printed once, by `print_run` after the run.
    """

    def __init__(self, console: Console | None = None) -> None:
        self.console = console or Console(stderr=True, highlight=False)
        self.progress = Progress(
            SpinnerColumn(),
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total}"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            TextColumn("{task.fields[step]}"),
            console=self.console,
            transient=True,
        )
        self._task: TaskID | None = None
        #: A stage is announced at its first progress event, so one that never runs
        #: (--no-mutate, or no claim left to mutate) is never shown.
        self._pending: tuple[str, int] | None = None

    def __enter__(self) -> ConsoleReporter:
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()

    def stage(self, name: str, total: int) -> None:
        if self._task is not None:
            self.progress.remove_task(self._task)
            self._task = None
        self._pending = (name, total) if total else None

    def _running_task(self) -> TaskID | None:
        """The current stage's task, announcing the stage on its first event."""
        if self._pending is not None:
            name, total = self._pending
            self._pending = None
            self._task = self.progress.add_task(name, total=total, step="")
            # print with a time, not Console.log: log adds a source-path column
            # ("console.py:60") and pads every line to the terminal's width.
            unit = STAGE_UNITS.get(name, "claim")
            self.console.print(
                f"[dim]{dt.datetime.now():%H:%M:%S}[/] [bold]{name}[/]: "
                f"{total} {unit}{'s' if total != 1 else ''}"
            )
        return self._task

    def claim_progress(self, claim_id: str, step: str) -> None:
        task = self._running_task()
        if task is not None:
            self.progress.update(task, step=f"{claim_id}: {step}")

    def claim_finished(self, result: ClaimResult) -> None:
        # No line here: the verdict table and its reasons follow as soon as the run ends.
        if self._task is not None:
            self.progress.advance(self._task)


def verdict_table(run: RunResult) -> Table:
    table = Table(title=f"Fixguard verdicts ({run.duration:.1f}s)", show_lines=False)
    for column in ("claim", "severity", "reproduced", "fixed", "guarded", "verdict"):
        table.add_column(column)
    for claim in run.claims:
        base, head, guard = evidence_cells(claim)
        verdict = f"[bold {COLORS[claim.verdict]}]{claim.verdict.value}[/]"
        if claim.excused:
            verdict += " (allowed)"
        table.add_row(claim.claim_id, claim.severity, base, head, guard, verdict)
    return table


def print_findings(claim: ClaimResult, console: Console) -> None:
    """ "N finding(s)" under the verdict, then the first few, each with its repro command."""
    findings = claim.findings
    if not findings:
        return
    more = len(findings) - MAX_FINDINGS
    tail = f" (first {MAX_FINDINGS} below; all in the reports)" if more > 0 else ""
    console.print(f"  [yellow]{finding_count(claim)}[/]{tail}:", highlight=False)
    for finding in findings[:MAX_FINDINGS]:
        console.print(f"    {finding.side}: {finding.headline}", markup=False, highlight=False)
        if finding.repro:
            console.print(
                f"      repro: {finding.repro}", markup=False, highlight=False, soft_wrap=True
            )


def print_perturbation(claim: ClaimResult, console: Console) -> None:
    """The perturbation the claim's runs ran under, and the first failing runs' replays."""
    if not claim.perturbation:
        return
    console.print(f"  perturbed: {claim.perturbation}", markup=False, highlight=False)
    for where, command in claim.replays[:MAX_REPLAYS]:
        console.print(
            f"    {where} replay: {command}", markup=False, highlight=False, soft_wrap=True
        )


def print_run(
    run: RunResult, console: Console, written: Mapping[str, object] | None = None
) -> None:
    """The verdict table, then each claim's reason once, its survivors and how to rerun it."""
    console.print(verdict_table(run))
    for claim in run.claims:
        color = COLORS[claim.verdict]
        console.print(
            f"[bold]{escape(claim.claim_id)}[/] [{color}]{claim.verdict.value}[/]: "
            f"{escape(claim.reason)}",
            highlight=False,
        )
        print_findings(claim, console)
        print_perturbation(claim, console)
        if claim.verdict is Verdict.VERIFIED:
            for mutant in claim.weak_spots[:3]:
                console.print(
                    f"  weak spot {mutant.id} {mutant.file}:{mutant.line} ({mutant.operator}, "
                    f"{status_word(mutant)})",
                    markup=False,
                    highlight=False,
                )
            continue
        for mutant in (claim.gaps or claim.survivors)[:3]:
            console.print(
                f"  {status_word(mutant)}: {mutant.id} {mutant.file}:{mutant.line} "
                f"({mutant.family}: {mutant.operator})",
                markup=False,
                highlight=False,
            )
            console.print("  " + mutant.diff.replace("\n", "\n  "), markup=False, highlight=False)
        if claim.verdict is not Verdict.UNGUARDED:
            console.print(f"  reproduce: {claim.repro}", markup=False, soft_wrap=True)
    if run.pr is not None:
        print_pr(run, run.pr, console)
    for failure in policy_lines(run):
        console.print(f"[red]gate:[/] {escape(failure)}")
    if run.reuse_line():
        console.print(f"{run.reuse_line()} (--fresh runs them again)", markup=False)
    if written:
        console.print("reports: " + ", ".join(str(p) for p in written.values()), markup=False)


def _more(count: int, console: Console) -> None:
    if count > MAX_PR_LINES:
        console.print(f"  …and {count - MAX_PR_LINES} more in the reports", highlight=False)


def print_pr(run: RunResult, pr: PrEvidence, console: Console) -> None:
    """PR mode, compactly: a headline, one line per review finding, the unproven hunks and the
    regressions."""
    console.print(f"[bold]pull request:[/] {escape(pr_headline(run, pr))}", highlight=False)
    if run.findings:
        states = ", ".join(
            f"{n} {state.name.lower().replace('_', ' ')}"
            for state in FindingState
            if (n := sum(1 for f in run.findings if f.state is state))
        )
        console.print(f"[bold]review findings[/] ({len(run.findings)}): {states}", highlight=False)
    for n, finding in enumerate(run.findings[:MAX_PR_LINES], 1):
        claim = judging_claim(run, finding)
        if claim is not None:
            verdict = (
                f"[{COLORS[claim.verdict]}]{claim.verdict.value}[/] ({escape(claim.claim_id)})"
            )
        else:
            verdict = escape(finding_verdict_text(run, finding))
        if finding.flagged:
            verdict = f"[bold red]{FLAGGED}:[/] {verdict}"
        title = (
            finding.title
            if len(finding.title) <= MAX_TITLE
            else finding.title[: MAX_TITLE - 1] + "…"
        )
        console.print(
            f"  {n:>2} {escape(finding.severity):<8} {escape(finding_where(finding) or '–')}  "
            f"{verdict}  {escape(title)}",
            highlight=False,
        )
    _more(len(run.findings), console)
    for hunk in pr.unproven[:MAX_PR_LINES]:
        why = f": {escape(hunk.why)}" if hunk.why else ""
        console.print(f"  [yellow]unproven hunk[/] {escape(str(hunk))}{why}", highlight=False)
    _more(len(pr.unproven), console)
    if pr.unjudged:
        shown = ", ".join(pr.unjudged[:MAX_PR_LINES])
        more = f" (+{len(pr.unjudged) - MAX_PR_LINES})" if len(pr.unjudged) > MAX_PR_LINES else ""
        console.print(f"  changed outside Python: {escape(shown)}{more}", highlight=False)
    regressions = pr.of(TestClass.P2F)
    for test in regressions[:MAX_PR_LINES]:
        console.print(
            f"  [red]regression (P2F)[/] {escape(test.nodeid)}: base {outcomes_text(test.base)}, "
            f"head {outcomes_text(test.head)}",
            highlight=False,
        )
    _more(len(regressions), console)
