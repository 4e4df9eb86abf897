"""The verdict rule: one pure function from a claim's evidence to its Verdict and a reason."""

from __future__ import annotations

from collections.abc import Sequence

from ..outcomes import MutantStatus, RunOutcome, Verdict
from .results import FAILING_OUTCOMES, MutantRecord, RunRecord

#: Head outcomes that mean "the harness could not judge", not "the fix is wrong".
BROKEN_OUTCOMES = frozenset(
    {RunOutcome.NOT_COLLECTED, RunOutcome.INTERNAL_ERROR, RunOutcome.NO_TESTS, RunOutcome.CRASHED}
)


def judge_runs(
    base_runs: Sequence[RunRecord],
    head_runs: Sequence[RunRecord],
    *,
    repeats: int,
    min_failures: int,
) -> tuple[Verdict | None, str]:
    """The verdict the runs alone decide, or (None, summary) when mutation must decide.

    Order: a broken head, head failures, then the base.
    """
    no_target = [r for r in (*base_runs, *head_runs) if r.outcome is RunOutcome.TARGET_ERROR]
    if no_target:
        run = no_target[0]
        return (
            Verdict.ERROR,
            f"the target did not start for the {run.side} run: {_last_line(run.log_tail)}",
        )
    broken = [r for r in head_runs if r.outcome in BROKEN_OUTCOMES]
    if broken:
        return (
            Verdict.ERROR,
            f"head run ended as {broken[0].outcome.value}: the tests cannot run on the head"
            + _because(broken[0]),
        )
    passes = sum(1 for r in head_runs if r.outcome is RunOutcome.PASSED)
    total = len(head_runs)
    if total and passes == 0:
        how = "timed out" if head_runs[0].outcome is RunOutcome.TIMED_OUT else "failed"
        return Verdict.STILL_FAILING, f"the tests {how} on the head in {total} of {total} runs"
    if passes < total:
        return Verdict.FLAKY, f"the tests passed on the head in only {passes} of {total} runs"
    if not total:
        return Verdict.ERROR, "the tests were never run on the head"

    failures = sum(1 for r in base_runs if r.outcome in FAILING_OUTCOMES)
    if failures < min_failures:
        odd = [r for r in base_runs if r.outcome not in FAILING_OUTCOMES | {RunOutcome.PASSED}]
        if odd:
            return Verdict.NOT_REPRODUCED, (
                f"on the base the tests ended as {odd[0].outcome.value}{_because(odd[0])}, "
                "which is not a reproduction (for example they import a name the fix adds); "
                f"failures: {failures} of {len(base_runs)} runs, needed {min_failures} of {repeats}"
            )
        return Verdict.NOT_REPRODUCED, (
            f"the tests pass on the base too: {failures} failures in {len(base_runs)} runs, "
            f"needed {min_failures} of {repeats}"
        )
    timeouts = sum(1 for r in base_runs if r.outcome is RunOutcome.TIMED_OUT)
    reproduced = f"fails on the base {failures}/{len(base_runs)}" + (
        f" ({timeouts} by timeout)" if timeouts else ""
    )
    return None, f"{reproduced}, passes on the head {passes}/{total}"


def decide(
    base_runs: Sequence[RunRecord],
    head_runs: Sequence[RunRecord],
    mutants: Sequence[MutantRecord] | None,
    *,
    repeats: int,
    min_failures: int,
    strict: bool = False,
) -> tuple[Verdict, str]:
    """Apply the verdict rule (the README, "Reverting mutants and weak spots").

    `mutants` is None when mutation was not run.

    A reverting mutant that no test detects makes the claim UNGUARDED; any other undetected
    mutant is a weak spot, listed in the reason, and decides only under `strict`.
    """
    verdict, summary = judge_runs(base_runs, head_runs, repeats=repeats, min_failures=min_failures)
    if verdict is not None:
        return verdict, summary
    if mutants is None:
        return Verdict.ERROR, f"{summary}, but mutation testing did not run"
    relevant = [m for m in mutants if m.status not in (MutantStatus.SKIPPED, MutantStatus.INVALID)]
    if not relevant:
        return Verdict.NO_MUTANTS, (
            f"{summary}, but nothing on the fix lines can be mutated: "
            "an empty scope is never a pass"
        )
    pending = [m for m in relevant if m.status is MutantStatus.PENDING]
    if pending:
        return Verdict.ERROR, f"{len(pending)} mutants were not run to completion"
    gaps = [m for m in relevant if m.undetected and (m.reverting or strict)]
    weak = [m for m in relevant if m.undetected and not m.reverting]
    killed = sum(1 for m in relevant if m.status.is_detected)
    if gaps:
        names = ", ".join(f"{m.id} ({m.family}: {m.operator}, {_how(m)})" for m in gaps[:3])
        kind = "fix-line mutant" if strict else "reverting mutant"
        kind, verb = (kind, "goes") if len(gaps) == 1 else (kind + "s", "go")
        return Verdict.UNGUARDED, (
            f"{summary}, but {len(gaps)} {kind} of {len(relevant)} {verb} undetected "
            f"({undetected_counts(gaps)}): {names}"
        )
    reverting = sum(1 for m in relevant if m.reverting)
    text = f"{summary}, {killed}/{len(relevant)} fix-line mutants killed"
    text += f" (every one of the {reverting} reverting mutants)" if reverting else ""
    if weak:
        text += (
            f"; {len(weak)} weak spot{'s' if len(weak) != 1 else ''} listed"
            f" ({undetected_counts(weak)})"
        )
    return Verdict.VERIFIED, text


def undetected_counts(mutants: Sequence[MutantRecord]) -> str:
    """'1 survives, 1 never reached by a test': a mutant no test runs is not one that survived
    a test, so the two are always counted apart."""
    survived = sum(1 for m in mutants if m.status is MutantStatus.SURVIVED)
    unreached = sum(1 for m in mutants if m.status is MutantStatus.NO_COVERAGE)
    parts = [f"{survived} survive{'s' if survived == 1 else ''}"] if survived else []
    parts += [f"{unreached} never reached by a test"] if unreached else []
    return ", ".join(parts)


def _because(run: RunRecord) -> str:
    return f" ({run.error_line})" if run.error_line else ""


def _how(mutant: MutantRecord) -> str:
    return "never reached by a test" if mutant.status is MutantStatus.NO_COVERAGE else "survives"


def _last_line(text: str) -> str:
    lines = [line for line in text.splitlines() if "fixguard: target" in line]
    return lines[-1].split("fixguard: ", 1)[-1] if lines else "see the log tail"
