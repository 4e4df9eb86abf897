"""`harness merge`: combine the results of CI shards and render every report."""

from __future__ import annotations

from pathlib import Path

import click
from rich.console import Console

from ..report.merge import merge_runs
from ..report.writer import read_results
from ..verify.policy import exit_code
from .options import out_option, publish


@click.command("merge")
@click.argument("shards", nargs=-1, required=True, type=click.Path(path_type=Path))
@out_option(Path("reports/merged"), True, "Directory for the merged reports.")
def merge_command(shards: tuple[Path, ...], out: Path) -> int:
    """Merge SHARDS (results.json files or their dirs from `gate --shard k/n`) into one report.

    Re-applies the policy to the union and exits like the gate would: 0 pass, 1 policy failure.
    """
    runs = [read_results(path) for path in shards]
    merged = merge_runs(runs, where=[str(p) for p in shards])
    publish(merged, out, Console(highlight=False))
    return int(exit_code(merged.policy_failures))
