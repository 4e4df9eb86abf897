"""`harness report`: re-render any report format from a results.json."""

from __future__ import annotations

from pathlib import Path

import click

from ..report.writer import FORMATS, read_results, write_reports
from .options import out_option


@click.command("report")
@click.argument("results", type=click.Path(path_type=Path))
@click.option(
    "--format",
    "formats",
    multiple=True,
    type=click.Choice(sorted(FORMATS)),
    help="Formats to write (repeatable; default all).",
)
@out_option(None, "next to results.json", "Output directory.")
def report_command(results: Path, formats: tuple[str, ...], out: Path | None) -> int:
    """Re-render reports from RESULTS (a results.json or its run directory)."""
    run = read_results(results)
    target = out or (results if results.is_dir() else results.parent)
    written = write_reports(run, target, formats or None)
    for path in written.values():
        click.echo(str(path))
    return 0
