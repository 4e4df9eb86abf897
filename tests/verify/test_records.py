"""The engine's MutantResult becomes the report's MutantRecord without losing a field."""

from __future__ import annotations

import dataclasses

from harness.mutation.options import MutantResult
from harness.outcomes import MutantStatus
from harness.verify.claim_mutation import merge_suite, to_record
from harness.verify.results import MutantRecord, to_jsonable

#: The result's fields that the record spells otherwise.
RENAMED = {"cached": "reused"}


def test_every_result_field_has_a_record_field() -> None:
    result = {f.name for f in dataclasses.fields(MutantResult)}
    record = {f.name for f in dataclasses.fields(MutantRecord)}
    assert {RENAMED.get(name, name) for name in result} <= record


def test_to_record_carries_every_value() -> None:
    result = MutantResult(
        id="m1",
        family="guard removal",
        operator="drop_if",
        file="pkg/a.py",
        line=7,
        diff="--- a/pkg/a.py\n+++ b/pkg/a.py\n",
        status=MutantStatus.KILLED,
        killing_test="tests/t.py::test_a",
        runs=3,
        kills=2,
        duration=1.25,
        tests=("tests/t.py::test_a", "tests/t.py::test_b"),
        cached=True,
        reverting=False,
        killed_by="suite",
    )
    record = to_record(result, "claim")
    for field in dataclasses.fields(MutantResult):
        assert getattr(record, RENAMED.get(field.name, field.name)) == getattr(
            result, field.name
        ), field.name
    # A result that does not say whose tests killed it takes the caller's word.
    assert to_record(dataclasses.replace(result, killed_by=None), "claim").killed_by == "claim"
    assert to_record(dataclasses.replace(result, status=MutantStatus.SURVIVED)).killed_by is None
    # And the record survives results.json.
    assert to_jsonable(record)["tests"] == ["tests/t.py::test_a", "tests/t.py::test_b"]


def test_a_suite_kill_adds_the_suites_tests_to_the_claims() -> None:
    claim = to_record(
        MutantResult(
            "m2", "f", "o", "a.py", 1, "", MutantStatus.SURVIVED, runs=1, tests=("t.py::a",)
        ),
        "claim",
    )
    suite = MutantResult(
        "m2",
        "f",
        "o",
        "a.py",
        1,
        "",
        MutantStatus.KILLED,
        "u.py::b",
        runs=1,
        kills=1,
        tests=("t.py::a", "u.py::b"),
    )
    merged = merge_suite(claim, suite)
    assert merged.status is MutantStatus.KILLED and merged.killed_by == "suite"
    assert merged.tests == ("t.py::a", "u.py::b")
    assert merged.runs == 2
