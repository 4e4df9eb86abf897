"""The `--json` report: every mutant with its id, family, operator, place, diff, status and k/n."""

from __future__ import annotations

import json
from pathlib import Path

from .options import MutationResult

JSON_VERSION = 1


def to_json(result: MutationResult) -> dict[str, object]:
    return {
        "version": JSON_VERSION,
        "rev": result.scope.rev,
        "base": result.scope.base,
        "scope": {f.path: sorted(f.lines) for f in result.scope.files},
        "no_mutants": result.no_mutants,
        "baseline_duration": round(result.baseline_duration, 3),
        "coverage_engine": result.coverage_engine,
        "skipped": dict(sorted(result.skipped.items())),
        "mutants": [m.to_json() for m in result.mutants],
    }


def write_json(result: MutationResult, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(to_json(result), indent=2) + "\n", encoding="utf-8")
    tmp.replace(path)
