"""`harness verify`: give each claim a verdict with evidence, and write the reports."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from rich.console import Console

from ..errors import UserError
from ..report.console import ConsoleReporter
from ..verify.job import new_run_id
from ..verify.pipeline import verify
from ..verify.policy import evaluate, exit_code
from .options import (
    EXIT_CODES_HELP,
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


@click.command("verify", epilog=EXIT_CODES_HELP)
@click.option("--base", required=True, help="The commit without the fixes (e.g. origin/main).")
@click.option("--head", default="HEAD", show_default=True, help="The commit with the fixes.")
@repo_option()
@manifest_option
@claim_option()
@click.option(
    "--tests",
    "tests",
    multiple=True,
    metavar="NODEID",
    help="Ad hoc claim: these tests prove the fix (repeatable); the fix is the diff's non-test lines.",
)
@run_options
@click.option(
    "--no-mutate",
    is_flag=True,
    help="Skip the mutation step (verdicts then stop at ERROR for reproduced+fixed claims).",
)
@review_options
@out_option()
def verify_command(
    repo: Path,
    base: str,
    head: str,
    manifest: Path | None,
    only: tuple[str, ...],
    tests: tuple[str, ...],
    no_mutate: bool,
    review: Path | None,
    description: Path | None,
    out: Path | None,
    **flags: Any,
) -> int:
    """Reproduce each claim on --base, confirm it on --head, and mutate its fix lines.

    With no manifest (no harness.toml, no --manifest, no --tests) this is PR mode: the tests the
    diff adds or changes are run on both sides and sorted F2P / P2P / P2F / F2F; the hunks the
    F2P tests execute become auto-claims with the normal verdict; a regression (P2F) or a hunk
    no F2P test executes fails the policy.

    \b
    Examples:
      harness verify --base origin/main
      harness verify --base origin/main --review review.md
      harness verify --base main~3 --head main --claim ticket-cap
      harness verify --base B --head H --tests tests/test_fix.py::test_cap --pytest-args "-x"
    """
    loaded, pr_mode = resolve_manifest(repo, manifest, tests)
    if pr_mode and only:
        raise UserError("names a manifest claim; PR mode has no manifest", where="--claim")
    drafts, described = read_review(review, description)
    run_id = new_run_id()
    reports = out or Path("reports") / run_id
    options = verify_options(
        flags,
        repo=repo,
        base=base,
        head=head,
        manifest=loaded,
        only=list(only) or None,
        mutate=not no_mutate,
        run_id=run_id,
        generated=reports / "generated",
        pr_mode=pr_mode,
        review=drafts,
        description=described,
    )
    with ConsoleReporter() as reporter:
        run = verify(options, reporter)
    run.policy = loaded.policy.model_dump(mode="json")
    run.policy_failures = evaluate(run, loaded.policy)
    publish(run, reports, Console(highlight=False))
    return int(exit_code(run.policy_failures))
