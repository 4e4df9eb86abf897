"""Every report format shows a claim's findings beside its verdict, and none lets them decide it."""

from __future__ import annotations

import io
import json
import xml.etree.ElementTree as ET
from dataclasses import replace
from pathlib import Path

import pytest
from rich.console import Console

from harness.report import summary as summary_module
from harness.report.console import print_run
from harness.report.merge import merge_runs
from harness.report.writer import read_results, write_reports
from harness.verify.results import ClaimFinding, ClaimResult, RunResult, to_jsonable

from .test_html_chromium import needs_chromium, report_page

TRAVERSAL = (
    "path_traversal.read_stays_inside_base: HTTP 500 on '../canary.txt\\x00.txt' <b>*boom*</b>\n"
    "  repro: curl -i 'http://127.0.0.1:8000/files/..%2Fcanary.txt%00.txt' -H 'X-Tag: `a`'"
)
SLOW = "path_traversal.read_stays_inside_base: slow answer: 2.5s for 1 KiB"
BASE_ONLY = "path_traversal.read_stays_inside_base: HTTP 500 on 'a/../../b'"
UNGUARDED = "races.capacity_limit: HTTP 502 from the proxy"


def _with_findings(claim: ClaimResult, head: tuple[str, ...], base: tuple[str, ...]) -> ClaimResult:
    return replace(
        claim,
        head_runs=[replace(r, findings=head) for r in claim.head_runs],
        base_runs=[replace(r, findings=base) for r in claim.base_runs],
    )


@pytest.fixture
def run(sample_run: RunResult) -> RunResult:
    """The sample run, with findings on a VERIFIED claim (both sides) and an UNGUARDED one."""
    claims = list(sample_run.claims)
    assert claims[0].claim_id == "ticket-cap" and claims[1].claim_id == "backup-key"
    claims[0] = _with_findings(claims[0], (TRAVERSAL, SLOW), (BASE_ONLY, TRAVERSAL))
    claims[1] = _with_findings(claims[1], (UNGUARDED,), ())
    return replace(sample_run, claims=claims)


def test_a_claim_lists_each_finding_once_head_first_with_its_side(run: RunResult) -> None:
    assert run.claims[0].findings == [
        ClaimFinding("head", TRAVERSAL),
        ClaimFinding("head", SLOW),
        ClaimFinding("base", BASE_ONLY),
    ]
    first = run.claims[0].findings[0]
    assert first.headline == TRAVERSAL.split("\n")[0]
    assert first.repro.startswith("curl -i ")
    assert run.claims[0].findings[1].repro == ""
    assert run.claims[2].findings == []


def test_json_carries_findings_per_run_and_per_claim_and_round_trips(
    run: RunResult, tmp_path: Path
) -> None:
    path = write_reports(run, tmp_path, ["json"])["json"]
    doc = json.loads(path.read_text())
    assert doc["schema_version"] == 1  # an added field with a default: v1 readers still load
    claim = doc["run"]["claims"][0]
    assert [r["findings"] for r in claim["head_runs"]] == [[TRAVERSAL, SLOW]] * 3
    assert claim["base_runs"][0]["findings"] == [BASE_ONLY, TRAVERSAL]
    assert claim["findings"] == [
        {"side": "head", "text": TRAVERSAL},
        {"side": "head", "text": SLOW},
        {"side": "base", "text": BASE_ONLY},
    ]
    assert doc["run"]["claims"][2]["findings"] == []
    again = read_results(path)
    assert to_jsonable(again) == to_jsonable(run)
    assert again.claims[0].findings == run.claims[0].findings
    assert isinstance(again.claims[0].head_runs[0].findings, tuple)


def test_a_results_json_written_before_findings_still_loads(run: RunResult, tmp_path: Path) -> None:
    path = write_reports(run, tmp_path, ["json"])["json"]
    doc = json.loads(path.read_text())
    for claim in doc["run"]["claims"]:
        del claim["findings"]
        for record in claim["base_runs"] + claim["head_runs"]:
            del record["findings"]
    path.write_text(json.dumps(doc))
    loaded = read_results(path)
    assert [c.findings for c in loaded.claims] == [[] for _ in loaded.claims]
    assert [c.verdict for c in loaded.claims] == [c.verdict for c in run.claims]


def test_merged_shards_keep_each_claims_findings(run: RunResult) -> None:
    first = replace(run, claims=run.claims[:1], run_id="r-shard0", policy_failures=[])
    second = replace(run, claims=run.claims[1:], run_id="r-shard1", policy_failures=[])
    merged = merge_runs([first, second], where=["a", "b"])
    by_id = {c.claim_id: c for c in merged.claims}
    assert by_id["ticket-cap"].findings == run.claims[0].findings
    assert by_id["backup-key"].findings == [ClaimFinding("head", UNGUARDED)]


def test_summary_lists_findings_apart_with_their_repro(run: RunResult, tmp_path: Path) -> None:
    text = write_reports(run, tmp_path, ["md"])["md"].read_text()
    section = text.split("### Findings (4)")[1].split("### Gate")[0]
    lines = [line for line in section.splitlines() if line.startswith(("- ", "  repro:"))]
    assert lines == [
        "- claim `ticket-cap` (head): `path_traversal.read_stays_inside_base`: HTTP 500 on "
        "'../canary.txt\\\\x00.txt' \\<b\\>\\*boom\\*\\</b\\>",
        "  repro: ``curl -i 'http://127.0.0.1:8000/files/..%2Fcanary.txt%00.txt' -H 'X-Tag: `a`'``",
        "- claim `ticket-cap` (head): `path_traversal.read_stays_inside_base`: slow answer: 2.5s "
        "for 1 KiB",
        "- claim `ticket-cap` (base): `path_traversal.read_stays_inside_base`: HTTP 500 on "
        "'a/../../b'",
        "- claim `backup-key` (head): `races.capacity_limit`: HTTP 502 from the proxy",
    ]
    # The table's note points at them; the verdicts are the sample's own.
    assert "reason for VERIFIED · 3 findings (see Findings) |" in text
    assert "reason for UNGUARDED · 1 finding (see Findings) |" in text
    assert "**VERIFIED**" in text and "**UNGUARDED**" in text


def test_summary_shows_only_the_first_findings(
    run: RunResult, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(summary_module, "MAX_FINDINGS", 2)
    text = write_reports(run, tmp_path, ["md"])["md"].read_text()
    assert "### Findings (4)" in text and "…and 2 more in index.html." in text
    assert "HTTP 502 from the proxy" not in text


def test_summary_of_a_run_without_findings_has_no_findings_section(
    sample_run: RunResult, tmp_path: Path
) -> None:
    text = write_reports(sample_run, tmp_path, ["md"])["md"].read_text()
    assert "Findings" not in text and "finding" not in text


def test_html_lists_findings_in_the_claims_section(run: RunResult, tmp_path: Path) -> None:
    html = write_reports(run, tmp_path, ["html"])["html"].read_text()
    section = html.split('<section id="claim-ticket-cap">')[1].split("</section>")[0]
    assert '<h4 id="findings-ticket-cap">Findings (3)' in section
    items = section.split('<ul class="findings">')[1].split("</ul>")[0]
    assert items.count('<li class="finding finding-head">') == 2
    assert items.count('<li class="finding finding-base">') == 1
    # The finding's text is escaped, never markup; the repro is its own block.
    assert "&lt;b&gt;*boom*&lt;/b&gt;" in items and "<b>" not in items
    assert "<pre>repro: curl -i &#39;http://127.0.0.1:8000/files/" in items
    matrix = html.split('id="verdict-matrix"')[1].split("</table>")[0]
    assert '<a href="#findings-ticket-cap">3 findings</a>' in matrix
    assert '<a href="#findings-backup-key">1 finding</a>' in matrix


def test_junit_puts_findings_in_system_out_and_counts_no_more_failures(
    run: RunResult, sample_run: RunResult, tmp_path: Path
) -> None:
    root = ET.parse(write_reports(run, tmp_path, ["junit"])["junit"]).getroot()
    cases = {c.get("name"): c for c in root.iter("testcase")}
    verified = cases["ticket-cap"]
    assert [child.tag for child in verified] == ["system-out"]
    out = verified.findtext("system-out", "")
    assert "weak spot M005" in out
    assert f"finding (head): {TRAVERSAL}" in out and f"finding (base): {BASE_ONLY}" in out
    unguarded = cases["backup-key"]
    assert [child.tag for child in unguarded] == ["failure", "system-out"]
    assert unguarded.findtext("system-out") == f"finding (head): {UNGUARDED}"
    assert UNGUARDED not in unguarded.findtext("failure", "")
    plain = ET.parse(write_reports(sample_run, tmp_path / "plain", ["junit"])["junit"]).getroot()
    suite, plain_suite = root.find("testsuite"), plain.find("testsuite")
    assert suite is not None and plain_suite is not None
    for attr in ("failures", "errors"):
        assert suite.get(attr) == plain_suite.get(attr)


def test_sarif_lists_each_finding_as_a_note(run: RunResult, tmp_path: Path) -> None:
    doc = json.loads(write_reports(run, tmp_path, ["sarif"])["sarif"].read_text())
    sarif_run = doc["runs"][0]
    assert "check-finding" in {rule["id"] for rule in sarif_run["tool"]["driver"]["rules"]}
    findings = [r for r in sarif_run["results"] if r["ruleId"] == "check-finding"]
    assert [r["level"] for r in findings] == ["note"] * 4
    assert [r["partialFingerprints"]["claimId"] for r in findings] == ["ticket-cap"] * 3 + [
        "backup-key"
    ]
    assert findings[0]["message"]["text"] == f"ticket-cap (head, VERIFIED): {TRAVERSAL}"
    assert findings[2]["message"]["text"].startswith("ticket-cap (base, VERIFIED): ")
    assert len({r["partialFingerprints"]["findingHash"] for r in findings}) == 4
    location = findings[0]["locations"][0]["physicalLocation"]
    assert location["artifactLocation"]["uri"] == "shop/store.py"
    # A VERIFIED claim with findings is still not reported as unverified.
    unverified = {
        r["partialFingerprints"]["claimId"]
        for r in sarif_run["results"]
        if r["ruleId"] == "claim-unverified"
    }
    assert "ticket-cap" not in unverified and "backup-key" in unverified


def test_console_prints_the_count_and_findings_under_the_verdict(run: RunResult) -> None:
    out = io.StringIO()
    print_run(run, Console(file=out, width=200, color_system=None))
    lines = out.getvalue().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("ticket-cap VERIFIED:"))
    assert lines[start + 1 : start + 6] == [
        "  3 findings:",
        "    head: " + TRAVERSAL.split("\n")[0],
        "      repro: " + TRAVERSAL.split("repro: ")[1],
        "    head: " + SLOW,
        "    base: " + BASE_ONLY,
    ]
    start = next(i for i, line in enumerate(lines) if line.startswith("backup-key UNGUARDED:"))
    assert lines[start + 1 : start + 3] == ["  1 finding:", "    head: " + UNGUARDED]
    health = next(i for i, line in enumerate(lines) if line.startswith("health NOT_REPRODUCED:"))
    assert "finding" not in lines[health + 1]


def test_console_shows_the_first_three_and_says_where_the_rest_are(run: RunResult) -> None:
    many = tuple(f"c.check: problem {n}" for n in range(5))
    claims = [_with_findings(run.claims[0], many, ()), *run.claims[1:]]
    out = io.StringIO()
    print_run(replace(run, claims=claims), Console(file=out, width=200, color_system=None))
    text = out.getvalue()
    assert "  5 findings (first 3 below; all in the reports):" in text
    assert "problem 2" in text and "problem 3" not in text


@needs_chromium
def test_html_findings_render_in_headless_chromium(run: RunResult, tmp_path: Path) -> None:
    with report_page(run, tmp_path) as page:
        items = page.locator("#claim-ticket-cap ul.findings li")
        assert items.count() == 3
        assert items.nth(0).is_visible()
        assert "<b>*boom*</b>" in items.nth(0).inner_text()
        assert items.nth(0).locator("pre").inner_text().startswith("repro: curl -i ")
        row = page.locator('#verdict-matrix tr[data-claim="ticket-cap"]')
        assert row.locator(".verdict").inner_text() == "VERIFIED"
        assert row.locator(".findings-count").inner_text() == "3 findings"
