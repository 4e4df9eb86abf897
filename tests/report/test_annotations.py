"""GitHub workflow annotations: an ::error per failing claim and per reverting survivor."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from harness.report.annotations import command, emit, workflow_commands
from harness.verify.results import RunResult

from ..verify.test_precision_verdicts import AGE_BASE, AGE_FIX, AGE_TEST, make_repo, verify


def test_one_error_per_failing_claim_and_per_reverting_survivor(sample_run: RunResult) -> None:
    lines = list(workflow_commands(sample_run))
    errors = [line for line in lines if line.startswith("::error ")]
    claims = [line for line in errors if "title=fixguard%3A surviving" not in line]
    failing = {
        c.claim_id for c in sample_run.claims if c.verdict.value != "VERIFIED" and not c.excused
    }
    assert len(claims) == len(failing) == 5
    for claim_id in failing:
        assert any(f"title=fixguard%3A {claim_id} " in line for line in claims)
    # The excused claim fails nothing: a warning, so the annotations agree with the exit code.
    (excused,) = [line for line in lines if not line.startswith("::error ")]
    assert excused.startswith("::warning ") and "fixguard%3A schema NO_MUTANTS" in excused
    (gap,) = [line for line in lines if "surviving mutant" in line]
    # The reverting survivor M004, at the span it removes (two lines: no columns).
    assert gap.startswith(
        "::error file=shop/store.py,line=5,endLine=6,title=fixguard%3A surviving mutant::M004"
    )
    assert "%0A" in gap and "\n" not in gap  # the diff rides along, escaped
    # The weak spot fails nothing: no annotation.
    assert not any("M005" in line for line in lines)


def test_the_annotations_follow_the_policy(sample_run: RunResult) -> None:
    """A verdict the policy allows is a warning; weak spots the policy fails on are errors."""
    sample_run.policy = {"fail_on": ["STILL_FAILING", "ERROR"], "weak_spots": "fail"}
    lines = list(workflow_commands(sample_run))
    errors = [line for line in lines if line.startswith("::error ")]
    # STILL_FAILING (export) and ERROR (broken) fail; UNGUARDED, NOT_REPRODUCED and FLAKY do
    # not; the VERIFIED claim's weak spot M005 fails through policy.weak_spots.
    failing = {line.split("title=fixguard%3A ")[1].split(" ")[0] for line in errors}
    assert failing == {"export", "broken", "ticket-cap", "surviving"}
    assert any("M005" in line and line.startswith("::error ") for line in errors)
    assert not any("M004" in line for line in errors)
    warned = [line for line in lines if line.startswith("::warning ")]
    assert {w.split("title=fixguard%3A ")[1].split(" ")[0] for w in warned} == {
        "backup-key",
        "health",
        "flaky",
        "schema",
    }


def test_values_are_escaped_as_github_reads_them() -> None:
    line = command("error", "50% done\r\nnext", title="a: b, c", file="x,y.py", line=0)
    assert line == "::error file=x%2Cy.py,line=1,title=a%3A b%2C c::50%25 done%0D%0Anext"
    assert command("notice", "m", title="t") == "::notice title=t::m"


def test_nothing_is_printed_outside_github_actions(sample_run: RunResult) -> None:
    out = io.StringIO()
    assert emit(sample_run, {}, out) == 0 and out.getvalue() == ""
    assert emit(sample_run, {"GITHUB_ACTIONS": "true"}, out) == 7
    assert out.getvalue().count("::error ") == 6


def test_verify_in_github_actions_annotates_the_survivor_at_its_columns(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = make_repo(tmp_path, AGE_BASE, AGE_FIX)
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    code, _ = verify(repo, tmp_path / "out", "--strict", "--tests", AGE_TEST)
    assert code == 1
    out = capsys.readouterr().out
    errors = [line for line in out.splitlines() if line.startswith("::error ")]
    # With no fix range named, the claim is annotated at its test's file.
    assert errors[0].startswith(
        "::error file=tests/test_age.py,line=1,title=fixguard%3A adhoc UNGUARDED::"
    )
    # Under --strict the weak spots decide, each annotated where it changes the fix: the
    # `>` to `>=` one at its one token.
    mutants = errors[1:]
    assert len(mutants) == 3 and all("surviving mutant" in line for line in mutants)
    assert any(
        line.startswith("::error file=pkg/age.py,line=2,col=14,endColumn=15,") for line in mutants
    )
