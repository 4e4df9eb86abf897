"""`harness sample DEST`: materialise the bundled sample service as a git repo."""

from __future__ import annotations

from pathlib import Path

import click

from ..sample import load_claims, materialise


@click.command("sample")
@click.argument("dest", type=click.Path(path_type=Path, file_okay=False))
@click.option(
    "--corrected",
    is_flag=True,
    help="Also apply the fix-ups that complete the incomplete and unproven fixes.",
)
def sample_command(dest: Path, corrected: bool) -> None:
    """Create a git repo at DEST: the buggy shopapp base plus one commit per fix.

    Prints the repo path, the base and head shas, and the claims of its harness.toml.
    """
    repo = materialise(dest, corrected=corrected)
    click.echo(f"repo:     {repo.path}")
    click.echo(f"base:     {repo.base}")
    click.echo(f"head:     {repo.head}")
    click.echo(f"manifest: {repo.manifest}")
    claims = load_claims(repo.manifest)
    click.echo(f"claims ({len(claims)}):")
    for claim in claims:
        sha = repo.fixups.get(claim["id"]) or repo.commits.get(claim["id"], "")
        click.echo(
            f"  {claim['id']:<24} {claim.get('severity', ''):<9} {sha[:12]}  "
            f"{claim.get('title', '')}"
        )
