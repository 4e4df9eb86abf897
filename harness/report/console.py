"""Owns the terminal: a progress display while claims run and the final verdict table."""

from __future__ import annotations

from collections.abc import Mapping
from types import TracebackType

from rich.console import Console
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
from ..verify.results import ClaimResult, RunResult
from .charts import COLORS
from .summary import evidence_cells


class ConsoleReporter:
    """Renders verify events with rich; silent (but still collecting) when not a terminal."""

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

    def __enter__(self) -> ConsoleReporter:
        self.progress.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.progress.stop()

    def stage(self, name: str, total: int) -> None:
        if self._task is not None:
            self.progress.remove_task(self._task)
        self._task = self.progress.add_task(name, total=total, step="")
        self.console.log(f"[bold]{name}[/]: {total} claims")

    def claim_progress(self, claim_id: str, step: str) -> None:
        if self._task is not None:
            self.progress.update(self._task, step=f"{claim_id}: {step}")

    def claim_finished(self, result: ClaimResult) -> None:
        if self._task is not None:
            self.progress.advance(self._task)
        color = COLORS[result.verdict]
        self.console.log(f"[{color}]{result.verdict.value}[/] {result.claim_id}: {result.reason}")

    def mutant_progress(self, done: int, total: int) -> None:
        if self._task is not None:
            self.progress.update(self._task, step=f"mutants {done}/{total}")


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


def print_run(
    run: RunResult, console: Console, written: Mapping[str, object] | None = None
) -> None:
    console.print(verdict_table(run))
    for claim in run.claims:
        weak = claim.weak_spots
        if claim.verdict is Verdict.VERIFIED:
            if weak:
                console.print(
                    f"[bold]{claim.claim_id}[/] {len(weak)} weak spots (listed in the reports):",
                    highlight=False,
                )
                for mutant in weak[:3]:
                    console.print(
                        f"  weak spot {mutant.id} {mutant.file}:{mutant.line} ({mutant.operator})",
                        markup=False,
                        highlight=False,
                    )
            continue
        console.print(f"[bold]{claim.claim_id}[/] {claim.verdict.value}: {claim.reason}")
        for mutant in (claim.gaps or claim.survivors)[:3]:
            console.print(
                f"  survivor {mutant.id} {mutant.file}:{mutant.line} "
                f"({mutant.family}: {mutant.operator})",
                markup=False,
                highlight=False,
            )
            console.print("  " + mutant.diff.replace("\n", "\n  "), markup=False, highlight=False)
        if claim.verdict is not Verdict.UNGUARDED:
            console.print(f"  reproduce: {claim.repro}", markup=False)
    for failure in run.policy_failures:
        console.print(f"[red]gate:[/] {failure}")
    if written:
        console.print("reports: " + ", ".join(str(p) for p in written.values()), markup=False)
