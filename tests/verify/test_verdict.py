"""The verdict rule, one case per verdict and per run outcome that must not be miscounted."""

from __future__ import annotations

import pytest

from harness.outcomes import MutantStatus, RunOutcome, Verdict
from harness.verify.results import MutantRecord, RunRecord
from harness.verify.verdict import decide


def runs(side: str, *outcomes: RunOutcome) -> list[RunRecord]:
    return [RunRecord(side=side, index=i, outcome=o, duration=0.1) for i, o in enumerate(outcomes)]


def mutant(status: MutantStatus, n: int = 0, *, reverting: bool = True) -> MutantRecord:
    return MutantRecord(
        id=f"m{n}",
        family="sync_removal" if reverting else "generic",
        operator="with" if reverting else "swap_op",
        file="a.py",
        line=3,
        diff="-x\n+y",
        status=status,
        reverting=reverting,
    )


F, P, T, NC, IE = (
    RunOutcome.FAILED,
    RunOutcome.PASSED,
    RunOutcome.TIMED_OUT,
    RunOutcome.NOT_COLLECTED,
    RunOutcome.INTERNAL_ERROR,
)


@pytest.mark.parametrize(
    ("base", "head", "mutants", "n", "k", "expected"),
    [
        ([F], [P], [MutantStatus.KILLED], 1, 1, Verdict.VERIFIED),
        ([F], [P], [MutantStatus.KILLED, MutantStatus.TIMEOUT], 1, 1, Verdict.VERIFIED),
        ([F], [P], [MutantStatus.KILLED, MutantStatus.SURVIVED], 1, 1, Verdict.UNGUARDED),
        ([F], [P], [MutantStatus.NO_COVERAGE], 1, 1, Verdict.UNGUARDED),
        ([P], [P], [MutantStatus.KILLED], 1, 1, Verdict.NOT_REPRODUCED),
        ([P, P, F], [P, P, P], [MutantStatus.KILLED], 3, 2, Verdict.NOT_REPRODUCED),
        ([P, F, F], [P, P, P], [MutantStatus.KILLED], 3, 2, Verdict.VERIFIED),
        ([F], [F], [], 1, 1, Verdict.STILL_FAILING),
        ([F], [T], [], 1, 1, Verdict.STILL_FAILING),
        ([F], [P, F, P], [], 3, 1, Verdict.FLAKY),
        ([F], [P], [], 1, 1, Verdict.NO_MUTANTS),
        ([F], [P], [MutantStatus.SKIPPED, MutantStatus.INVALID], 1, 1, Verdict.NO_MUTANTS),
        ([F], [NC], [], 1, 1, Verdict.ERROR),
        ([F], [IE], [], 1, 1, Verdict.ERROR),
        # A hang on the base is a reproduction.
        ([T], [P], [MutantStatus.KILLED], 1, 1, Verdict.VERIFIED),
        # A test that cannot be collected on the base is not a reproduction.
        ([NC], [P], [MutantStatus.KILLED], 1, 1, Verdict.NOT_REPRODUCED),
        ([IE], [P], [MutantStatus.KILLED], 1, 1, Verdict.NOT_REPRODUCED),
    ],
)
def test_decide(base, head, mutants, n, k, expected) -> None:
    verdict, reason = decide(
        runs("base", *base),
        runs("head", *head),
        [mutant(s, i) for i, s in enumerate(mutants)],
        repeats=n,
        min_failures=k,
    )
    assert verdict is expected, reason
    assert reason


def test_reasons_name_the_evidence() -> None:
    _, reason = decide(runs("base", NC), runs("head", P), [], repeats=1, min_failures=1)
    assert "not_collected" in reason and "not a reproduction" in reason
    _, reason = decide(
        runs("base", F), runs("head", P), [mutant(MutantStatus.SURVIVED)], repeats=1, min_failures=1
    )
    assert "m0 (sync_removal: with, survives)" in reason
    _, reason = decide(
        runs("base", T), runs("head", P), [mutant(MutantStatus.KILLED)], repeats=1, min_failures=1
    )
    assert "by timeout" in reason


def test_mutation_not_run_is_an_error_not_a_pass() -> None:
    verdict, reason = decide(runs("base", F), runs("head", P), None, repeats=1, min_failures=1)
    assert verdict is Verdict.ERROR
    assert "did not run" in reason


@pytest.mark.parametrize("status", [MutantStatus.SURVIVED, MutantStatus.NO_COVERAGE])
def test_a_weak_spot_is_listed_but_decides_only_under_strict(status: MutantStatus) -> None:
    mutants = [mutant(MutantStatus.KILLED, 0), mutant(status, 1, reverting=False)]
    verdict, reason = decide(runs("base", F), runs("head", P), mutants, repeats=1, min_failures=1)
    assert verdict is Verdict.VERIFIED, reason
    assert "1 weak spot listed" in reason
    verdict, reason = decide(
        runs("base", F), runs("head", P), mutants, repeats=1, min_failures=1, strict=True
    )
    assert verdict is Verdict.UNGUARDED, reason
    assert "m1 (generic: swap_op" in reason


def test_a_reverting_survivor_beside_weak_spots_is_unguarded() -> None:
    mutants = [mutant(MutantStatus.SURVIVED, 0, reverting=False), mutant(MutantStatus.SURVIVED, 1)]
    verdict, reason = decide(runs("base", F), runs("head", P), mutants, repeats=1, min_failures=1)
    assert verdict is Verdict.UNGUARDED
    assert "1 reverting mutant of 2 goes undetected (1 survives)" in reason
    assert "m1 (sync_removal" in reason
