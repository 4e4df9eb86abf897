"""`harness gate`: the CI regression gate over a branch's diff, with the manifest's policy."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import click
from rich.console import Console

from ..errors import UserError
from ..report.console import ConsoleReporter
from ..verify.job import new_run_id
from ..verify.policy import exit_code
from .options import (
    claim_option,
    manifest_option,
    out_option,
    publish,
    read_review,
    repo_option,
    resolve_manifest,
    review_options,
    run_options,
    verify_options,
)


@click.command("gate")
@click.option(
    "--base", default="origin/main", show_default=True, help="The branch point to compare with."
)
@click.option("--head", default="HEAD", show_default=True, help="The commit to gate.")
@repo_option()
@manifest_option
@claim_option("Gate only these claims (repeatable), touched or not.")
@click.option(
    "--all", "all_claims", is_flag=True, help="Verify every claim, not only those the diff touches."
)
@click.option(
    "--no-diff-mutation",
    is_flag=True,
    help="Skip mutating every changed line against the whole suite.",
)
@run_options
@click.option(
    "--shard",
    metavar="K/N",
    default=None,
    help="Run only the K-th (0-based) of N slices: claims by position, changed-line mutants interleaved. Join with `harness merge`.",
)
@review_options
@out_option()
def gate_command(
    repo: Path,
    base: str,
    head: str,
    manifest: Path | None,
    only: tuple[str, ...],
    all_claims: bool,
    no_diff_mutation: bool,
    shard: str | None,
    review: Path | None,
    description: Path | None,
    out: Path | None,
    **flags: Any,
) -> int:
    """Verify the claims the diff touches, mutate every changed line, and apply the policy.

    Exits 0 when the policy passes and 1 when it fails (a verdict in policy.fail_on without an
    allowed exception, or a kill ratio on changed lines below policy.min_kill_ratio). In GitHub
    Actions the summary is appended to $GITHUB_STEP_SUMMARY.

    With no manifest the gate runs PR mode (see `harness verify --help`): the auto-claims the
    PR's own tests prove, plus the changed-line mutation; a regression, an unproven hunk or a
    finding marked fixed with nothing behind it fails it too.
    """
    from ..verify.gate import GateOptions, gate

    loaded, pr_mode = resolve_manifest(repo, manifest, ())
    if pr_mode and (only or shard):
        flag = "--claim" if only else "--shard"
        raise UserError(
            "needs a manifest; with none, the gate runs PR mode (the auto-claims the PR's own "
            "tests prove) in one job",
            where=flag,
        )
    drafts, described = read_review(review, description)
    if shard:
        from ..mutation.filters import parse_shard

        parse_shard(shard)  # a bad K/N is a user error before any work starts
    run_id = new_run_id() + (f"-shard{shard.replace('/', 'of')}" if shard else "")
    # Scenario claims' generated tests stay with the reports: their repro commands work.
    reports = out or Path("reports") / run_id
    options = verify_options(
        flags,
        repo=repo,
        base=base,
        head=head,
        manifest=loaded,
        only=list(only) or None,
        run_id=run_id,
        generated=reports / "generated",
        pr_mode=pr_mode,
        review=drafts,
        description=described,
    )
    gate_options = GateOptions(
        options, all_claims=all_claims, mutate_diff=not no_diff_mutation, shard=shard
    )
    with ConsoleReporter() as reporter:
        run = gate(gate_options, reporter)
    # A shard leaves the step summary and the annotations to `harness merge`.
    written = publish(run, reports, Console(highlight=False), annotate=not shard)
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary and not shard:
        with open(summary, "a", encoding="utf-8") as fh:
            fh.write(written["md"].read_text(encoding="utf-8"))
    return int(exit_code(run.policy_failures))
