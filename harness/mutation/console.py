"""The terminal reporter: a progress bar with ETA while mutants run, then a final table."""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from ..outcomes import MutantStatus
from .mutant import Mutant
from .options import MutantResult, MutationResult
from .scope import Scope

_STYLE = {
    MutantStatus.KILLED: "green",
    MutantStatus.TIMEOUT: "green",
    MutantStatus.SURVIVED: "bold red",
    MutantStatus.NO_COVERAGE: "yellow",
    MutantStatus.INVALID: "magenta",
}


class ConsoleReporter:
    """Prints to `console` (stderr by default). Safe to call from worker threads."""

    def __init__(self, console: Console | None = None, *, rerun_hint: str = "harness mutate"):
        self.console = console or Console(stderr=True, highlight=False)
        self._progress: Progress | None = None
        self._task: TaskID | None = None
        self._lock = threading.Lock()
        self._rerun_hint = rerun_hint
        self._total = 0

    def scope_ready(
        self, scope: Scope, mutants: Sequence[Mutant], skipped: Mapping[str, int]
    ) -> None:
        self.console.print(f"[bold]scope[/] {scope.rev[:12]}: {scope.describe()}")
        for path, reason in scope.ignored:
            self.console.print(f"  [dim]not mutated: {path} ({reason})[/]")
        self._total = len(mutants)
        self.console.print(f"[bold]{len(mutants)} mutants[/] on the fix lines")
        for reason, count in sorted(skipped.items()):
            self.console.print(f"  [dim]skipped {count}: {reason}[/]")

    def baseline_started(self, tests: Sequence[str] | None) -> None:
        what = f"{len(tests)} named tests" if tests else "the whole test suite"
        self.console.print(f"baseline: running {what} on the unmutated copy…")

    def baseline_finished(self, duration: float, reaching: Sequence[str], engine: str) -> None:
        self.console.print(
            f"baseline passed in {duration:.1f}s; {len(reaching)} tests reach the fix lines "
            f"(line map: {engine})"
        )
        with self._lock:
            self._ensure_progress(self._total)

    def mutant_started(self, mutant: Mutant) -> None:
        with self._lock:
            if self._progress is not None and self._task is not None:
                self._progress.update(self._task, description=f"{mutant.file}:{mutant.line}")

    def _ensure_progress(self, total: int) -> None:
        if self._progress is None:
            self._progress = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                TextColumn("ETA"),
                TimeRemainingColumn(),
                console=self.console,
                transient=True,
            )
            self._task = self._progress.add_task("mutants", total=total)
            self._progress.start()

    def mutant_finished(self, result: MutantResult) -> None:
        with self._lock:
            if self._progress is not None and self._task is not None:
                self._progress.advance(self._task)
            if result.status is MutantStatus.SURVIVED:
                self.console.print(
                    f"[bold red]SURVIVED[/] {result.id} {result.file}:{result.line} "
                    f"{result.family}/{result.operator} ({result.k_of_n})"
                )

    def run_finished(self, result: MutationResult) -> None:
        with self._lock:
            if self._progress is not None:
                self._progress.stop()
                self._progress = None
        if result.no_mutants:
            self.console.print(
                "[bold yellow]NO_MUTANTS[/]: nothing to mutate on the fix lines; this is not a pass"
            )
            return
        table = Table(title="mutants on the fix lines", show_lines=False)
        for column in ("id", "where", "family", "operator", "status", "k/n", "killed by", "time"):
            table.add_column(column, overflow="fold", no_wrap=column in ("id", "status", "k/n"))
        for m in result.mutants:
            style = _STYLE.get(m.status, "")
            table.add_row(
                m.id,
                f"{m.file}:{m.line}",
                m.family,
                m.operator,
                f"[{style}]{m.status.value}[/]" if style else m.status.value,
                m.k_of_n,
                m.killing_test or "",
                f"{m.duration:.1f}s" + (" (cached)" if m.cached else ""),
            )
        self.console.print(table)
        for m in result.survivors:
            self.console.print(
                f"[bold red]survivor {m.id}[/] {m.file}:{m.line} {m.family}/{m.operator}"
            )
            self.console.print(f"  rerun: {self._rerun_hint} --mutant {m.id}", markup=False)
            self.console.print(m.diff, markup=False, highlight=False)
        counts = ", ".join(f"{result.count(s)} {s.value}" for s in MutantStatus if result.count(s))
        self.console.print(f"[bold]{len(result.mutants)} mutants[/]: {counts}")
