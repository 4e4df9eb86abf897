"""results.json: the versioned machine-readable record.

Its `mutationReport` is mutation.json's document (`stryker.mutation_report`), so a reader of one
file has both.
"""

from __future__ import annotations

import json
from typing import Any

from .. import __version__
from ..errors import UserError
from ..verify.results import SCHEMA_VERSION, RunResult, run_from_jsonable, to_jsonable
from .stryker import mutation_report


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
