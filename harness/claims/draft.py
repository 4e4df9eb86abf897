"""A drafted claim as the importers produce it, before a person confirms it."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

SEVERITY_HEADINGS = {
    "critical": "critical",
    "major": "major",
    "high": "major",
    "medium": "minor",
    "minor": "minor",
    "low": "minor",
    "nitpick": "nitpick",
}


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
    #: Last line of a range the review gives (`app.py:169-173`); None for a single line.
    end_line: int | None = None
    #: Further files the review names for the same finding ("5 files changed: ...").
    more_files: tuple[str, ...] = ()

    def fix_locations(self) -> list[str]:
        """The manifest's `fix` entries: 'file', 'file:line' or 'file:start-end'."""
        if not self.file:
            return []
        first = self.file
        if self.line:
            first += f":{self.line}"
            if self.end_line and self.end_line > self.line:
                first += f"-{self.end_line}"
        return [first, *self.more_files]


def slug(text: str, limit: int = 40) -> str:
    words = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    if len(words) > limit:
        words = words[:limit].rsplit("-", 1)[0]
    return words.rstrip("-") or "finding"


def unique_ids(drafts: list[DraftClaim]) -> list[DraftClaim]:
    """Suffix repeated ids (-2, -3, ...) so every claim in the manifest has its own."""
    seen: dict[str, int] = {}
    out = []
    for draft in drafts:
        count = seen.get(draft.id, 0)
        seen[draft.id] = count + 1
        if count:
            draft = replace(draft, id=f"{draft.id}-{count + 1}")
        out.append(draft)
    return out
