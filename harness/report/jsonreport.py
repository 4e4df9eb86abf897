"""results.json: the versioned machine-readable record; mutants follow mutation-testing-elements."""

from __future__ import annotations

import json
from typing import Any

from .. import __version__
from ..errors import UserError
from ..outcomes import MutantStatus
from ..verify.results import SCHEMA_VERSION, MutantRecord, RunResult, run_from_jsonable, to_jsonable

#: mutation-testing-elements statuses (schema v2).
MTE_STATUS = {
    MutantStatus.KILLED: "Killed",
    MutantStatus.TIMEOUT: "Timeout",
    MutantStatus.SURVIVED: "Survived",
    MutantStatus.NO_COVERAGE: "NoCoverage",
    MutantStatus.INVALID: "CompileError",
    MutantStatus.SKIPPED: "Ignored",
    MutantStatus.PENDING: "Pending",
}


def _mte_mutant(mutant: MutantRecord, source: str) -> dict[str, Any]:
    lines = source.splitlines()
    text = lines[mutant.line - 1] if 0 < mutant.line <= len(lines) else ""
    entry: dict[str, Any] = {
        "id": mutant.id,
        "mutatorName": f"{mutant.family}/{mutant.operator}",
        "replacement": mutant.replacement or mutant.diff,
        "location": {
            "start": {"line": mutant.line, "column": mutant.column + 1},
            "end": {"line": mutant.line, "column": max(len(text), mutant.column) + 1},
        },
        "status": MTE_STATUS[mutant.status],
        "duration": round(mutant.duration * 1000),
        "testsCompleted": mutant.runs,
        "statusReason": f"killed in {mutant.kills} of {mutant.runs} runs" if mutant.runs else "",
    }
    if mutant.killing_test:
        entry["killedBy"] = [mutant.killing_test]
    return entry


def mutation_report(run: RunResult) -> dict[str, Any]:
    files: dict[str, dict[str, Any]] = {}
    all_mutants = [m for c in run.claims for m in c.mutants] + list(run.diff_mutants)
    seen: set[str] = set()
    for mutant in all_mutants:
        if mutant.id in seen:
            continue
        seen.add(mutant.id)
        source = run.sources.get(mutant.file, "")
        entry = files.setdefault(
            mutant.file, {"language": "python", "source": source, "mutants": []}
        )
        entry["mutants"].append(_mte_mutant(mutant, source))
    return {
        "schemaVersion": "2",
        "thresholds": {"high": 100, "low": 80},
        "projectRoot": run.repo,
        "framework": {"name": "fixguard", "version": __version__},
        "files": files,
    }


def _run_doc(run: RunResult) -> dict[str, Any]:
    """The run's fields, plus each claim's findings gathered from its runs (each run keeps its
    own `findings` too) and whether each review finding is flagged; the loader drops the
    derived values and rebuilds them."""
    doc: dict[str, Any] = to_jsonable(run)
    for claim, entry in zip(run.claims, doc["claims"], strict=True):
        entry["findings"] = [to_jsonable(f) for f in claim.findings]
    if run.pr is None and not run.findings:
        # A manifest run's results.json stays as it was before PR mode.
        del doc["pr"], doc["findings"]
    for finding, entry in zip(run.findings, doc.get("findings", []), strict=True):
        entry["flagged"] = finding.flagged
    return doc


def render_json(run: RunResult) -> str:
    doc = {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "fixguard", "version": __version__},
        "run": _run_doc(run),
        "verdicts": {c.claim_id: c.verdict.value for c in run.claims},
        "mutationReport": mutation_report(run),
    }
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def load_json(text: str, *, where: str) -> RunResult:
    """Read results.json back (for `harness report`); a wrong file is a UserError."""
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UserError(f"not JSON: {exc.msg} at line {exc.lineno}", where=where) from None
    version = doc.get("schema_version") if isinstance(doc, dict) else None
    if version != SCHEMA_VERSION:
        raise UserError(
            f"schema_version={version!r}: expected {SCHEMA_VERSION}; is this a Fixguard results.json?",
            where=where,
        )
    try:
        return run_from_jsonable(doc["run"])
    except (KeyError, TypeError, ValueError) as exc:
        raise UserError(f"results.json is incomplete or damaged: {exc}", where=where) from None
