"""Owns the reports directory: writes every format for a run, or re-renders from results.json."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

from ..errors import UserError
from ..verify.results import RunResult
from .html import render_html
from .jsonreport import load_json, render_json
from .junit import render_junit
from .sarif import render_sarif
from .stryker import render_mutation
from .summary import render_summary

FORMATS: dict[str, tuple[str, Callable[[RunResult], str]]] = {
    "md": ("summary.md", render_summary),
    "json": ("results.json", render_json),
    "mutation": ("mutation.json", render_mutation),
    "junit": ("junit.xml", render_junit),
    "sarif": ("results.sarif", render_sarif),
    "html": ("index.html", render_html),
}


def write_reports(
    run: RunResult, out: Path, formats: Iterable[str] | None = None
) -> dict[str, Path]:
    """Write the chosen formats (all by default) into `out`; return format -> path."""
    chosen = list(formats or FORMATS)
    unknown = [f for f in chosen if f not in FORMATS]
    if unknown:
        raise UserError(f"--format={unknown[0]!r} is not one of {', '.join(FORMATS)}")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"--out={str(out)!r} cannot be created: {exc.strerror}") from None
    written: dict[str, Path] = {}
    for fmt in chosen:
        name, render = FORMATS[fmt]
        path = out / name
        path.write_text(render(run), encoding="utf-8")
        written[fmt] = path
    return written


def read_results(path: Path) -> RunResult:
    if path.is_dir():
        path = path / "results.json"
    if not path.is_file():
        raise UserError(
            f"results={str(path)!r} does not exist", hint="pass a results.json or its run dir"
        )
    return load_json(path.read_text(encoding="utf-8"), where=str(path))
