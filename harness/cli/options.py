"""Shared click options, the translation of flags into library options, and `publish`: the
reports, verdict table and workflow annotations every verdict-giving command ends with."""

from __future__ import annotations

import os
import shlex
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

import click
from pydantic import ValidationError
from rich.console import Console

from ..claims.draft import DraftClaim
from ..claims.importer import import_findings
from ..claims.load import find_manifest, load_manifest
from ..claims.model import (
    CONCURRENCY_REPEATS,
    DEFAULT_RUN,
    PERTURB_MODES,
    Claim,
    Manifest,
    RunSettings,
)
from ..errors import UserError
from ..outcomes import ExitCode
from ..report.annotations import emit
from ..report.console import print_run
from ..report.writer import write_reports
from ..verify.job import VerifyOptions
from ..verify.results import RunResult

F = TypeVar("F", bound=Callable[..., Any])

#: What each exit code means, for `--help` epilogs; the README's CLI reference says the same.
EXIT_CODE_MEANINGS = {
    ExitCode.OK: "every claim passed the policy",
    ExitCode.POLICY_FAILURE: "a verdict or the gate policy failed",
    ExitCode.USER_ERROR: "user error: bad manifest, bad ref, unknown scenario (one line, no "
    "traceback)",
    ExitCode.INTERNAL: "internal error in the harness (please report it)",
    ExitCode.INTERRUPTED: "interrupted (Ctrl-C): worktrees and temp dirs are removed, "
    "no reports are written",
}
# \b keeps click from re-wrapping the list into one paragraph.
EXIT_CODES_HELP = "\b\nExit codes:\n" + "\n".join(
    f"  {int(code):<3} {meaning}" for code, meaning in EXIT_CODE_MEANINGS.items()
)


def manifest_option(func: F) -> F:
    return click.option(
        "--manifest",
        type=click.Path(path_type=Path, dir_okay=False),
        default=None,
        show_default="harness.toml or pyproject.toml at the repo root",
        help="Claims manifest (harness.toml or a pyproject.toml with [tool.harness]).",
    )(func)


def review_options(func: F) -> F:
    """--review and --description: a verdict per review finding (PR mode or a manifest)."""
    func = click.option(
        "--description",
        "description",
        type=click.Path(path_type=Path, dir_okay=False, exists=True),
        default=None,
        help="The PR's description (a file); with --review, a finding it marks fixed but no "
        "hunk matches is flagged. The commit messages base..head are read too.",
    )(func)
    return click.option(
        "--review",
        "review",
        type=click.Path(path_type=Path, dir_okay=False, exists=True),
        default=None,
        help="A review (markdown or SARIF): each finding with a file:line gets the verdict of "
        "the claim whose fix covers or neighbours it, or 'no fix found in this PR'.",
    )(func)


def read_review(review: Path | None, description: Path | None) -> tuple[list[DraftClaim], str]:
    """The review's findings and the description's text, read before any run (exit 2 early)."""
    if description is not None and review is None:
        raise UserError("is read only with --review", where="--description")
    drafts = import_findings(review) if review is not None else []  # none found: UserError
    text = description.read_text(encoding="utf-8", errors="replace") if description else ""
    return drafts, text


def out_option(
    default: Path | None = None,
    show_default: str | bool = "reports/<run-id>/ under the current directory",
    help: str = "Directory for the reports (and generated/, the scenario claims' test files).",
) -> Callable[[F], F]:
    return click.option(
        "--out",
        type=click.Path(path_type=Path, file_okay=False),
        default=default,
        show_default=show_default,
        help=help,
    )


def repo_option(help: str = "The git repository under test.") -> Callable[[F], F]:
    return click.option(
        "--repo",
        type=click.Path(path_type=Path, file_okay=False),
        default=Path("."),
        show_default=True,
        help=help,
    )


def claim_option(help: str = "Verify only these claims (repeatable).") -> Callable[[F], F]:
    return click.option("--claim", "only", multiple=True, metavar="ID", help=help)


def workers_option(func: F) -> F:
    return click.option(
        "--workers",
        type=click.IntRange(1, 64),
        default=2,
        show_default=True,
        help="Parallel test runs.",
    )(func)


def fresh_option(func: F) -> F:
    return click.option(
        "--fresh",
        is_flag=True,
        help="Run everything again: reuse no stored run, coverage map or mutant result, even "
        "where nothing it read has changed, and store nothing.",
    )(func)


def no_fork_option(func: F) -> F:
    return click.option(
        "--no-fork",
        is_flag=True,
        help="A new interpreter per test run, never a child forked from a warm pytest server. "
        "Runs are judged the same either way; this only costs time.",
    )(func)


def strict_option(func: F) -> F:
    return click.option(
        "--strict",
        is_flag=True,
        help="Also mutate arid code (logging, sleep values, messages), and let weak spots "
        "(surviving tweaks that do not undo the fix) decide the verdict too.",
    )(func)


def allow_dirty_option(func: F) -> F:
    return click.option(
        "--allow-dirty",
        is_flag=True,
        help="Use --head even when the work tree has uncommitted changes.",
    )(func)


def _absolute_python(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """Tests run in temp worktrees: `.venv/bin/python` means the one in this directory."""
    if value and os.sep in value and not os.path.isabs(value):
        return os.path.abspath(value)
    return value


def run_settings_options(func: F) -> F:
    """--python, --pytest-args, --setup, --env, --repeats, --timeout, --concurrency, --perturb:
    overrides for every claim."""
    decorators = [
        click.option(
            "--python",
            "python",
            default=None,
            callback=_absolute_python,
            help="Interpreter of the project under test (default: this one).",
        ),
        click.option(
            "--pytest-args",
            default=None,
            help='Extra pytest arguments, e.g. "-W error::ResourceWarning".',
        ),
        click.option(
            "--setup",
            default=None,
            help="Shell command run in each worktree before tests (e.g. pip install pins).",
        ),
        click.option(
            "--env",
            "env",
            multiple=True,
            metavar="K=V",
            help="Environment variable for the test runs (repeatable).",
        ),
        click.option(
            "--repeats",
            type=click.IntRange(1, 100),
            default=None,
            show_default=f"{DEFAULT_RUN.repeats}, {CONCURRENCY_REPEATS} for concurrency claims",
            help="n: runs on base and head; overrides the manifest's repeats for every claim.",
        ),
        click.option(
            "--timeout",
            type=click.FloatRange(0.1, 3600),
            default=None,
            show_default=f"{DEFAULT_RUN.timeout:g} s",
            help="Seconds per pytest run; overrides the manifest's timeout for every claim.",
        ),
        click.option(
            "--concurrency",
            is_flag=True,
            default=False,
            help=f"Concurrency claims: {CONCURRENCY_REPEATS} runs a side, k-of-n mutant runs and "
            "seeded schedule perturbation of the fix's files (see --perturb).",
        ),
        click.option(
            "--perturb",
            type=click.Choice(PERTURB_MODES),
            default=None,
            show_default="auto: perturb concurrency claims only",
            help="Schedule perturbation of the fix's files in every run of the claims' tests.",
        ),
    ]
    for decorator in reversed(decorators):
        func = decorator(func)
    return func


def parse_env(pairs: Sequence[str]) -> dict[str, str]:
    env: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise UserError(f"--env={pair!r} must look like KEY=VALUE")
        env[key] = value
    return env


def overrides(
    python: str | None,
    pytest_args: str | None,
    setup: str | None,
    env: Sequence[str],
    repeats: int | None,
    timeout: float | None,
    concurrency: bool = False,
    perturb: str | None = None,
) -> RunSettings | None:
    data: dict[str, Any] = {}
    if concurrency:
        data["concurrency"] = True
    if perturb:
        data["perturb"] = perturb
    if python:
        data["python"] = python
    if pytest_args:
        try:
            data["pytest_args"] = tuple(shlex.split(pytest_args))
        except ValueError as exc:
            raise UserError(f"--pytest-args={pytest_args!r}: {exc}") from None
    if setup:
        data["setup"] = setup
    if env:
        data["env"] = parse_env(env)
    if repeats:
        data["repeats"] = repeats
    if timeout:
        data["timeout"] = timeout
    try:
        return RunSettings(**data) if data else None
    except ValidationError as exc:  # click's FloatRange lets `nan` through, for one
        error = exc.errors()[0]
        flag = "--" + str(error["loc"][0]).replace("_", "-")
        raise UserError(f"{flag}={error['input']!r}: {error['msg']}") from None


def run_options(func: F) -> F:
    """The flags `verify` and `gate` share: the run settings, --workers, --strict, --fresh,
    --no-fork and --allow-dirty. The command takes them as `**flags` for `verify_options`."""
    for option in reversed(
        (
            run_settings_options,
            workers_option,
            strict_option,
            fresh_option,
            no_fork_option,
            allow_dirty_option,
        )
    ):
        func = option(func)
    return func


def verify_options(flags: Mapping[str, Any], **fields: Any) -> VerifyOptions:
    """The verify pipeline's options: the shared flags (`run_options`) and the command's own."""
    return VerifyOptions(
        python=flags["python"],
        overrides=overrides(
            flags["python"],
            flags["pytest_args"],
            flags["setup"],
            flags["env"],
            flags["repeats"],
            flags["timeout"],
            flags["concurrency"],
            flags["perturb"],
        ),
        workers=flags["workers"],
        strict=flags["strict"],
        reuse=not flags["fresh"],
        fork=not flags["no_fork"],
        allow_dirty=flags["allow_dirty"],
        **fields,
    )


def publish(
    run: RunResult, out: Path, console: Console, *, annotate: bool = True
) -> dict[str, Path]:
    """Write every report to `out`, print the verdict table, and, in GitHub Actions, the
    workflow annotations (`annotate=False` for a shard, whose merge annotates)."""
    written = write_reports(run, out)
    print_run(run, console, written)
    if annotate:
        emit(run, os.environ, sys.stdout)
    return written


def resolve_manifest(
    repo: Path, manifest: Path | None, tests: Sequence[str]
) -> tuple[Manifest, bool]:
    """The manifest to use and whether this is PR mode: --manifest, else an ad hoc claim from
    --tests, else the repo's, else none (PR mode: the PR's own tests make the claims)."""
    if manifest is not None:
        loaded = load_manifest(manifest)
        if tests:
            raise UserError("pass either --manifest or --tests, not both")
        return loaded, False
    if tests:
        try:
            claim = Claim(
                id="adhoc",
                title="Ad hoc claim: the named tests show the bug and the fix",
                tests=tuple(tests),
            )
        except ValidationError as exc:
            message = exc.errors()[0]["msg"].removeprefix("Value error, ")
            raise UserError(f"--tests: {message}") from None
        return Manifest(claims=(claim,)), False
    found = find_manifest(repo)
    if found is None:
        return Manifest(), True
    return load_manifest(found), False
