"""Draft claims from a code review written in markdown, in the shapes real teams write.

The document is read as markdown-it tokens, so fenced code never counts as headings or fields
and escaped pipes stay inside their table cell. Four shapes give findings:

* tables with an Issue (or Title) column and a File column: `| # | Issue | File | Line | Status |`;
* a heading followed by a field line, `**Location**: path:line` or `**File:** path:line`, with
  optional `**Severity:**`, `**Status:**` and `**Line:**` fields;
* numbered headings ("### 3. Race in `cart.py`") in a severity section, whose file is a code
  span in the heading or in the body;
* list items with a `path:line` code span in a severity section ("- Silent failure in
  `handlers.py:119`").

Severity comes from a Severity field or column, else from the nearest enclosing heading that
names one (a word such as Critical/High/Minor, P0-P2, or a red/orange/yellow circle emoji).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field

from markdown_it import MarkdownIt
from markdown_it.token import Token

from .classify import guess_class
from .draft import SEVERITY_HEADINGS, DraftClaim, slug, unique_ids
from .mojibake import repair_mojibake

TITLE_COLUMNS = ("issue", "finding", "title", "problem", "description")
FILE_COLUMNS = ("file", "location", "path")
LINE_COLUMNS = ("line", "lines")
STATUS_COLUMNS = ("status", "state")
SEVERITY_COLUMNS = ("severity", "priority")
DEFAULT_SEVERITY = "major"

#: Field names as reviews write them (English and Russian, as in the seeds), by meaning.
FIELD_KEYS = {
    **dict.fromkeys(("file", "files", "location", "path", "where", "файл", "путь"), "file"),
    **dict.fromkeys(("severity", "priority", "серьезность", "критичность"), "severity"),
    **dict.fromkeys(("status", "state", "статус"), "status"),
    **dict.fromkeys(("line", "lines", "строка", "строки"), "line"),
}
SEVERITY_EMOJI = {
    "🔴": "critical",
    ":red_circle:": "critical",
    "🟠": "major",
    ":orange_circle:": "major",
    "🟡": "minor",
    ":yellow_circle:": "minor",
}
PRIORITY_LEVELS = {"0": "critical", "1": "major", "2": "minor"}
STATUS_EMOJI = ("✅", "✔️", "✔", "☑️", "❌", "⚠️", "🚧", "⏳")
#: Extensions that make a bare code span (`cart.py`) a file rather than an identifier.
SOURCE_EXTENSIONS = frozenset(
    "py pyi ipynb js jsx mjs cjs ts tsx vue svelte go rs java kt scala rb php c h cc cpp hpp cs "
    "swift m sh bash zsh ps1 sql html htm css scss sass less json yml yaml toml ini cfg conf "
    "env xml md rst txt lock gradle tf proto graphql dockerfile".split()
)

_NUMBERED = re.compile(
    r"^(?:(?:issue|bug|finding|problem)\s+)?(?:#\d+[.):]?|\d+(?:\.\d+)*[.):]|\d+(?:\.\d+)+)\s*",
    re.IGNORECASE,
)
_FIELD = re.compile(r"^\s*(?P<key>[^\W\d_][\w ]{0,24}?)\s*:\s*(?P<value>.*)$")
_LOCATION = re.compile(
    r"^(?P<path>[^\s:`'\"()<>]+?)"
    r"(?:(?::|#L)(?P<line>[0-9]{1,9})(?:\s*[-–]\s*L?(?P<end>[0-9]{1,9}))?(?:,\s*[0-9]{1,9})*)?"
    r"[:,.;]?$"
)
_LINE_WORDS = re.compile(r"\blines?\s+([0-9]{1,9})(?:\s*[-–]\s*([0-9]{1,9}))?", re.IGNORECASE)
_CHECKBOX = re.compile(r"^\[[ xX]\]\s*")


@dataclass(frozen=True)
class Location:
    file: str
    line: int | None = None
    end: int | None = None


@dataclass
class _Inline:
    """One inline token read as lines of plain text, each with its code spans."""

    lines: list[tuple[str, list[str]]]
    raw: str
    row: int

    @property
    def text(self) -> str:
        return " ".join(text.strip() for text, _ in self.lines).strip()

    @property
    def code(self) -> list[str]:
        return [span for _, spans in self.lines for span in spans]


def _read_inline(token: Token) -> _Inline:
    lines: list[tuple[str, list[str]]] = [("", [])]
    for child in token.children or []:
        text, spans = lines[-1]
        if child.type in ("softbreak", "hardbreak"):
            lines.append(("", []))
        elif child.type == "text":
            lines[-1] = (text + child.content, spans)
        elif child.type == "code_inline":
            lines[-1] = (text + child.content, [*spans, child.content])
    return _Inline(lines=lines, raw=token.content, row=token.map[0] if token.map else 0)


def _severity_words(text: str) -> str | None:
    lowered = text.lower()
    for key, value in SEVERITY_HEADINGS.items():
        if re.search(rf"\b{key}(?:e?s)?\b", lowered):
            return value
    return None


def _severity_badge(text: str) -> str | None:
    """Severity from conventions that do not read as prose: P0-P2 and coloured circles."""
    priority = re.search(r"\bP([0-2])\b", text)
    if priority:
        return PRIORITY_LEVELS[priority.group(1)]
    for emoji, value in SEVERITY_EMOJI.items():
        if emoji in text:
            return value
    return None


def severity_of(text: str) -> str | None:
    """The severity a heading, field or cell names, in the SEVERITY_HEADINGS vocabulary."""
    return _severity_words(text) or _severity_badge(text)


def _is_path(text: str) -> bool:
    if not text or "://" in text or (text.startswith(("-", ".")) and "/" not in text):
        return False
    if "/" in text:
        return bool(re.search(r"[\w-]\.?\w*$", text.rsplit("/", 1)[-1]))
    stem, dot, extension = text.rpartition(".")
    return bool(dot and stem and extension.lower() in SOURCE_EXTENSIONS)


def parse_location(text: str, *, loose: bool = False) -> Location | None:
    """`path`, `path:12`, `path:12-20`, `path:12,40`, `path#L12` or `path (line 12)`.

    `loose` accepts any dotted or slashed word (`Dockerfile.dev`), for a field that says it
    holds a file; otherwise the path needs a slash or a source extension, so `wave` or
    `logging.exception` in prose are not taken for files.
    """
    text = text.strip().strip("`").strip()
    if not text:
        return None
    head, _, rest = text.partition(" ")
    match = _LOCATION.match(head)
    if not match:
        return None
    path = match["path"]
    if not (_is_path(path) or (loose and re.search(r"\w[./]\w", path))):
        return None
    line = int(match["line"]) if match["line"] else None
    end = int(match["end"]) if match["end"] else None
    if line is None:
        words = _LINE_WORDS.search(rest)
        if words:
            line = int(words.group(1))
            end = int(words.group(2)) if words.group(2) else None
    if not line:  # 0 is no line: fix ranges are 1-based
        line = end = None
    if end is not None and line is not None and end <= line:
        end = None
    return Location(path, line, end)


def _clean_title(text: str) -> tuple[str, str | None, bool]:
    """(title, status emoji, numbered) from a heading or list item's plain text."""
    text = _strip_symbols(text)
    numbered = _NUMBERED.match(text)
    if numbered:
        text = text[numbered.end() :].strip()
    status = next((e for e in STATUS_EMOJI if text.startswith(e)), None)
    text = _strip_symbols(text)
    return text, status, bool(numbered)


def _strip_symbols(text: str) -> str:
    """Drop leading emoji, badges, checkboxes and bullets so the title starts with a word."""
    text = _CHECKBOX.sub("", text.strip())
    start = 0
    while start < len(text) and (
        (unicodedata.category(text[start])[0] in "SZPM" and text[start] not in "#([`'\"")
        or text[start] in "\ufe0f\u200d"
    ):
        start += 1
    return text[start:].strip()


@dataclass
class _Section:
    """The blocks under one heading, until the next heading: maybe a finding, maybe a group."""

    title: str
    row: int
    numbered: bool
    status_badge: str | None
    heading_locations: list[Location]
    context_severity: str | None
    fields: dict[str, tuple[str, list[str]]] = field(default_factory=dict)
    body_locations: list[Location] = field(default_factory=list)
    bullets: list[tuple[_Inline, Location]] = field(default_factory=list)
    has_body: bool = False
    has_table_findings: bool = False


class _Reader:
    def __init__(self, source_name: str) -> None:
        self.source_name = source_name
        self.drafts: list[DraftClaim] = []
        self.headings: list[tuple[int, str | None]] = []
        self.section: _Section | None = None

    def context_severity(self) -> str | None:
        return next((s for _, s in reversed(self.headings) if s), None)

    def read(self, tokens: Sequence[Token]) -> list[DraftClaim]:
        i = 0
        item_starts = False  # the next inline is the first paragraph of a list item
        while i < len(tokens):
            token = tokens[i]
            if token.type == "heading_open" and i + 1 < len(tokens):
                self.heading(int(token.tag[1:]), _read_inline(tokens[i + 1]))
                i += 3
                continue
            if token.type == "table_open":
                i = self.table(tokens, i)
                continue
            if token.type == "list_item_open":
                item_starts = True
            elif token.type == "inline":
                self.body(_read_inline(token), first_in_item=item_starts)
                item_starts = False
            i += 1
        self.close_section()
        return unique_ids(self.drafts)

    def heading(self, level: int, inline: _Inline) -> None:
        self.close_section()
        title, status, numbered = _clean_title(inline.text)
        # A numbered heading is usually a finding whose prose may say "high" or "low" in
        # passing; only a badge on it (P1, a red circle) sets the severity of what follows.
        own = _severity_badge(inline.text) if numbered else severity_of(inline.text)
        while self.headings and self.headings[-1][0] >= level:
            self.headings.pop()
        self.headings.append((level, own))
        locations = [loc for span in inline.code if (loc := parse_location(span))]
        self.section = _Section(
            title=title,
            row=inline.row,
            numbered=numbered,
            status_badge=status,
            heading_locations=locations,
            context_severity=self.context_severity(),
        )

    def body(self, inline: _Inline, *, first_in_item: bool) -> None:
        section = self.section
        if section is None:
            section = self.section = _Section("", inline.row, False, None, [], None)
        section.has_body = True
        for text, spans in inline.lines:
            found = _FIELD.match(text)
            kind = FIELD_KEYS.get(found["key"].strip().lower()) if found else None
            # "Files:" over a list names no file of its own; "Multiple services" still counts.
            if found and kind and found["value"].strip() and kind not in section.fields:
                section.fields[kind] = (found["value"].strip(), spans)
        locations = [loc for span in inline.code if (loc := parse_location(span))]
        section.body_locations.extend(locations)
        with_line = [loc for loc in locations if loc.line]
        if first_in_item and with_line:
            section.bullets.append((inline, with_line[0]))

    def close_section(self) -> None:
        section, self.section = self.section, None
        if section is None:
            return
        context = section.context_severity
        # A "Location:" that names no file is a finding only where the review lists findings
        # (a numbered heading, a severity section), not e.g. a deployment region in prose.
        has_file_field = "file" in section.fields and bool(
            section.numbered or context or self.field_location(section)
        )
        if has_file_field or (section.heading_locations and (section.numbered or context)):
            self.emit_heading(section, section.heading_locations or section.body_locations)
        elif context and section.bullets:
            for inline, location in section.bullets:
                self.emit_bullet(inline, location, context)
        elif section.numbered and context and section.has_body and not section.has_table_findings:
            self.emit_heading(section, section.body_locations)

    @staticmethod
    def field_location(section: _Section) -> Location | None:
        value, spans = section.fields["file"]
        named = [loc for span in spans if (loc := parse_location(span, loose=True))]
        return named[0] if named else parse_location(value, loose=True)

    def emit_heading(self, section: _Section, found: list[Location]) -> None:
        fields = section.fields
        locations = list(found)
        if "file" in fields:
            loc = self.field_location(section)
            locations = [loc] if loc else []  # "Multiple services": a finding with no file
        first = locations[0] if locations else None
        line, end = (first.line, first.end) if first else (None, None)
        if first and line is None and "line" in fields:
            numbers = re.match(r"\s*([0-9]{1,9})(?:\s*[-–]\s*([0-9]{1,9}))?", fields["line"][0])
            if numbers and int(numbers.group(1)):
                line = int(numbers.group(1))
                end = int(numbers.group(2)) if numbers.group(2) else None
        severity_field = severity_of(fields["severity"][0]) if "severity" in fields else None
        status = fields["status"][0] if "status" in fields else None
        if section.status_badge and not (status or "").startswith(section.status_badge):
            status = f"{section.status_badge} {status}" if status else section.status_badge
        title = section.title or (first.file if first else "finding")
        more = [loc.file for loc in locations[1:] if first and loc.file != first.file]
        self.drafts.append(
            DraftClaim(
                id=slug(title),
                title=title,
                severity=severity_field or section.context_severity or DEFAULT_SEVERITY,
                source=f"{self.source_name}:{section.row + 1}",
                file=first.file if first else None,
                line=line,
                reported_status=status or None,
                bug_class=guess_class(title, first.file if first else ""),
                end_line=end if line and end and end > line else None,
                more_files=tuple(dict.fromkeys(more)),
            )
        )

    def emit_bullet(self, inline: _Inline, location: Location, severity: str) -> None:
        title, status, _ = _clean_title(inline.lines[0][0])
        title = title or location.file
        self.drafts.append(
            DraftClaim(
                id=slug(title),
                title=title,
                severity=severity,
                source=f"{self.source_name}:{inline.row + 1}",
                file=location.file,
                line=location.line,
                reported_status=status,
                bug_class=guess_class(title, location.file),
                end_line=location.end,
            )
        )

    def table(self, tokens: Sequence[Token], start: int) -> int:
        """Read the table opening at `start`; returns the index after its end."""
        rows: list[tuple[int, list[_Inline]]] = []
        i = start
        while i < len(tokens) and tokens[i].type != "table_close":
            token = tokens[i]
            if token.type == "tr_open":
                rows.append((token.map[0] if token.map else 0, []))
            elif token.type == "inline" and rows:
                rows[-1][1].append(_read_inline(token))
            i += 1
        if rows:
            self.table_rows(rows[0][1], rows[1:])
        return i + 1

    def table_rows(
        self, header_cells: list[_Inline], rows: list[tuple[int, list[_Inline]]]
    ) -> None:
        header = [cell.text.lower() for cell in header_cells]

        def column(names: tuple[str, ...]) -> int | None:
            return next((header.index(n) for n in names if n in header), None)

        title_col, file_col = column(TITLE_COLUMNS), column(FILE_COLUMNS)
        if title_col is None or file_col is None:
            return
        line_col, status_col = column(LINE_COLUMNS), column(STATUS_COLUMNS)
        severity_col = column(SEVERITY_COLUMNS)
        context = self.context_severity()
        # markdown-it pads short rows and cuts long ones to the header's width, as GitHub
        # renders them, so every row the reader sees is a finding.
        for row, cells in rows:
            title = cells[title_col].text
            file_text = cells[file_col].text
            loose = parse_location(file_text, loose=True)
            file = loose.file if loose else file_text or None
            if file and file.lower() in ("null", "-", "–", "n/a", "none"):
                file = None
            line = loose.line if loose and file else None
            end = loose.end if loose and file else None
            if line_col is not None:
                raw_line = cells[line_col].text
                # ASCII digits only: str.isdigit() also accepts '²', which int() refuses.
                numbers = re.fullmatch(r"([0-9]{1,9})(?:\s*[-–]\s*([0-9]{1,9}))?", raw_line)
                if numbers and int(numbers.group(1)):
                    line = int(numbers.group(1))
                    end = int(numbers.group(2)) if numbers.group(2) else None
            # The cell as written ("✅ Fixed"); only the escape of a literal pipe is undone.
            status = (
                cells[status_col].raw.replace("\\|", "|").strip() if status_col is not None else ""
            )
            severity = severity_of(cells[severity_col].text) if severity_col is not None else None
            self.drafts.append(
                DraftClaim(
                    id=slug(title),
                    title=title,
                    severity=severity or context or DEFAULT_SEVERITY,
                    source=f"{self.source_name}:{row + 1}",
                    file=file,
                    line=line,
                    reported_status=status or None,
                    bug_class=guess_class(title, file or ""),
                    end_line=end if line and end and end > line else None,
                )
            )
            if self.section is not None:
                self.section.has_table_findings = True


def parse_markdown(text: str, source_name: str) -> list[DraftClaim]:
    """Every finding the review gives, in document order, as a draft claim."""
    text = repair_mojibake(text)
    tokens = MarkdownIt("commonmark").enable("table").parse(text)
    return _Reader(source_name).read(tokens)
