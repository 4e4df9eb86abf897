"""Every report format renders a run with every verdict, and results.json round-trips."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

from harness.cli.main import main
from harness.outcomes import Verdict
from harness.report.writer import read_results, write_reports
from harness.verify.results import RunResult, to_jsonable


def test_summary_is_a_short_pr_comment(sample_run: RunResult, tmp_path: Path) -> None:
    text = write_reports(sample_run, tmp_path, ["md"])["md"].read_text()
    for claim in sample_run.claims:
        assert f"**{claim.verdict.value}**" in text
    assert "M004" in text and "```diff" in text  # the survivor, as a diff
    assert "M001" not in text  # killed mutants stay out of the comment
    # The weak spot is listed apart from the surviving (reverting) mutant.
    gaps, weak = text.split("### Surviving mutants (1)")[1].split("### Weak spots (1)")
    assert "M004" in gaps and "M005" not in gaps
    assert "M005" in weak and "claim `ticket-cap`" in weak
    assert "2/3 killed, 1 weak spot" in text
    assert "allowed by policy: SQL-only fix" in text
    assert len(text.encode()) < 65536  # GitHub's comment limit


def test_junit_one_testcase_per_claim(sample_run: RunResult, tmp_path: Path) -> None:
    root = ET.parse(write_reports(sample_run, tmp_path, ["junit"])["junit"]).getroot()
    cases = root.findall(".//testcase")
    assert [c.get("name") for c in cases] == [c.claim_id for c in sample_run.claims]
    outcome = {c.get("name"): [child.tag for child in c] for c in cases}
    assert outcome["ticket-cap"] == ["system-out"]  # VERIFIED, with its weak spot listed
    assert "weak spot M005" in cases[0].findtext("system-out", "")
    assert outcome["backup-key"] == ["failure"]
    assert outcome["broken"] == ["error"]
    assert outcome["schema"] == ["system-out"]  # excused by policy
    suite = root.find("testsuite")
    assert suite is not None and suite.get("failures") == "4" and suite.get("errors") == "1"


def test_sarif_locates_survivors_and_failing_claims(sample_run: RunResult, tmp_path: Path) -> None:
    doc = json.loads(write_reports(sample_run, tmp_path, ["sarif"])["sarif"].read_text())
    assert doc["version"] == "2.1.0"
    results = doc["runs"][0]["results"]
    rules = {r["ruleId"] for r in results}
    assert rules == {"surviving-mutant", "claim-unverified", "weak-spot"}
    weak = [r for r in results if r["ruleId"] == "weak-spot"]
    assert [(r["level"], r["partialFingerprints"]["mutantId"]) for r in weak] == [("note", "M005")]
    survivors = [r for r in results if r["ruleId"] == "surviving-mutant"]
    assert [r["partialFingerprints"]["mutantId"] for r in survivors] == ["M004"]
    survivor = survivors[0]
    region = survivor["locations"][0]["physicalLocation"]
    assert region["artifactLocation"]["uri"] == "shop/store.py"
    assert region["region"]["startLine"] == 5
    failing = {
        r["partialFingerprints"]["claimId"] for r in results if r["ruleId"] == "claim-unverified"
    }
    assert failing == {"backup-key", "health", "export", "flaky", "broken"}


def test_json_has_schema_version_and_mutation_testing_elements(
    sample_run: RunResult, tmp_path: Path
) -> None:
    doc = json.loads(write_reports(sample_run, tmp_path, ["json"])["json"].read_text())
    assert doc["schema_version"] == 1
    report = doc["mutationReport"]
    assert report["schemaVersion"] == "2"
    file = report["files"]["shop/store.py"]
    assert file["language"] == "python" and "with self._lock" in file["source"]
    statuses = sorted(m["status"] for m in file["mutants"])
    assert statuses == ["Killed", "Killed", "Survived", "Survived", "Timeout"]
    for mutant in file["mutants"]:
        assert set(mutant) >= {"id", "mutatorName", "location", "status"}
        assert mutant["location"]["start"] == {"line": 5, "column": 9}


def test_report_command_re_renders_from_results_json(sample_run: RunResult, tmp_path: Path) -> None:
    write_reports(sample_run, tmp_path / "run", ["json"])
    assert read_results(tmp_path / "run").claims[1].survivors[0].id == "M004"
    assert to_jsonable(read_results(tmp_path / "run")) == to_jsonable(sample_run)
    assert (
        main(["report", str(tmp_path / "run" / "results.json"), "--out", str(tmp_path / "again")])
        == 0
    )
    assert sorted(p.name for p in (tmp_path / "again").iterdir()) == [
        "index.html",
        "junit.xml",
        "mutation.json",
        "results.json",
        "results.sarif",
        "summary.md",
    ]


def test_report_command_rejects_foreign_json(tmp_path: Path, capsys) -> None:
    bogus = tmp_path / "results.json"
    bogus.write_text('{"hello": 1}')
    assert main(["report", str(bogus)]) == 2
    assert "schema_version=None" in capsys.readouterr().err


def test_junit_spells_out_characters_xml_cannot_hold(sample_run: RunResult, tmp_path: Path) -> None:
    # An ERROR's reason carries a log tail: ANSI colours and a NUL made junit.xml unparseable.
    claim = sample_run.claims[0]
    claim.verdict = Verdict.ERROR
    claim.reason = "mutation baseline: pytest crashed\n\x1b[31mFAILED\x1b[0m tests/x.py \x00 é"
    claim.title = "cap \x07 holds"
    path = write_reports(sample_run, tmp_path, ["junit"])["junit"]
    root = ET.parse(path).getroot()  # raised ParseError before
    case = root.find(f".//testcase[@name='{claim.claim_id}']")
    assert case is not None
    error = case.find("error")
    assert error is not None and error.text is not None
    assert "\\x1b[31mFAILED\\x1b[0m tests/x.py \\x00 é" in error.text
