"""`harness claims`: draft claims from review reports, and check a manifest."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ..claims.importer import import_findings, to_toml
from ..claims.load import find_manifest, load_manifest
from ..errors import UserError
from ..outcomes import ExitCode
from ..verify.preflight import Places, check_claim


@click.group("claims")
def claims_group() -> None:
    """Draft, list and validate claims."""


@claims_group.command("import")
@click.argument("report", type=click.Path(path_type=Path, dir_okay=False))
@click.option(
    "--out",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Write the drafts to this new file instead of stdout (never overwrites).",
)
def import_command(report: Path, out: Path | None) -> int:
    """Draft claims from REPORT: a review in markdown, or a SARIF file.

    \b
    Markdown, read as the rendered document (code blocks are not headings):
      tables with 'Issue' (or 'Title') and 'File' columns: | # | Issue | File | Line | Status |
      '**File:** path:line' or '**Location**: path:line' fields under a heading;
      numbered headings with a backticked path; 'path:line' bullets in a severity section.
    Severity comes from a 'Severity:' field or column, else the nearest heading (Critical,
    Major, High, P0, a red/orange/yellow mark...). Double-encoded UTF-8 is repaired.
    SARIF: one draft per result, at its file:line, severity from its level.
    Each draft carries a guessed `bug_class` and `draft = true` until you confirm it.
    """
    drafts = import_findings(report)
    text = to_toml(drafts)
    if out is None:
        click.echo(text, nl=False)
    else:
        if out.exists():
            raise UserError(
                f"--out={str(out)!r} already exists; Fixguard never overwrites your files",
                hint="choose a new path and merge by hand",
            )
        out.write_text(text, encoding="utf-8")
        click.echo(f"wrote {len(drafts)} draft claims to {out}", err=True)
    return 0


@claims_group.command("list")
@click.option(
    "--manifest",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Manifest to read (default: ./harness.toml or pyproject's [tool.harness]).",
)
@click.option(
    "--allow-missing",
    is_flag=True,
    help="Exit 0 when there is no manifest here (the pre-commit hook: a pyproject.toml "
    "without [tool.harness] is not an error).",
)
def list_command(manifest: Path | None, allow_missing: bool) -> int:
    """Validate the manifest and list its claims, each ready, draft or error.

    \b
    Checks what `harness verify` checks before its first run: scenario names, bindings,
    targets and the interpreter. Each error is printed below the table as one line with
    file:line and field, and the command exits 2. Test node ids are not checked here: that
    needs a head revision, so `harness verify` collects them on its --head.
    """
    path = manifest or find_manifest(Path("."))
    if path is None:
        if allow_missing:
            click.echo("no harness.toml or [tool.harness] here: nothing to check", err=True)
            return 0
        raise UserError("no harness.toml or [tool.harness] here", hint="pass --manifest PATH")
    loaded = load_manifest(path)
    places = Places.of(loaded)
    errors: list[str] = []
    table = Table(title=f"{len(loaded.claims)} claims in {path}")
    for column in ("id", "severity", "check", "fix", "target", "status"):
        table.add_column(column)
    for claim in loaded.claims:
        check = claim.scenario or " ".join(claim.tests) or "–"
        status = "draft" if claim.draft else "ready"
        if not claim.draft:
            try:
                check_claim(claim, places, default_python=sys.executable)
            except UserError as exc:
                status = "error"
                errors.append(exc.one_line())
        table.add_row(
            claim.id,
            claim.severity.value,
            check,
            ", ".join(map(str, claim.fix)) or "diff",
            claim.target or "–",
            status,
        )
    Console().print(table)
    stderr = Console(stderr=True, highlight=False)
    for line in errors:
        # Escaped: messages quote manifest syntax such as [targets.NAME], which is not markup.
        stderr.print(f"[bold red]error:[/] {escape(line)}", soft_wrap=True)
    return int(ExitCode.USER_ERROR) if errors else 0
