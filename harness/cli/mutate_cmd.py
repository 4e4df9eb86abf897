"""`harness mutate`: mutation-test the lines of a fix (thin: parse, build options, call, exit)."""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import click

from ..errors import UserError
from ..outcomes import ExitCode
from .options import no_fork_option, repo_option


def default_store(repo: Path) -> Path:
    """Outside the user's tree: ~/.cache/fixguard/mutation-<hash of the repo path>.sqlite3."""
    digest = hashlib.sha256(str(repo.resolve()).encode()).hexdigest()[:12]
    return Path.home() / ".cache" / "fixguard" / f"mutation-{digest}.sqlite3"


@click.command(
    "mutate",
    help="Mutate the lines of a fix (BASE..HEAD, or --range) and run the tests that reach them.\n\n"
    "Exit 0 when every mutant is killed; 1 when one survives, is not reached, or there is "
    "nothing to mutate (NO_MUTANTS is never a pass); 2 on bad input.",
)
@repo_option("The project's git repository.")
@click.option(
    "--base", help="The commit before the fix (scope = non-test .py lines of BASE..HEAD)."
)
@click.option("--head", default="HEAD", show_default=True, help="The commit with the fix.")
@click.option(
    "--range",
    "ranges",
    multiple=True,
    metavar="FILE:START-END",
    help="Explicit head line range to mutate instead of the diff (repeatable).",
)
@click.option(
    "--file", "files", multiple=True, help="Restrict the diff to these paths (repeatable)."
)
@click.option(
    "--tests",
    "tests",
    multiple=True,
    metavar="NODEID",
    help="Run only these tests (repeatable); default: the tests that reach each mutant.",
)
@click.option(
    "--json",
    "json_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write every mutant (id, family, operator, file, line, diff, status, k/n) here.",
)
@click.option("--workers", type=int, default=2, show_default=True)
@click.option(
    "--repeats",
    type=int,
    default=3,
    show_default=True,
    help="n: runs of a concurrency mutant (perturbed scheduling).",
)
@click.option(
    "--min-kills",
    type=int,
    default=1,
    show_default=True,
    help="k: failing runs out of n that count a concurrency mutant as killed.",
)
@click.option("--concurrency", is_flag=True, help="Run every mutant k-of-n.")
@click.option("--strict", is_flag=True, help="Also mutate arid code (logging, docstrings, …).")
@click.option(
    "--store",
    type=click.Path(dir_okay=False, path_type=Path),
    help="SQLite results store (resumable). Default: ~/.cache/fixguard/.",
)
@click.option(
    "--python",
    default=sys.executable,
    show_default=False,
    help="The project's interpreter (default: this one).",
)
@click.option(
    "--pytest-arg", "pytest_args", multiple=True, help="Extra pytest argument (repeatable)."
)
@click.option("--setup", help="Shell command run in each isolated copy before the tests.")
@click.option(
    "--timeout-factor",
    type=float,
    default=3.0,
    show_default=True,
    help="A mutant's timeout is this times the baseline duration (at least 10 s).",
)
@click.option("--shard", metavar="K/N", help="Run only the K-th of N slices of the mutants.")
@click.option("--mutant", "mutant_ids", multiple=True, help="Run only this mutant id (repeatable).")
@no_fork_option
@click.option(
    "--no-preload",
    is_flag=True,
    help="Fork each run from pytest alone, never from the project collected once and patched.",
)
def mutate(
    repo: Path,
    base: str | None,
    head: str,
    ranges: tuple[str, ...],
    files: tuple[str, ...],
    tests: tuple[str, ...],
    json_path: Path | None,
    workers: int,
    repeats: int,
    min_kills: int,
    concurrency: bool,
    strict: bool,
    store: Path | None,
    python: str,
    pytest_args: tuple[str, ...],
    setup: str | None,
    timeout_factor: float,
    shard: str | None,
    mutant_ids: tuple[str, ...],
    no_fork: bool,
    no_preload: bool,
) -> int:
    from ..mutation import MutationOptions, run_mutation, scope_from_diff, scope_from_ranges
    from ..mutation.console import ConsoleReporter
    from ..mutation.output import write_json

    if ranges and base:
        raise UserError("--range and --base: give one of them", hint="drop --base to use ranges")
    if ranges:
        scope = scope_from_ranges(repo, head, ranges)
    elif base:
        scope = scope_from_diff(repo, base, head, files=files or None)
    else:
        raise UserError("base=None: no scope", hint="pass --base REF or --range FILE:START-END")
    reporter = ConsoleReporter(rerun_hint=_rerun_hint(repo, base, head, ranges))
    result = run_mutation(
        MutationOptions(
            repo=repo,
            rev=scope.rev,
            scope=scope,
            tests=list(tests) or None,
            python=python,
            pytest_args=list(pytest_args),
            setup=setup,
            workers=workers,
            repeats=repeats,
            min_kills=min_kills,
            concurrency=concurrency,
            strict=strict,
            store=store or default_store(repo),
            timeout_factor=timeout_factor,
            shard=shard,
            mutant_ids=list(mutant_ids) or None,
            fork=not no_fork,
            preload=not no_preload,
        ),
        reporter=reporter,
    )
    if json_path is not None:
        write_json(result, json_path)
    return int(ExitCode.OK if result.all_detected else ExitCode.POLICY_FAILURE)


def _rerun_hint(repo: Path, base: str | None, head: str, ranges: tuple[str, ...]) -> str:
    scope = " ".join(f"--range {r}" for r in ranges) if ranges else f"--base {base} --head {head}"
    return f"harness mutate --repo {repo} {scope}"
