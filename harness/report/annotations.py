"""GitHub Actions workflow annotations: `::error file=…,line=…::…` lines for the run's log.

GitHub turns each line into an annotation on the pull request's diff, with or without code
scanning (which results.sarif needs). They follow the run's policy, so they agree with the exit
code: an `error` per claim whose verdict the policy fails on (and per surviving mutant that
decided it: a reverting one, or a weak spot under --strict), an `error` per weak spot when
`policy.weak_spots = "fail"`, a `warning` per other unverified claim (allowed or excused), and a
`warning` per changed-line mutant that survives (as in results.sarif).

The command's `gate` and `verify` print them when `GITHUB_ACTIONS=true`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TextIO

from ..claims.model import Policy
from ..outcomes import MutantStatus, Verdict
from ..verify.results import ClaimResult, MutantRecord, RunResult
from .stryker import span


def _data(text: str) -> str:
    """A message: GitHub reads %, CR and LF as escapes."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _property(text: str) -> str:
    """A property value: also `:` and `,`, which end a value."""
    return _data(text).replace(":", "%3A").replace(",", "%2C")


def command(
    level: str, message: str, *, title: str, file: str = "", line: int = 0, **place: int
) -> str:
    """One workflow command line (`level` is error, warning or notice)."""
    fields = [f"title={_property(title)}"]
    if file:
        fields.insert(0, f"file={_property(file)}")
        fields.insert(1, f"line={max(1, line)}")
        fields[2:2] = [f"{key}={value}" for key, value in place.items()]
    return f"::{level} {','.join(fields)}::{_data(message)}"


def _claim_place(claim: ClaimResult) -> tuple[str, int]:
    """The first line of the claim's fix; with no fix named, its first test's file."""
    if claim.fix:
        file, _, lines = claim.fix[0].partition(":")
        return file, int(lines.split("-")[0]) if lines else 1
    return (claim.tests[0].split("::")[0] if claim.tests else ""), 1


def _mutant(level: str, mutant: MutantRecord, owner: str, run: RunResult) -> str:
    changed = span(run.sources.get(mutant.file, ""), mutant.diff)
    line, place = mutant.line, {}
    if changed is not None:
        line = changed.start_line
        # GitHub takes columns only on a one-line annotation.
        place = (
            {"col": changed.start_column, "endColumn": changed.end_column}
            if changed.end_line == changed.start_line
            else {"endLine": changed.end_line}
        )
    return command(
        level,
        f"{mutant.id} ({mutant.family}: {mutant.operator}) survives every test [{owner}]\n{mutant.diff}",
        title="fixguard: surviving mutant",
        file=mutant.file,
        line=line,
        **place,
    )


def workflow_commands(run: RunResult) -> Iterator[str]:
    """The annotations, in claim order: as the run's policy judged it (`verify.policy`)."""
    policy = Policy.model_validate(run.policy or {})
    for claim in run.claims:
        file, line = _claim_place(claim)
        title = f"fixguard: {claim.claim_id} {claim.verdict.value}"
        owner = f"claim {claim.claim_id}"
        if claim.verdict in policy.fail_on and not claim.excused:
            yield command(
                "error",
                f"{claim.claim_id}: {claim.verdict.value}: {claim.reason}",
                title=title,
                file=file,
                line=line,
            )
            # The survivors that decided the verdict: the reverting ones, or under --strict
            # the weak spots of a claim that has no reverting survivor.
            deciding = claim.gaps or (
                claim.weak_spots if claim.verdict is Verdict.UNGUARDED else []
            )
            for mutant in deciding:
                yield _mutant("error", mutant, owner, run)
        elif policy.weak_spots == "fail" and claim.weak_spots:
            yield command(
                "error",
                f"{claim.claim_id}: {len(claim.weak_spots)} weak spot(s) and "
                "policy.weak_spots = 'fail'",
                title=f"fixguard: {claim.claim_id} weak spots",
                file=file,
                line=line,
            )
            for mutant in claim.weak_spots:
                yield _mutant("error", mutant, owner, run)
        elif claim.verdict is not Verdict.VERIFIED:
            # Allowed by the policy (not in fail_on, or excused): shown, failing nothing.
            yield command(
                "warning",
                f"{claim.claim_id}: {claim.verdict.value}: {claim.reason}",
                title=title,
                file=file,
                line=line,
            )
    for mutant in run.diff_mutants:
        if mutant.status is MutantStatus.SURVIVED:  # as results.sarif reports them
            yield _mutant("warning", mutant, "changed lines", run)


def emit(run: RunResult, environ: Mapping[str, str], out: TextIO) -> int:
    """Print the annotations when running in GitHub Actions; how many were printed."""
    if environ.get("GITHUB_ACTIONS") != "true":
        return 0
    lines = list(workflow_commands(run))
    for line in lines:
        print(line, file=out)
    return len(lines)
