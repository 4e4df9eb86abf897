"""`harness demo`: README command one. Verify the bundled sample's claims and write reports."""

from __future__ import annotations

from pathlib import Path

import click
from rich.console import Console

from ..outcomes import ExitCode
from ..report.console import ConsoleReporter
from .options import claim_option, fresh_option, no_fork_option, out_option, publish, workers_option


@click.command("demo")
@out_option(Path("reports/demo"), True, "Directory for the reports.")
@click.option(
    "--corrected",
    is_flag=True,
    help="Use the history where the incomplete, untested and unproven fixes are corrected.",
)
@claim_option()
@workers_option
@click.option(
    "--keep",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Materialise the sample repo here (must be new or empty) and keep it.",
)
@fresh_option
@no_fork_option
def demo_command(
    out: Path,
    corrected: bool,
    only: tuple[str, ...],
    workers: int,
    keep: Path | None,
    fresh: bool,
    no_fork: bool,
) -> int:
    """Materialise the sample service's buggy base plus fix commits, and verify every claim.

    Prints the verdict table, writes summary.md, results.json, mutation.json, junit.xml,
    results.sarif and index.html to --out, and exits 1 if any verdict differs from what the sample was built
    to show (most VERIFIED; one UNGUARDED, STILL_FAILING, NOT_REPRODUCED and NO_MUTANTS).
    """
    from ..demo import run_demo

    console = Console(highlight=False)
    with ConsoleReporter() as reporter:
        result = run_demo(
            workdir=keep,
            corrected=corrected,
            workers=workers,
            only=list(only) or None,
            reporter=reporter,
            reuse=not fresh,
            fork=not no_fork,
        )
    # The sample's verdicts are checked below, never a workflow's annotations.
    publish(result.run, out, console, annotate=False)
    stages = " · ".join(f"{k} {v:.1f}s" for k, v in result.run.stages.items())
    console.print(
        f"demo finished in {result.run.duration + result.materialise_seconds:.1f}s ({stages})"
    )
    for claim_id, expected, got in result.mismatches:
        console.print(
            f"[red]unexpected verdict[/] {claim_id}: expected {expected.value}, got {got.value}"
        )
    if result.mismatches:
        return int(ExitCode.POLICY_FAILURE)
    console.print("[green]every claim got the verdict the sample history was built to produce[/]")
    return int(ExitCode.OK)
