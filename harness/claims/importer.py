"""Draft claims from a review's markdown tables or from a SARIF file (CodeQL and others)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import UserError
from .classify import guess_class

SEVERITY_HEADINGS = {
    "critical": "critical",
    "major": "major",
    "high": "major",
    "medium": "minor",
    "minor": "minor",
    "low": "minor",
    "nitpick": "nitpick",
}
SARIF_LEVELS = {"error": "critical", "warning": "major", "note": "minor", "none": "nitpick"}
TITLE_COLUMNS = ("issue", "finding", "title", "problem", "description")


@dataclass(frozen=True)
class DraftClaim:
    id: str
    title: str
    severity: str
    source: str
    file: str | None
    line: int | None
    reported_status: str | None
    bug_class: str | None


def slug(text: str, limit: int = 40) -> str:
    words = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    if len(words) > limit:
        words = words[:limit].rsplit("-", 1)[0]
    return words.rstrip("-") or "finding"


def _cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def _is_separator(line: str) -> bool:
    return bool(re.fullmatch(r"\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?", line.strip()))


def _strip_md(text: str) -> str:
    """Drop code ticks and bold markers; code spans are kept literally (`__init__.py`)."""
    text = text.strip()
    code = re.fullmatch(r"`([^`]*)`", text)
    if code:
        return code.group(1).strip()
    return re.sub(r"\*\*|`", "", text).strip()


def parse_markdown(text: str, source_name: str) -> list[DraftClaim]:
    """Every table row with an issue/title column and a file column becomes a draft claim."""
    lines = text.splitlines()
    drafts: list[DraftClaim] = []
    severity = "major"
    i = 0
    while i < len(lines):
        line = lines[i]
        heading = re.match(r"^#+\s*(.*)", line)
        if heading:
            words = heading.group(1).lower()
            for key, value in SEVERITY_HEADINGS.items():
                if re.search(rf"\b{key}", words):
                    severity = value
                    break
        if line.lstrip().startswith("|") and i + 1 < len(lines) and _is_separator(lines[i + 1]):
            header = [h.lower() for h in _cells(line)]
            title_col = next((header.index(c) for c in TITLE_COLUMNS if c in header), None)
            file_col = header.index("file") if "file" in header else None
            if title_col is not None and file_col is not None:
                line_col = header.index("line") if "line" in header else None
                status_col = header.index("status") if "status" in header else None
                j = i + 2
                while j < len(lines) and lines[j].lstrip().startswith("|"):
                    row = _cells(lines[j])
                    if len(row) == len(header):
                        drafts.append(
                            _draft_from_row(
                                row,
                                title_col,
                                file_col,
                                line_col,
                                status_col,
                                severity,
                                f"{source_name}:{j + 1}",
                            )
                        )
                    j += 1
                i = j
                continue
        i += 1
    return _unique(drafts)


def _draft_from_row(
    row: list[str],
    title_col: int,
    file_col: int,
    line_col: int | None,
    status_col: int | None,
    severity: str,
    source: str,
) -> DraftClaim:
    title = _strip_md(row[title_col])
    file = _strip_md(row[file_col]) or None
    raw_line = _strip_md(row[line_col]) if line_col is not None else ""
    # ASCII digits only: str.isdigit() also accepts '²', which int() refuses.
    number = int(raw_line) if re.fullmatch(r"[0-9]{1,9}", raw_line) else None
    status = row[status_col].strip() if status_col is not None else None
    return DraftClaim(
        id=slug(title),
        title=title,
        severity=severity,
        source=source,
        file=file if file and file.lower() not in ("null", "-", "–") else None,
        line=number,
        reported_status=status or None,
        bug_class=guess_class(title, file or ""),
    )


def _unique(drafts: list[DraftClaim]) -> list[DraftClaim]:
    seen: dict[str, int] = {}
    out = []
    for draft in drafts:
        count = seen.get(draft.id, 0)
        seen[draft.id] = count + 1
        if count:
            draft = DraftClaim(**{**draft.__dict__, "id": f"{draft.id}-{count + 1}"})
        out.append(draft)
    return out


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
    return _unique(drafts)


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
            "found no findings: expected markdown tables with 'Issue' and 'File' columns "
            "(| # | Issue | File | Line | Status |) or a SARIF file with results",
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
            fix = f"{d.file}:{d.line}" if d.line else d.file
            out.append(f"fix = [{_toml_str(fix)}]")
        if d.reported_status:
            out.append(f"reported_status = {_toml_str(d.reported_status)}")
        if d.bug_class:
            out.append(f"bug_class = {_toml_str(d.bug_class)}  # guessed: confirm")
        out.append("draft = true")
        out.append("")
    return "\n".join(out)
