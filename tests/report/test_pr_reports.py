"""PR mode in every report: the review's findings first, then what the PR's own tests prove."""

from __future__ import annotations

import io
import json
import xml.etree.ElementTree as ET
from dataclasses import replace
from pathlib import Path

import pytest
from rich.console import Console

from harness.errors import UserError
from harness.outcomes import Verdict
from harness.report.console import print_run
from harness.report.merge import merge_runs
from harness.report.writer import read_results, write_reports
from harness.verify import prmode
from harness.verify.prmode import AutoClaim, FindingOutcome, FindingState, PrEvidence, PrHunk
from harness.verify.results import RunResult, to_jsonable

from .test_html_chromium import needs_chromium, report_page

F2P_A = "tests/test_exports.py::test_stays_inside"
F2P_B = "tests/test_store.py::test_capacity"
P2F = "tests/test_orders.py::test_listing"
# Not imported by name: pytest would try to collect the Test* classes.
Klass = prmode.TestClass
UNPROVEN_DIFF = "@@ -40,0 +41,2 @@\n+    if not name:\n+        raise ValueError('no name')\n"


def _finding(
    title: str, file: str | None, line: int | None, state: FindingState, **kw: object
) -> FindingOutcome:
    return FindingOutcome(title, "major", file, line, state, source="review.md:9", **kw)  # type: ignore[arg-type]


@pytest.fixture
def pr_run(sample_run: RunResult) -> RunResult:
    """The sample run's VERIFIED and UNGUARDED claims as auto-1 and auto-2, with a review."""
    verified, unguarded = sample_run.claims[0], sample_run.claims[1]
    claims = [
        replace(
            verified,
            claim_id="auto-1",
            title="Fix in shop/exports.py proven by 1 test(s)",
            tests=(F2P_A,),
        ),
        replace(
            unguarded,
            claim_id="auto-2",
            title="Fix in shop/store.py proven by 1 test(s)",
            tests=(F2P_B,),
        ),
    ]
    pr = PrEvidence(
        tests=[
            prmode.TestEvidence(F2P_A, Klass.F2P, ("failed",), ("passed",)),
            prmode.TestEvidence(F2P_B, Klass.F2P, ("failed", "failed"), ("passed", "passed")),
            prmode.TestEvidence(
                "tests/test_health.py::test_ok", Klass.P2P, ("passed",), ("passed",)
            ),
            prmode.TestEvidence(
                P2F, Klass.P2F, ("passed",), ("failed",), note="AssertionError: 3 != 2"
            ),
            prmode.TestEvidence(
                "tests/test_slow.py::test_budget", Klass.F2F, ("failed",), ("failed",)
            ),
            prmode.TestEvidence(
                "tests/test_api.py::test_new_route",
                Klass.NEW_API,
                ("not collected",),
                ("passed",),
                note="ImportError: cannot import name 'paginate'",
            ),
        ],
        auto_claims=[
            AutoClaim("auto-1", (PrHunk("shop/exports.py", 15, 18),), (F2P_A,)),
            AutoClaim(
                "auto-2", (PrHunk("shop/store.py", 5, 6), PrHunk("shop/store.py", 20, 20)), (F2P_B,)
            ),
        ],
        unproven=[PrHunk("shop/exports.py", 41, 42, diff=UNPROVEN_DIFF)],
    )
    findings = [
        _finding(
            "Path traversal | in export",
            "exports.py",
            16,
            FindingState.JUDGED,
            claim_id="auto-1",
            claimed_fixed=True,
            hunk="shop/exports.py:15-18",
        ),
        _finding(
            "Store capacity race",
            "shop/store.py",
            5,
            FindingState.JUDGED,
            claim_id="auto-2",
            hunk="shop/store.py:5-6",
        ),
        _finding(
            "Shutdown skips closes", "shop/app.py", 124, FindingState.NO_FIX, claimed_fixed=True
        ),
        _finding(
            "Empty export name",
            "shop/exports.py",
            41,
            FindingState.UNPROVEN,
            hunk="shop/exports.py:41-42",
        ),
        _finding("Counter race", "shop/app.py", 140, FindingState.NO_FIX),
        _finding("General slowness", None, None, FindingState.UNLOCATED),
    ]
    return replace(sample_run, claims=claims, pr=pr, findings=findings, policy_failures=[])


def _summary(run: RunResult, tmp_path: Path) -> str:
    return write_reports(run, tmp_path, ["md"])["md"].read_text(encoding="utf-8")


def test_summary_puts_findings_first_then_verdicts_unproven_regressions_and_evidence(
    pr_run: RunResult, tmp_path: Path
) -> None:
    text = _summary(pr_run, tmp_path)
    order = [
        "### Review findings (6)",
        "### Verdicts (2 auto-claims)",
        "### Unproven hunks (1)",
        "### Regressions (1)",
        "### Evidence",
    ]
    positions = [text.index(heading) for heading in order]
    assert positions == sorted(positions)
    # The claims' own sections stay (auto-2's surviving mutant), before the evidence.
    assert text.index("### Surviving mutants (1)") < text.index("### Evidence")
    assert len(text.encode()) < 65536


def test_summary_findings_show_their_verdict_or_what_became_of_them(
    pr_run: RunResult, tmp_path: Path
) -> None:
    text = _summary(pr_run, tmp_path)
    rows = [
        line
        for line in text.split("### Review findings")[1].split("###")[0].splitlines()
        if line.startswith("| ") and line[2].isdigit()
    ]
    assert len(rows) == 6
    assert "Path traversal \\| in export" in rows[0]  # escaped: the row keeps its five cells
    assert "✅ **VERIFIED** (`auto-1`, `shop/exports.py:15-18`)" in rows[0]
    assert "🛡️ **UNGUARDED** (`auto-2`" in rows[1]
    assert "🚩 **marked fixed, nothing behind it**: no fix found in this PR" in rows[2]
    assert "fixed but no test proves it" in rows[3] and "🚩" not in rows[3]
    assert rows[4].endswith("| no fix found in this PR |")
    assert "| – | no file:line to match |" in rows[5]
    assert "🚩 1 marked fixed, nothing behind it" in text.split("###")[0]


def test_summary_unproven_hunks_carry_their_diff_collapsed(
    pr_run: RunResult, tmp_path: Path
) -> None:
    section = _summary(pr_run, tmp_path).split("### Unproven hunks (1)")[1].split("###")[0]
    assert "<summary><code>shop/exports.py:41-42</code></summary>" in section
    assert "```diff\n" + UNPROVEN_DIFF.rstrip("\n") + "\n```" in section
    assert section.index("<details>") < section.index("```diff") < section.index("</details>")


def test_summary_regressions_and_evidence_list_the_tests_by_class(
    pr_run: RunResult, tmp_path: Path
) -> None:
    text = _summary(pr_run, tmp_path)
    regressions = text.split("### Regressions (1)")[1].split("###")[0]
    assert f"`{P2F}`: base passed, head failed (AssertionError: 3 != 2)" in regressions
    evidence = text.split("### Evidence")[1]
    assert "F2P 2 · P2P 1 · F2F 1 · new_api 1" in evidence
    assert f"`{F2P_B}`: base failed ×2, head passed ×2" in evidence
    assert "ImportError: cannot import name 'paginate'" in evidence
    assert (
        "- `auto-2`: hunks `shop/store.py:5-6`, `shop/store.py:20-20`; tests " + f"`{F2P_B}`"
        in evidence
    )
    assert P2F not in evidence  # a regression is listed once, in its own section


def test_summary_of_a_pr_without_review_or_proof_says_so(pr_run: RunResult, tmp_path: Path) -> None:
    bare = replace(pr_run, claims=[], findings=[], pr=PrEvidence(unproven=pr_run.pr.unproven))  # type: ignore[union-attr]
    text = _summary(bare, tmp_path)
    assert "### Review findings" not in text and "### Regressions" not in text
    assert "No F2P test: nothing in this PR proves a fix." in text
    assert "### Unproven hunks (1)" in text


def test_json_round_trips_the_pr_evidence_and_findings(pr_run: RunResult, tmp_path: Path) -> None:
    path = write_reports(pr_run, tmp_path / "run", ["json"])["json"]
    doc = json.loads(path.read_text())["run"]
    assert {t["nodeid"]: t["klass"] for t in doc["pr"]["tests"]}[P2F] == "P2F"
    assert sorted({t["klass"] for t in doc["pr"]["tests"]}) == [
        "F2F",
        "F2P",
        "P2F",
        "P2P",
        "new_api",
    ]
    assert doc["pr"]["unproven"][0]["diff"] == UNPROVEN_DIFF
    assert [f["flagged"] for f in doc["findings"]] == [False, False, True, False, False, False]
    assert doc["findings"][3]["state"] == "fixed but no test proves it"
    again = read_results(tmp_path / "run")
    assert again.pr == pr_run.pr
    assert again.findings == pr_run.findings
    assert to_jsonable(again) == to_jsonable(pr_run)


def test_a_manifest_runs_results_json_has_no_pr_keys_and_loads_as_before(
    sample_run: RunResult, tmp_path: Path
) -> None:
    path = write_reports(sample_run, tmp_path / "run", ["json"])["json"]
    doc = json.loads(path.read_text())["run"]
    assert "pr" not in doc and "findings" not in doc
    again = read_results(path)
    assert again.pr is None and again.findings == []


def test_merged_shards_keep_the_pr_evidence_and_refuse_shards_that_differ(
    pr_run: RunResult,
) -> None:
    one = replace(pr_run, claims=pr_run.claims[:1], run_id="r-shard1")
    two = replace(pr_run, claims=pr_run.claims[1:], run_id="r-shard2")
    merged = merge_runs([one, two], where=["a", "b"])
    assert merged.pr == pr_run.pr and merged.findings == pr_run.findings
    with pytest.raises(UserError, match="review findings differ"):
        merge_runs([one, replace(two, findings=pr_run.findings[:2])], where=["a", "b"])
    with pytest.raises(UserError, match="PR evidence differs"):
        merge_runs([one, replace(two, pr=None)], where=["a", "b"])


def test_console_prints_a_compact_findings_block(pr_run: RunResult) -> None:
    out = io.StringIO()
    print_run(pr_run, Console(file=out, width=200, color_system=None))
    text = out.getvalue()
    assert "review findings (6): 2 judged, 2 no fix, 1 unproven, 1 unlocated" in text
    lines = text.splitlines()
    assert any("exports.py:16" in ln and "VERIFIED (auto-1)" in ln for ln in lines)
    assert any(
        "shop/app.py:124" in ln and "marked fixed, nothing behind it: no fix found" in ln
        for ln in lines
    )
    assert "unproven hunk shop/exports.py:41-42" in text
    assert f"regression (P2F) {P2F}: base passed, head failed" in text


def test_console_without_pr_prints_no_pr_block(sample_run: RunResult) -> None:
    out = io.StringIO()
    print_run(sample_run, Console(file=out, width=200, color_system=None))
    assert "pull request" not in out.getvalue() and "review findings" not in out.getvalue()


def test_junit_adds_a_review_suite(pr_run: RunResult, tmp_path: Path) -> None:
    root = ET.parse(write_reports(pr_run, tmp_path, ["junit"])["junit"]).getroot()
    claims, review, pr_suite = root.findall("testsuite")
    # Unproven hunks and regressions fail a suite of their own.
    assert pr_suite.get("name") == "fixguard.pr"
    assert (
        pr_suite.get("failures")
        == pr_suite.get("tests")
        == str(
            len(pr_run.pr.unproven) + len(pr_run.pr.of(Klass.P2F))  # type: ignore[union-attr]
        )
    )
    assert [c.get("name") for c in claims.findall("testcase")] == ["auto-1", "auto-2"]
    assert review.get("name") == "fixguard.review"
    outcome = {c.get("name"): [child.tag for child in c] for c in review.findall("testcase")}
    assert list(outcome.values()) == [
        ["system-out"],  # VERIFIED
        ["failure"],  # UNGUARDED
        ["failure"],  # flagged
        ["skipped"],  # unproven, not claimed
        ["skipped"],  # not fixed, not claimed
        ["skipped"],  # unlocated
    ]
    flagged = review.findall("testcase")[2].find("failure")
    assert flagged is not None
    assert flagged.get("message") == "marked fixed, nothing behind it: no fix found in this PR"
    assert (review.get("failures"), review.get("skipped"), review.get("tests")) == ("2", "3", "6")


def test_sarif_locates_flagged_and_unproven_findings(pr_run: RunResult, tmp_path: Path) -> None:
    doc = json.loads(write_reports(pr_run, tmp_path, ["sarif"])["sarif"].read_text())
    results = doc["runs"][0]["results"]
    by_rule: dict[str, list[dict]] = {}
    for r in results:
        by_rule.setdefault(r["ruleId"], []).append(r)
    [flagged] = by_rule["finding-marked-fixed"]
    assert flagged["level"] == "error"
    assert flagged["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "shop/app.py"
    assert flagged["locations"][0]["physicalLocation"]["region"]["startLine"] == 124
    [unproven] = by_rule["finding-unproven"]
    assert unproven["level"] == "warning"
    assert unproven["locations"][0]["physicalLocation"]["region"]["startLine"] == 41
    assert [r["level"] for r in by_rule["finding-not-fixed"]] == ["note"]
    assert [r["partialFingerprints"]["hunk"] for r in by_rule["unproven-hunk"]] == [
        "shop/exports.py:41-42"
    ]
    assert [r["partialFingerprints"]["test"] for r in by_rule["regression"]] == [P2F]
    rules = {rule["id"] for rule in doc["runs"][0]["tool"]["driver"]["rules"]}
    assert {"finding-marked-fixed", "finding-unproven", "unproven-hunk", "regression"} <= rules


def test_html_has_a_findings_table_and_the_test_classes(pr_run: RunResult, tmp_path: Path) -> None:
    html = write_reports(pr_run, tmp_path, ["html"])["html"].read_text()
    assert html.index('id="review-findings"') < html.index('id="verdict-matrix"')
    assert html.count('<tr data-finding="') == 6
    assert html.count(' flagged"') == 1
    assert "Path traversal | in export" in html
    assert html.count('<tr data-test="') == 6
    assert '<span class="klass klass-P2F">P2F</span>' in html
    assert 'id="unproven-hunks"' in html and 'id="regressions"' in html
    assert '<tr data-auto-claim="auto-2">' in html


def test_html_without_pr_has_no_pr_sections(sample_run: RunResult, tmp_path: Path) -> None:
    html = write_reports(sample_run, tmp_path, ["html"])["html"].read_text()
    for marker in (
        "review-findings",
        "pr-tests",
        "unproven-hunks",
        "regressions",
        "pr-headline",
        ".flag",
    ):
        assert marker not in html


@needs_chromium
def test_pr_html_renders_in_headless_chromium(pr_run: RunResult, tmp_path: Path) -> None:
    with report_page(pr_run, tmp_path) as page:
        rows = page.locator("#review-findings tbody tr")
        assert rows.count() == 6
        assert rows.nth(0).locator(".verdict").inner_text() == Verdict.VERIFIED.value
        flag = page.locator("#review-findings tr.flagged .flag")
        assert flag.count() == 1 and flag.is_visible()
        assert flag.inner_text() == "marked fixed, nothing behind it"
        assert "no fix found in this PR" in page.locator("#review-findings tr.flagged").inner_text()
        assert page.locator("#pr-tests tbody tr").count() == 6
        assert page.locator(f'#pr-tests tr[data-test="{P2F}"] .klass').inner_text() == "P2F"
        assert page.locator("#regressions li").inner_text().startswith(P2F)
        hunk = page.locator("#unproven-hunks details")
        hunk.locator("summary").click()
        assert "raise ValueError" in hunk.locator("pre").inner_text()
        # The claims' matrix and evidence still render below.
        assert page.locator("#verdict-matrix tbody tr").count() == 2
