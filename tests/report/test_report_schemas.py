"""mutation.json and results.sarif against their published schemas, and mutation.json in
Stryker's own web component in headless Chromium.

The schemas and the component are test data (tests/data/schemas, tests/data/mutation-testing-
elements), copied from their npm packages; their READMEs say which versions.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from harness.outcomes import MutantStatus
from harness.report.stryker import apply_diff, mutation_report, span
from harness.report.writer import write_reports
from harness.verify.results import MutantRecord, RunResult

from ..verify.test_precision_verdicts import AGE_BASE, AGE_FIX, AGE_TEST, make_repo, verify
from .test_html_chromium import chromium_page, needs_chromium

jsonschema = pytest.importorskip("jsonschema")

DATA = Path(__file__).resolve().parents[1] / "data"
MTE_SCHEMA = json.loads((DATA / "schemas" / "mutation-testing-report-schema.json").read_text())
SARIF_SCHEMA = json.loads((DATA / "schemas" / "sarif-2.1.0.json").read_text())
COMPONENT = DATA / "mutation-testing-elements" / "mutation-test-elements.js"


def schema_errors(doc: Any, schema: dict[str, Any]) -> list[str]:
    validator = jsonschema.validators.validator_for(schema)(schema)
    return [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(doc)
    ]


@pytest.fixture(scope="module")
def real_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real `harness verify` of a small fix: its reports folder."""
    root = tmp_path_factory.mktemp("real")
    repo = make_repo(root, AGE_BASE, AGE_FIX)
    out = root / "out"
    code, _ = verify(repo, out, "--tests", AGE_TEST)
    assert code == 0
    return out


def test_the_schema_check_rejects_what_the_schema_forbids() -> None:
    """The validator is live: a mutant with an unknown status or no location is an error."""
    bad = {
        "schemaVersion": "2",
        "thresholds": {"high": 80, "low": 60},
        "files": {
            "a.py": {
                "language": "python",
                "source": "x",
                "mutants": [{"id": "1", "mutatorName": "m", "status": "Dead"}],
            }
        },
    }
    errors = schema_errors(bad, MTE_SCHEMA)
    assert any("'location' is a required property" in e for e in errors)
    assert any("'Dead' is not one of" in e for e in errors)
    assert schema_errors({"version": "2.1.0", "runs": [{"tool": {}}]}, SARIF_SCHEMA)


def test_mutation_json_of_every_verdict_validates(sample_run: RunResult, tmp_path: Path) -> None:
    written = write_reports(sample_run, tmp_path)
    doc = json.loads(written["mutation"].read_text())
    assert schema_errors(doc, MTE_SCHEMA) == []
    # results.json embeds the same document.
    assert json.loads(written["json"].read_text())["mutationReport"] == doc
    assert schema_errors(json.loads(written["sarif"].read_text()), SARIF_SCHEMA) == []


def test_a_mutant_is_located_by_the_span_it_changes(sample_run: RunResult) -> None:
    mutants = mutation_report(sample_run)["files"]["shop/store.py"]["mutants"]
    first = next(m for m in mutants if m["id"] == "M001")
    # The diff removes `with self._lock:` and the indent after it: line 5 col 9 to line 6 col 13.
    assert first["location"] == {
        "start": {"line": 5, "column": 9},
        "end": {"line": 6, "column": 13},
    }
    assert first["replacement"] == ""
    assert first["killedBy"] == ["tests/test_x.py::test_y"]


def _record(**fields: Any) -> MutantRecord:
    base: dict[str, Any] = {
        "id": "M9",
        "family": "boundary",
        "operator": "swap_op",
        "file": "pkg/age.py",
        "line": 2,
        "diff": "--- a/pkg/age.py\n+++ b/pkg/age.py\n@@ -2,1 +2,1 @@\n-    if stamp > now:\n+    if stamp >= now:\n",
        "status": MutantStatus.KILLED,
        "runs": 1,
        "kills": 1,
    }
    return MutantRecord(**{**base, **fields})


def test_killed_by_names_only_tests_and_covered_by_every_test_run(sample_run: RunResult) -> None:
    source = "def age(now, stamp):\n    if stamp > now:\n        raise ValueError\n"
    sample_run.sources = {"pkg/age.py": source}
    crashed = _record(id="M1", killing_test="(not_collected)", tests=("tests/t.py::test_a",))
    timed_out = _record(
        id="M2", status=MutantStatus.TIMEOUT, killing_test="timeout after 9.0s: tests/t.py::test_a"
    )
    killed = _record(
        id="M3",
        killing_test="tests/t.py::test_b",
        tests=("tests/t.py::test_a", "tests/t.py::test_b"),
    )
    sample_run.claims[0].mutants = [crashed, timed_out, killed]
    sample_run.claims[1:] = []
    doc = mutation_report(sample_run)
    assert schema_errors(doc, MTE_SCHEMA) == []
    made = {m["id"]: m for m in doc["files"]["pkg/age.py"]["mutants"]}
    assert "killedBy" not in made["M1"] and "(not_collected)" in made["M1"]["statusReason"]
    assert "killedBy" not in made["M2"] and made["M2"]["status"] == "Timeout"
    assert made["M3"]["killedBy"] == ["tests/t.py::test_b"]
    assert made["M3"]["coveredBy"] == ["tests/t.py::test_a", "tests/t.py::test_b"]
    assert made["M3"]["location"] == {
        "start": {"line": 2, "column": 14},
        "end": {"line": 2, "column": 15},
    }
    assert made["M3"]["replacement"] == ">="
    tests = doc["testFiles"]["tests/t.py"]["tests"]
    assert [t["id"] for t in tests] == ["tests/t.py::test_a", "tests/t.py::test_b"]


def test_a_real_runs_reports_validate_and_each_replacement_rebuilds_the_mutant(
    real_run: Path,
) -> None:
    doc = json.loads((real_run / "mutation.json").read_text())
    assert schema_errors(doc, MTE_SCHEMA) == []
    assert schema_errors(json.loads((real_run / "results.sarif").read_text()), SARIF_SCHEMA) == []
    diffs = {
        m["id"]: m["diff"]
        for m in json.loads((real_run / "results.json").read_text())["run"]["claims"][0]["mutants"]
    }
    known = {t["id"] for f in doc["testFiles"].values() for t in f["tests"]}
    (file,) = doc["files"]
    source = doc["files"][file]["source"]
    mutants = doc["files"][file]["mutants"]
    assert mutants and all("\n" not in m["replacement"] for m in mutants)
    for mutant in mutants:
        assert set(mutant.get("killedBy", [])) <= set(mutant.get("coveredBy", [])) <= known
        assert all("::" in test for test in mutant.get("coveredBy", []))
        start, end = mutant["location"]["start"], mutant["location"]["end"]
        lines = source.splitlines(keepends=True)
        offset = sum(len(line) for line in lines[: start["line"] - 1]) + start["column"] - 1
        stop = sum(len(line) for line in lines[: end["line"] - 1]) + end["column"] - 1
        rebuilt = source[:offset] + mutant["replacement"] + source[stop:]
        mutated = apply_diff(source, diffs[mutant["id"]])
        assert mutated is not None
        if "\n" not in source[offset:stop]:  # a one-line span rebuilds the mutant exactly
            assert rebuilt == mutated, mutant
    assert any(m["status"] == "Killed" and m["killedBy"] for m in mutants)


def test_span_widens_a_change_inside_a_token_only() -> None:
    src = 'x = "yes"\n'
    diff = '--- a/f.py\n+++ b/f.py\n@@ -1,1 +1,1 @@\n-x = "yes"\n+x = "XXyesXX"\n'
    found = span(src, diff)
    assert found is not None and (found.start_column, found.end_column, found.replacement) == (
        5,
        10,
        '"XXyesXX"',
    )
    assert (
        span(src, "--- a/f.py\n+++ b/f.py\n@@ -1,1 +1,1 @@\n-y = 1\n+y = 2\n") is None
    )  # does not fit


@needs_chromium
def test_mutation_json_opens_in_the_stryker_web_component(real_run: Path, tmp_path: Path) -> None:
    shutil.copy(COMPONENT, tmp_path / COMPONENT.name)
    report = (real_run / "mutation.json").read_text()
    page_file = tmp_path / "mutation.html"
    page_file.write_text(
        "<!doctype html><html><head><meta charset='utf-8'></head><body>"
        "<mutation-test-report-app title-postfix='fixguard'></mutation-test-report-app>"
        f"<script src='{COMPONENT.name}'></script>"
        f"<script>document.querySelector('mutation-test-report-app').report = {report};</script>"
        "</body></html>",
        encoding="utf-8",
    )
    doc = json.loads(report)
    (file,) = doc["files"]
    statuses = [m["status"] for m in doc["files"][file]["mutants"]]
    detected = sum(s in ("Killed", "Timeout") for s in statuses)
    score = f"{100 * detected / len(statuses):.2f}"
    errors: list[str] = []
    with chromium_page(page_file.as_uri(), errors) as page:
        # The component renders in shadow roots, which Playwright's locators pierce: the
        # file table shows the file's mutation score, computed from our statuses.
        link = page.locator("a", has_text=Path(file).name).last
        link.wait_for(timeout=20_000)
        table = page.locator("table").first
        assert score in table.inner_text()
        page.screenshot(path=str(tmp_path / "files.png"), full_page=True)
        link.click()
        # The file view: its source, a marker per mutant.
        page.locator("mte-file").first.wait_for(timeout=20_000)
        shot = tmp_path / "mutation.png"
        page.screenshot(path=str(shot), full_page=True)
        assert shot.stat().st_size > 10_000
        # Its filters count the mutants by status, as mutation.json has them.
        survived = statuses.count("Survived")
        assert page.get_by_text(f"Survived ({survived})").first.is_visible()
        assert page.get_by_text(f"Killed ({statuses.count('Killed')})").first.is_visible()
    assert errors == []


def test_sarif_rules_carry_help_tags_and_a_real_information_uri(
    sample_run: RunResult, tmp_path: Path
) -> None:
    doc = json.loads(write_reports(sample_run, tmp_path, ["sarif"])["sarif"].read_text())
    driver = doc["runs"][0]["tool"]["driver"]
    assert driver["informationUri"] == "https://pypi.org/project/fixguard/"
    for rule in driver["rules"]:
        assert rule["help"]["text"] and rule["fullDescription"]["text"]
        assert rule["properties"]["tags"][0] == "fixguard" and len(rule["properties"]["tags"]) > 1
        assert rule["defaultConfiguration"]["level"] in ("error", "warning", "note")
    # A surviving mutant is located by the span it changes, as in mutation.json.
    survivor = next(r for r in doc["runs"][0]["results"] if r["ruleId"] == "surviving-mutant")
    region = survivor["locations"][0]["physicalLocation"]["region"]
    assert region == {"startLine": 5, "startColumn": 9, "endLine": 6, "endColumn": 13}
