"""junit.xml: one testcase per claim; anything but an allowed verdict is a failure.

A claim's findings go to its <system-out> whatever the verdict: they never fail a testcase.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from ..outcomes import Verdict
from ..verify.results import ClaimResult, RunResult


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
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
