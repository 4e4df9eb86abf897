"""junit.xml: one testcase per claim; anything but an allowed verdict is a failure.

A claim's findings go to its <system-out> whatever the verdict: they never fail a testcase.

In PR mode with a review, a second suite, `fixguard.review`, has one testcase per review
finding: a matched finding passes or fails with its auto-claim; a finding marked fixed with
nothing behind it (flagged) fails; one the PR does not fix, or fixes with no test proving it,
is skipped with that reason, since the PR did not claim it.

In PR mode a third suite, `fixguard.pr`, has a failing testcase per unproven hunk and per
regression (P2F), so a CI view that reads only JUnit fails where the policy does.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from ..outcomes import Verdict
from ..verify.prmode import FindingOutcome, PrEvidence, TestClass
from ..verify.results import ClaimResult, RunResult
from .summary import FLAGGED, finding_verdict_text, finding_where, judging_claim


def _findings_text(claim: ClaimResult) -> str:
    return "".join(f"\n\nfinding ({f.side}): {f.text}" for f in claim.findings)


def render_junit(run: RunResult) -> str:
    suite = ET.Element(
        "testsuite",
        name="fixguard",
        tests=str(len(run.claims)),
        time=f"{run.duration:.3f}",
    )
    failures = 0
    errors = 0
    for claim in run.claims:
        duration = sum(claim.timings.values())
        case = ET.SubElement(
            suite,
            "testcase",
            classname=f"fixguard.{claim.severity}",
            name=claim.claim_id,
            time=f"{duration:.3f}",
        )
        weak = "".join(
            f"\n\nweak spot {m.id} {m.file}:{m.line} ({m.operator})\n{m.diff}"
            for m in claim.weak_spots
        )
        findings = _findings_text(claim)
        if claim.verdict is Verdict.VERIFIED or claim.excused:
            out = f"allowed by policy: {claim.excused}" if claim.excused else ""
            if out or weak or findings:
                ET.SubElement(case, "system-out").text = (out + weak + findings).strip()
            continue
        body = claim.reason
        for mutant in claim.gaps or claim.survivors:
            body += f"\n\n{mutant.id} {mutant.file}:{mutant.line} ({mutant.family})\n{mutant.diff}"
        body += weak
        if claim.verdict is Verdict.ERROR:
            errors += 1
            element = ET.SubElement(case, "error", message=claim.verdict.value)
        else:
            failures += 1
            element = ET.SubElement(
                case, "failure", message=f"{claim.verdict.value}: {claim.title}"
            )
        element.text = body
        if findings:
            # After the failure element, as the JUnit schema orders a testcase's children.
            ET.SubElement(case, "system-out").text = findings.strip()
    suite.set("failures", str(failures))
    suite.set("errors", str(errors))
    root = ET.Element("testsuites")
    root.append(suite)
    if run.findings:
        root.append(_review_suite(run))
    if run.pr is not None and (run.pr.unproven or run.pr.of(TestClass.P2F)):
        root.append(_pr_suite(run.pr))
    _xml_safe(root)
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


#: What XML 1.0 cannot carry at all, even escaped (a log tail's ANSI colours, a NUL).
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _xml_safe(root: ET.Element) -> None:
    """Spell out every character XML cannot hold (`\\x1b`), in all text and attributes:
    ElementTree writes them as they are, and every JUnit reader then refuses the file."""

    def spell(text: str) -> str:
        return _NOT_XML.sub(lambda m: m.group().encode("unicode_escape").decode(), text)

    for element in root.iter():
        if element.text:
            element.text = spell(element.text)
        if element.tail:
            element.tail = spell(element.tail)
        for key, value in element.attrib.items():
            element.set(key, spell(value))


def _review_case(suite: ET.Element, run: RunResult, n: int, finding: FindingOutcome) -> str:
    """Add one finding's testcase; return its outcome ("passed", "failure" or "skipped")."""
    case = ET.SubElement(
        suite,
        "testcase",
        classname=f"fixguard.review.{finding.severity}",
        name=f"{n}: {finding.title}",
        time="0.000",
    )
    where = finding_where(finding) or "no file:line"
    claim = judging_claim(run, finding)
    verdict = finding_verdict_text(run, finding)
    if claim is not None:
        text = f"{where}: judged by {claim.claim_id} ({finding.hunk}): {verdict}: {claim.reason}"
        if claim.verdict is Verdict.VERIFIED or claim.excused:
            ET.SubElement(case, "system-out").text = text
            return "passed"
        ET.SubElement(case, "failure", message=f"{verdict}: {claim.claim_id}").text = text
        return "failure"
    if finding.flagged or finding.claim_id:  # flagged, or judged by a claim with no result
        message = f"{FLAGGED}: {verdict}" if finding.flagged else verdict
        ET.SubElement(case, "failure", message=message).text = f"{where}: {message}"
        return "failure"
    ET.SubElement(case, "skipped", message=verdict).text = f"{where}: {verdict}"
    return "skipped"


def _pr_suite(pr: PrEvidence) -> ET.Element:
    cases: list[tuple[str, str, str, str]] = [
        ("unproven", str(hunk), hunk.why or "no F2P test executes it", hunk.diff)
        for hunk in pr.unproven
    ]
    cases += [
        ("regression", test.nodeid, "passes on the base and fails on the head", test.note)
        for test in pr.of(TestClass.P2F)
    ]
    suite = ET.Element(
        "testsuite",
        name="fixguard.pr",
        tests=str(len(cases)),
        failures=str(len(cases)),
        errors="0",
        time="0.000",
    )
    for kind, name, message, body in cases:
        case = ET.SubElement(
            suite, "testcase", classname=f"fixguard.pr.{kind}", name=name, time="0.000"
        )
        ET.SubElement(case, "failure", message=f"{kind}: {message}").text = body
    return suite


def _review_suite(run: RunResult) -> ET.Element:
    suite = ET.Element("testsuite", name="fixguard.review", tests=str(len(run.findings)))
    outcomes = [_review_case(suite, run, n, f) for n, f in enumerate(run.findings, 1)]
    suite.set("failures", str(outcomes.count("failure")))
    suite.set("errors", "0")
    suite.set("skipped", str(outcomes.count("skipped")))
    suite.set("time", "0.000")
    return suite
