"""`harness merge`: combine the results of CI shards and render every report."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click
from rich.console import Console

from ..report.annotations import emit
from ..report.console import print_run
from ..report.merge import merge_runs
from ..report.writer import read_results, write_reports
from ..verify.policy import exit_code


@click.command("merge")
@click.argument("shards", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--out",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path("reports/merged"),
    show_default=True,
    help="Directory for the merged reports.",
)
def merge_command(shards: tuple[Path, ...], out: Path) -> int:
    """Merge SHARDS (results.json files or their dirs from `gate --shard k/n`) into one report.

    Re-applies the policy to the union and exits like the gate would: 0 pass, 1 policy failure.
    """
    runs = [read_results(path) for path in shards]
    merged = merge_runs(runs, where=[str(p) for p in shards])
    written = write_reports(merged, out)
    print_run(merged, Console(highlight=False), written)
    emit(merged, os.environ, sys.stdout)  # workflow annotations in GitHub Actions
    return int(exit_code(merged.policy_failures))
