"""`harness verify`: give each claim a verdict with evidence, and write the reports."""

from __future__ import annotations

from pathlib import Path

import click
from rich.console import Console

from ..report.console import ConsoleReporter, print_run
from ..report.writer import write_reports
from ..verify.pipeline import VerifyOptions, new_run_id, verify
from ..verify.policy import evaluate, exit_code
from .options import (
    EXIT_CODES_HELP,
    allow_dirty_option,
    manifest_option,
    out_option,
    overrides,
    repo_option,
    resolve_manifest,
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
@allow_dirty_option
@click.option(
    "--no-mutate",
    is_flag=True,
    help="Skip the mutation step (verdicts then stop at ERROR for reproduced+fixed claims).",
)
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
    workers: int,
    no_mutate: bool,
    strict: bool,
    allow_dirty: bool,
    out: Path | None,
) -> int:
    """Reproduce each claim on --base, confirm it on --head, and mutate its fix lines.

    \b
    Examples:
      harness verify --base origin/main
      harness verify --base main~3 --head main --claim ticket-cap
      harness verify --base B --head H --tests tests/test_fix.py::test_cap --pytest-args "-x"
    """
    loaded = resolve_manifest(repo, manifest, tests)
    run_id = new_run_id()
    reports = out or Path("reports") / run_id
    options = VerifyOptions(
        repo=repo,
        base=base,
        head=head,
        manifest=loaded,
        only=list(only) or None,
        python=python,
        overrides=overrides(python, pytest_args, setup, env, repeats, timeout),
        workers=workers,
        mutate=not no_mutate,
        strict=strict,
        allow_dirty=allow_dirty,
        run_id=run_id,
        generated=reports / "generated",
    )
    console = Console(highlight=False)
    with ConsoleReporter() as reporter:
        run = verify(options, reporter)
    run.policy = loaded.policy.model_dump(mode="json")
    run.policy_failures = evaluate(run, loaded.policy)
    written = write_reports(run, reports)
    print_run(run, console, written)
    return int(exit_code(run.policy_failures))
