"""results.sarif (SARIF 2.1.0): surviving mutants and failing claims, located at file:line.

Findings of a claim's checks are `check-finding` notes at the claim's fix: never an error, since
they do not decide the verdict.

In PR mode, review findings the PR does not prove are located at their file:line: a finding
marked fixed with nothing behind it is an error (`finding-marked-fixed`), one fixed by a hunk no
test executes a warning (`finding-unproven`), one the PR leaves alone a note (`finding-not-fixed`).
Matched findings are left to their auto-claim's result. Unproven hunks are warnings at the hunk
and P2F tests errors at their test file.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from .. import __version__
from ..outcomes import Verdict
from ..verify.prmode import FindingOutcome, FindingState, PrEvidence, TestClass
from ..verify.results import ClaimResult, MutantRecord, RunResult
from .stryker import span
from .summary import FLAGGED, finding_where

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
#: The package's index page (pyproject.toml's project.urls has the same address).
INFORMATION_URI = "https://pypi.org/project/fixguard/"
RULES = {
    "surviving-mutant": "A mutant on the fix lines survived: no test notices if this part of the fix is removed.",
    "weak-spot": "A tweak of the fix (a boundary, a literal, a message) that no test notices; it does not undo the fix.",
    "claim-unverified": "A claimed fix could not be verified (see the verdict).",
    "check-finding": "A check met a problem outside the bug class it judges (a 5xx on bad input, a slow answer); it does not change the verdict.",
}
#: Rules listed only in PR mode, so a manifest run's results.sarif stays as it was.
PR_RULES = {
    "finding-marked-fixed": "A review finding is marked fixed, but this PR has nothing behind it (no fix, or no test proving it).",
    "finding-unproven": "A review finding is fixed by changed code that no test of this PR executes.",
    "finding-not-fixed": "A review finding that this PR does not fix.",
    "unproven-hunk": "Changed code that no F2P test executes: nothing shows that it fixes anything.",
    "regression": "A test that passes on the base and fails on the head (P2F).",
}
#: Per rule: what to do about a result (SARIF `help`), its default level and its tags.
HELP = {
    "surviving-mutant": (
        "Add or strengthen a test that fails when this part of the fix is undone; the result's "
        "message shows the mutant as a diff.",
        "warning",
        ("mutation-testing", "regression"),
    ),
    "weak-spot": (
        "Optional: a test that pins the exact boundary or value would kill it. Weak spots decide "
        'the verdict only under --strict or policy weak_spots = "fail".',
        "note",
        ("mutation-testing", "weak-spot"),
    ),
    "claim-unverified": (
        "Read the claim's verdict and reason in summary.md; its reproduce command reruns its tests.",
        "warning",
        ("verification",),
    ),
    "check-finding": (
        "Look at the finding's text: it is a problem a check met outside its own bug class.",
        "note",
        ("scenario-check",),
    ),
    "finding-marked-fixed": (
        "Add the fix, or a test that fails on the base and passes on the head, or unmark the finding.",
        "error",
        ("review", "pr-mode"),
    ),
    "finding-unproven": (
        "Add a test that executes the changed lines and fails without them.",
        "warning",
        ("review", "pr-mode"),
    ),
    "finding-not-fixed": (
        "The review finding is still open in this PR.",
        "note",
        ("review", "pr-mode"),
    ),
    "unproven-hunk": (
        "Add a test that fails on the base and passes on the head and executes this hunk.",
        "warning",
        ("pr-mode",),
    ),
    "regression": (
        "The test passed before this PR: fix the regression or the test.",
        "error",
        ("pr-mode", "regression"),
    ),
}
LEVEL = {
    Verdict.STILL_FAILING: "error",
    Verdict.ERROR: "error",
    Verdict.UNGUARDED: "warning",
    Verdict.FLAKY: "warning",
    Verdict.NOT_REPRODUCED: "warning",
    Verdict.NO_MUTANTS: "note",
}


def _location(file: str, line: int, region: dict[str, int] | None = None) -> dict[str, Any]:
    return {
        "physicalLocation": {
            "artifactLocation": {"uri": file, "uriBaseId": "SRCROOT"},
            "region": region or {"startLine": max(1, line)},
        }
    }


def _mutant_result(
    mutant: MutantRecord, owner: str, sources: dict[str, str], *, weak: bool = False
) -> dict[str, Any]:
    what = "is a weak spot" if weak else "survived"
    changed = span(sources.get(mutant.file, ""), mutant.diff)
    region = None
    if changed is not None:
        region = {
            "startLine": changed.start_line,
            "startColumn": changed.start_column,
            "endLine": changed.end_line,
            "endColumn": changed.end_column,
        }
    return {
        "ruleId": "weak-spot" if weak else "surviving-mutant",
        "level": "note" if weak else "warning",
        "message": {
            "text": f"{mutant.id} ({mutant.family}: {mutant.operator}) {what} [{owner}]\n{mutant.diff}"
        },
        "locations": [_location(mutant.file, mutant.line, region)],
        "partialFingerprints": {"mutantId": mutant.id},
    }


def _claim_location(claim: ClaimResult) -> list[dict[str, Any]]:
    """The first line of the claim's fix, or none when the fix is the whole diff."""
    first = claim.fix[0] if claim.fix else ""
    file, _, rng = first.partition(":")
    line = int(rng.split("-")[0]) if rng else 1
    return [_location(file, line)] if file else []


def _claim_result(claim: ClaimResult) -> dict[str, Any]:
    result: dict[str, Any] = {
        "ruleId": "claim-unverified",
        "level": LEVEL.get(claim.verdict, "warning"),
        "message": {"text": f"{claim.claim_id}: {claim.verdict.value}: {claim.reason}"},
        "partialFingerprints": {"claimId": claim.claim_id},
    }
    locations = _claim_location(claim)
    if locations:
        result["locations"] = locations
    return result


def _finding_results(claim: ClaimResult) -> list[dict[str, Any]]:
    results: list[dict[str, Any]] = []
    locations = _claim_location(claim)
    for finding in claim.findings:
        result: dict[str, Any] = {
            "ruleId": "check-finding",
            "level": "note",
            "message": {
                "text": f"{claim.claim_id} ({finding.side}, {claim.verdict.value}): {finding.text}"
            },
            # The text, not the side: the same finding on another run is the same alert.
            "partialFingerprints": {
                "claimId": claim.claim_id,
                "findingHash": hashlib.sha256(finding.text.encode()).hexdigest()[:16],
            },
        }
        if locations:
            result["locations"] = locations
        results.append(result)
    return results


def _finding_location(finding: FindingOutcome) -> list[dict[str, Any]]:
    """The matched hunk's start (a repo path), else the review's file:line as it gives it."""
    if finding.hunk:
        file, _, lines = finding.hunk.rpartition(":")
        return [_location(file, int(lines.split("-")[0]))]
    if finding.file:
        return [_location(finding.file.strip().removeprefix("./"), finding.line or 1)]
    return []


def _finding_result(finding: FindingOutcome) -> dict[str, Any] | None:
    if finding.flagged:
        rule, level, what = "finding-marked-fixed", "error", f"{FLAGGED}: {finding.state.value}"
    elif finding.state is FindingState.UNPROVEN:
        rule, level, what = "finding-unproven", "warning", finding.state.value
    elif finding.state is FindingState.NO_FIX:
        rule, level, what = "finding-not-fixed", "note", finding.state.value
    else:
        return None
    key = f"{finding.title}\0{finding_where(finding)}"
    result: dict[str, Any] = {
        "ruleId": rule,
        "level": level,
        "message": {"text": f"{finding.title} ({finding.severity}): {what}"},
        "partialFingerprints": {"findingHash": hashlib.sha256(key.encode()).hexdigest()[:16]},
    }
    locations = _finding_location(finding)
    if locations:
        result["locations"] = locations
    return result


def _pr_results(run: RunResult, pr: PrEvidence) -> list[dict[str, Any]]:
    results = [r for r in map(_finding_result, run.findings) if r is not None]
    for hunk in pr.unproven:
        results.append(
            {
                "ruleId": "unproven-hunk",
                "level": "warning",
                "message": {
                    "text": f"{hunk}: {hunk.why or 'no F2P test executes this change'}\n{hunk.diff}"
                },
                "locations": [_location(hunk.file, hunk.start)],
                "partialFingerprints": {"hunk": str(hunk)},
            }
        )
    for test in pr.of(TestClass.P2F):
        results.append(
            {
                "ruleId": "regression",
                "level": "error",
                "message": {"text": f"{test.nodeid} passes on the base and fails on the head"},
                "locations": [_location(test.nodeid.split("::")[0], 1)],
                "partialFingerprints": {"test": test.nodeid},
            }
        )
    return results


def _rule(rule: str, text: str) -> dict[str, Any]:
    help_text, level, tags = HELP[rule]
    return {
        "id": rule,
        "name": "".join(part.title() for part in rule.split("-")),
        "shortDescription": {"text": text},
        "fullDescription": {"text": text},
        "help": {"text": help_text, "markdown": help_text},
        "defaultConfiguration": {"level": level},
        "properties": {"tags": ["fixguard", *tags]},
    }


def render_sarif(run: RunResult) -> str:
    results: list[dict[str, Any]] = []
    for claim in run.claims:
        owner = f"claim {claim.claim_id}"
        results.extend(_mutant_result(m, owner, run.sources, weak=True) for m in claim.weak_spots)
        results.extend(_finding_results(claim))
        if claim.verdict is Verdict.VERIFIED or claim.excused:
            continue
        results.append(_claim_result(claim))
        gaps = claim.gaps if claim.gaps else [m for m in claim.survivors if not m.weak_spot]
        results.extend(_mutant_result(m, owner, run.sources) for m in gaps)
    results.extend(
        _mutant_result(m, "changed lines", run.sources)
        for m in run.diff_mutants
        if m.status.value == "survived"
    )
    rules = dict(RULES)
    if run.pr is not None:
        results.extend(_pr_results(run, run.pr))
        rules.update(PR_RULES)
    doc = {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "fixguard",
                        "version": __version__,
                        "informationUri": INFORMATION_URI,
                        "rules": [_rule(rule, text) for rule, text in rules.items()],
                    }
                },
                "originalUriBaseIds": {"SRCROOT": {"uri": "file://" + run.repo.rstrip("/") + "/"}},
                "results": results,
            }
        ],
    }
    return json.dumps(doc, indent=2) + "\n"
