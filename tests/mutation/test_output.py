"""The --json file and the console reporter, from a hand-built result (no test runs)."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

from rich.console import Console

from harness.mutation import MutantResult, MutationResult
from harness.mutation.console import ConsoleReporter
from harness.mutation.output import write_json
from harness.mutation.scope import FileScope, Scope
from harness.outcomes import MutantStatus

DIFF = "--- a/p.py\n+++ b/p.py\n@@ -3,2 +3,1 @@\n-        with self._lock:\n"


def result(mutants, *, no_mutants=False) -> MutationResult:
    scope = Scope(
        repo=Path("."), rev="a" * 40, base="b" * 40, files=(FileScope("p.py", frozenset({3, 4})),)
    )
    return MutationResult(
        mutants=mutants,
        skipped={"arid: docstring": 2},
        baseline_duration=1.25,
        scope=scope,
        no_mutants=no_mutants,
        coverage_engine="coverage",
    )


def mutant(
    mutant_id: str, family: str, operator: str, line: int, status: MutantStatus, **counts: Any
) -> MutantResult:
    """A mutant of p.py, its diff DIFF."""
    return MutantResult(mutant_id, family, operator, "p.py", line, DIFF, status, **counts)


KILLED = mutant(
    "m0000000001",
    "sync removal",
    "with-lock-removal",
    3,
    MutantStatus.KILLED,
    killing_test="t.py::test_race",
    runs=3,
    kills=2,
    duration=4.5,
)
SURVIVOR = mutant("m0000000002", "generic", "number", 4, MutantStatus.SURVIVED, runs=1, kills=0)


def test_json_lists_every_mutant_with_its_k_of_n(tmp_path):
    path = tmp_path / "out" / "mutants.json"
    write_json(result([KILLED, SURVIVOR]), path)
    data = json.loads(path.read_text())
    assert data["version"] == 1 and data["no_mutants"] is False
    assert data["scope"] == {"p.py": [3, 4]}
    assert data["skipped"] == {"arid: docstring": 2}
    first = data["mutants"][0]
    assert {
        k: first[k]
        for k in (
            "id",
            "family",
            "operator",
            "file",
            "line",
            "status",
            "killing_test",
            "k_of_n",
            "duration",
        )
    } == {
        "id": "m0000000001",
        "family": "sync removal",
        "operator": "with-lock-removal",
        "file": "p.py",
        "line": 3,
        "status": "killed",
        "killing_test": "t.py::test_race",
        "k_of_n": "2/3",
        "duration": 4.5,
    }
    assert first["diff"] == DIFF
    assert [m["status"] for m in data["mutants"]] == ["killed", "survived"]


def test_console_shows_the_table_survivor_diff_and_rerun_command():
    out = io.StringIO()
    reporter = ConsoleReporter(
        Console(file=out, width=160, color_system=None),
        rerun_hint="harness mutate --base B --head H",
    )
    reporter.run_finished(result([KILLED, SURVIVOR]))
    text = out.getvalue()
    assert "m0000000001" in text and "2/3" in text and "t.py::test_race" in text
    assert "survivor m0000000002" in text
    assert "harness mutate --base B --head H --mutant m0000000002" in text
    assert "-        with self._lock:" in text
    assert "1 killed, 1 survived" in text


def test_console_says_no_mutants_is_not_a_pass():
    out = io.StringIO()
    ConsoleReporter(Console(file=out, width=120, color_system=None)).run_finished(
        result([], no_mutants=True)
    )
    assert "NO_MUTANTS" in out.getvalue() and "not a pass" in out.getvalue()
    assert not result([], no_mutants=True).all_detected
