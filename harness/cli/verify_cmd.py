"""`harness verify`: give each claim a verdict with evidence, and write the reports."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click
from rich.console import Console

from ..errors import UserError
from ..report.annotations import emit
from ..report.console import ConsoleReporter, print_run
from ..report.writer import write_reports
from ..verify.job import VerifyOptions, new_run_id
from ..verify.pipeline import verify
from ..verify.policy import evaluate, exit_code
from .options import (
    EXIT_CODES_HELP,
    allow_dirty_option,
    fresh_option,
    manifest_option,
    no_fork_option,
    out_option,
    overrides,
    read_review,
    repo_option,
    resolve_manifest,
    review_options,
    run_settings_options,
    strict_option,
    workers_option,
)


@click.command("verify", epilog=EXIT_CODES_HELP)
@click.option("--base", required=True, help="The commit without the fixes (e.g. origin/main).")
@click.option("--head", default="HEAD", show_default=True, help="The commit with the fixes.")
@repo_option
@manifest_option
@click.option(
    "--claim", "only", multiple=True, metavar="ID", help="Verify only these claims (repeatable)."
)
@click.option(
    "--tests",
    "tests",
    multiple=True,
    metavar="NODEID",
    help="Ad hoc claim: these tests prove the fix (repeatable); the fix is the diff's non-test lines.",
)
@run_settings_options
@workers_option
@strict_option
@fresh_option
@no_fork_option
@allow_dirty_option
@click.option(
    "--no-mutate",
    is_flag=True,
    help="Skip the mutation step (verdicts then stop at ERROR for reproduced+fixed claims).",
)
@review_options
@out_option
def verify_command(
    repo: Path,
    base: str,
    head: str,
    manifest: Path | None,
    only: tuple[str, ...],
    tests: tuple[str, ...],
    python: str | None,
    pytest_args: str | None,
    setup: str | None,
    env: tuple[str, ...],
    repeats: int | None,
    timeout: float | None,
    concurrency: bool,
    perturb: str | None,
    workers: int,
    no_mutate: bool,
    strict: bool,
    fresh: bool,
    no_fork: bool,
    allow_dirty: bool,
    review: Path | None,
    description: Path | None,
    out: Path | None,
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
    options = VerifyOptions(
        repo=repo,
        base=base,
        head=head,
        manifest=loaded,
        only=list(only) or None,
        python=python,
        overrides=overrides(
            python, pytest_args, setup, env, repeats, timeout, concurrency, perturb
        ),
        workers=workers,
        mutate=not no_mutate,
        strict=strict,
        reuse=not fresh,
        fork=not no_fork,
        allow_dirty=allow_dirty,
        run_id=run_id,
        generated=reports / "generated",
        pr_mode=pr_mode,
        review=drafts,
        description=described,
    )
    console = Console(highlight=False)
    with ConsoleReporter() as reporter:
        run = verify(options, reporter)
    run.policy = loaded.policy.model_dump(mode="json")
    run.policy_failures = evaluate(run, loaded.policy)
    written = write_reports(run, reports)
    print_run(run, console, written)
    emit(run, os.environ, sys.stdout)  # workflow annotations in GitHub Actions
    return int(exit_code(run.policy_failures))
