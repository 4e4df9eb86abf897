"""Draft claims from a markdown review (see review.py) or a SARIF file (CodeQL and others)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..errors import UserError
from .classify import guess_class
from .draft import SEVERITY_HEADINGS, DraftClaim, slug, unique_ids
from .review import parse_markdown

SARIF_LEVELS = {"error": "critical", "warning": "major", "note": "minor", "none": "nitpick"}

__all__ = [
    "SARIF_LEVELS",
    "SEVERITY_HEADINGS",
    "DraftClaim",
    "import_findings",
    "parse_markdown",
    "parse_sarif",
    "slug",
    "to_toml",
]


def parse_sarif(text: str, source_name: str) -> list[DraftClaim]:
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UserError(f"not valid JSON: {exc.msg}", where=f"{source_name}:{exc.lineno}") from None
    except ValueError as exc:  # an integer past int()'s 4300-digit limit
        raise UserError(f"not valid JSON: {exc}", where=source_name) from None
    if not isinstance(doc, dict) or not isinstance(doc.get("runs"), list):
        raise UserError("not a SARIF file: no top-level 'runs' array", where=source_name)
    drafts: list[DraftClaim] = []
    for r, run in enumerate(doc["runs"]):
        results = _field(run, "results") or []
        if not isinstance(run, dict) or not isinstance(results, list):
            raise UserError(
                f"runs[{r}]={_short(run)}: not a SARIF run (an object with a 'results' array)",
                where=source_name,
            )
        rules = {rule["id"]: rule for rule in _rules(run) if isinstance(rule.get("id"), str)}
        for n, result in enumerate(results):
            if not isinstance(result, dict):
                raise UserError(
                    f"runs[{r}].results[{n}]={_short(result)}: not a SARIF result object",
                    where=source_name,
                )
            drafts.append(
                _draft_from_result(result, rules, f"{source_name}:runs[{r}].results[{n}]")
            )
    return unique_ids(drafts)


def _draft_from_result(
    result: dict[str, Any], rules: dict[str, dict[str, Any]], source: str
) -> DraftClaim:
    # Optional fields of the wrong shape count as absent: producers disagree about many of them.
    rule_id = str(result.get("ruleId") or "")
    message = str(_field(result.get("message"), "text") or rule_id or "finding")
    locations = result.get("locations")
    first = locations[0] if isinstance(locations, list) and locations else None
    location = _field(first, "physicalLocation")
    uri = _field(_field(location, "artifactLocation"), "uri")
    uri = uri if isinstance(uri, str) and uri.strip() else None
    start = _field(_field(location, "region"), "startLine")
    line = start if isinstance(start, int) and not isinstance(start, bool) and start > 0 else None
    rule = rules.get(rule_id, {})
    level = result.get("level") or _field(rule.get("defaultConfiguration"), "level")
    rule_name = str(_field(rule.get("shortDescription"), "text") or "")
    title = message.splitlines()[0][:120]
    return DraftClaim(
        id=slug(f"{rule_id.split('/')[-1]}-{uri or ''}-{line or ''}") if rule_id else slug(title),
        title=title,
        severity=SARIF_LEVELS.get(level, "major") if isinstance(level, str) else "major",
        source=source,
        file=uri,
        line=line,
        reported_status=None,
        bug_class=guess_class(rule_id, rule_name, message),
    )


def _field(node: Any, key: str) -> Any:
    """`node[key]` when `node` is a JSON object, else None."""
    return node.get(key) if isinstance(node, dict) else None


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _rules(run: dict[str, Any]) -> list[dict[str, Any]]:
    rules = _field(_field(run.get("tool"), "driver"), "rules")
    return [r for r in rules if isinstance(r, dict)] if isinstance(rules, list) else []


def import_findings(path: Path) -> list[DraftClaim]:
    if not path.is_file():
        raise UserError(f"REPORT={str(path)!r} does not exist")
    text = path.read_text(encoding="utf-8", errors="replace")
    if path.suffix.lower() in (".sarif", ".json") or text.lstrip().startswith("{"):
        drafts = parse_sarif(text, path.name)
    else:
        drafts = parse_markdown(text, path.name)
    if not drafts:
        raise UserError(
            "found no findings: expected a markdown review (tables with 'Issue' and 'File' "
            "columns, '**File:** path:line' fields under headings, numbered headings or "
            "'path:line' list items in a severity section) or a SARIF file with results",
            where=str(path),
        )
    return drafts


def _toml_str(value: str) -> str:
    # JSON's escapes are TOML's, except that TOML also forbids a raw DEL.
    return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")


def to_toml(drafts: list[DraftClaim]) -> str:
    """A manifest fragment: one [[claims]] per finding, marked draft until confirmed."""
    out = [
        "# Drafted by `harness claims import`. For each claim: confirm `bug_class` (a guess),",
        "# add `tests = [...]` or `scenario` + [claims.binding] + `target`, then delete `draft = true`.",
        "",
    ]
    for d in drafts:
        out.append("[[claims]]")
        out.append(f"id = {_toml_str(d.id)}")
        out.append(f"title = {_toml_str(d.title)}")
        out.append(f"severity = {_toml_str(d.severity)}")
        out.append(f"source = {_toml_str(d.source)}")
        if d.file:
            out.append(f"fix = [{', '.join(map(_toml_str, d.fix_locations()))}]")
        if d.reported_status:
            out.append(f"reported_status = {_toml_str(d.reported_status)}")
        if d.bug_class:
            out.append(f"bug_class = {_toml_str(d.bug_class)}  # guessed: confirm")
        out.append("draft = true")
        out.append("")
    return "\n".join(out)
