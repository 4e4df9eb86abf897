"""PR mode with a review: each finding of the review matched to what the pull request proves.

A finding with a file:line is matched to the hunk of the PR that covers its line, else to the
nearest one within `slack` lines; the hunk's auto-claim gives the finding its verdict. A line in
a hunk no F2P test executes is UNPROVEN, a line no hunk comes near is NO_FIX, and a finding with
no file is UNLOCATED. A finding that names a file but no line takes any hunk in that file.

Reviews name files loosely ("publisher.py", "./app/x.py", a path from a sub-folder), so paths
match when one is a suffix of the other on whole path components.

Pure: no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from ..claims.draft import DraftClaim
from .prmode import FindingOutcome, FindingState, PrEvidence, PrHunk

#: Lines between a finding and a hunk that still count as the same place: a review's line is
#: often the statement just above or below the changed one (the call, its guard, a decorator).
DEFAULT_SLACK = 3

#: Marks that say "fixed" in a review's status or a PR description (compared case-folded).
FIXED_EMOJI = ("✅", "✔", "☑")
FIXED_WORDS = frozenset(
    {"fixed", "fixes", "resolved", "resolves", "done", "addressed", "closed", "closes"}
)
#: Russian word stems: "исправлено", "исправлен", "решено", "решён", "устранено".
FIXED_STEMS = ("исправлен", "исправил", "решен", "решён", "устранен", "устранён", "сделано")
#: Words that undo a fixed marker anywhere in the text ("⚠️ Partially addressed").
NEGATIONS = frozenset(
    {"unfixed", "unresolved", "partially", "partial", "wontfix", "todo", "pending", "частично"}
)
#: Words that undo a fixed marker a few words after them ("not fixed", "not yet resolved",
#: "не исправлено"), but not elsewhere ("✅ fixed: no file handle left open").
NEGATORS = frozenset({"not", "no", "never", "не", "нет"})
NEGATOR_REACH = 3
NEGATIVE_EMOJI = ("❌", "⚠", "🚧", "⏳")
#: Title words too common to identify a finding in a description line.
STOPWORDS = frozenset(
    "a an and are as at be by for from in into is it its of on or the to with without "
    "when not no fix fixed missing add added use".split()
)
_WORD = re.compile(r"\w+")
_LOCATION = re.compile(r"([\w./\\-]+):(\d+)")


def _components(path: str) -> tuple[str, ...]:
    """A path as its components: backslashes, `./`, a leading `/` and empty parts dropped."""
    parts = path.strip().strip("`").replace("\\", "/").split("/")
    return tuple(p for p in parts if p not in ("", "."))


def shared_suffix(review_path: str, repo_path: str) -> int:
    """How many trailing components two paths share when one ends with the whole other, else 0.

    `publisher.py` and `./shop/publisher.py` share 1; `app/x.py` and `backend/app/x.py` share 2;
    `x.py` and `ax.py` share none (whole components only).
    """
    a, b = _components(review_path), _components(repo_path)
    if not a or not b:
        return 0
    short = min(len(a), len(b))
    return short if a[-short:] == b[-short:] else 0


def is_fixed_status(text: str | None) -> bool:
    """True when a status says fixed ("✅ Fixed", "Resolved", "исправлено"), and not "Not fixed",
    "⚠️ Partially addressed" or "❌"."""
    if not text:
        return False
    folded = text.casefold()
    words = _WORD.findall(folded)
    if any(mark in folded for mark in NEGATIVE_EMOJI) or NEGATIONS.intersection(words):
        return False
    markers = [i for i, w in enumerate(words) if w in FIXED_WORDS or w.startswith(FIXED_STEMS)]
    if any(NEGATORS.intersection(words[max(0, i - NEGATOR_REACH) : i]) for i in markers):
        return False
    return bool(markers) or any(mark in folded for mark in FIXED_EMOJI)


def _title_words(title: str) -> set[str]:
    return {w for w in _WORD.findall(title.casefold()) if len(w) > 2 and w not in STOPWORDS}


def _names_title(line: str, title: str) -> bool:
    """The line names at least two of the title's telling words (one if it has one), and at
    least 40% of them: descriptions are terser than review titles ("✅ fixed datetime import"
    for "Missing datetime import causes runtime error")."""
    wanted = _title_words(title)
    if not wanted:
        return False
    hits = len(wanted & set(_WORD.findall(line.casefold())))
    return hits >= min(2, len(wanted)) and 5 * hits >= 2 * len(wanted)


def _names_location(line: str, draft: DraftClaim) -> bool:
    if not draft.file or not draft.line:
        return False
    last = draft.end_line or draft.line
    return any(
        shared_suffix(path, draft.file) and draft.line <= int(number) <= last
        for path, number in _LOCATION.findall(line)
    )


def described_fixed(draft: DraftClaim, description: str) -> bool:
    """A line of the PR description marks this finding fixed: a fixed marker, no negation, and
    the finding's title words or its file:line."""
    return any(
        is_fixed_status(line) and (_names_location(line, draft) or _names_title(line, draft.title))
        for line in description.splitlines()
    )


@dataclass(frozen=True)
class _Candidate:
    hunk: PrHunk
    claim_id: str | None  # None: an unproven hunk
    distance: int
    suffix: int

    def rank(self) -> tuple[int, int, int]:
        # Covering before neighbouring, then nearest, then the closer path, then proven.
        return (self.distance, -self.suffix, 0 if self.claim_id else 1)


def _hunks(evidence: PrEvidence) -> list[tuple[PrHunk, str | None]]:
    out: list[tuple[PrHunk, str | None]] = [
        (hunk, claim.id) for claim in evidence.auto_claims for hunk in claim.hunks
    ]
    out += [(hunk, None) for hunk in evidence.unproven]
    return out


def _gap(hunk: PrHunk, first: int, last: int) -> int:
    """Lines between the finding's range and the hunk; 0 when they overlap."""
    return max(0, hunk.start - last, first - hunk.end)


def _best(
    draft: DraftClaim, hunks: list[tuple[PrHunk, str | None]], slack: int
) -> _Candidate | None:
    candidates: list[_Candidate] = []
    for path in (draft.file, *draft.more_files):
        if not path:
            continue
        # Only the first file carries the review's line; further files match as a whole.
        line = draft.line if path == draft.file else None
        for hunk, claim_id in hunks:
            suffix = shared_suffix(path, hunk.file)
            if not suffix:
                continue
            distance = 0 if line is None else _gap(hunk, line, max(line, draft.end_line or 0))
            if distance <= slack:
                candidates.append(_Candidate(hunk, claim_id, distance, suffix))
        if candidates:
            break
    return min(candidates, key=_Candidate.rank) if candidates else None


def match_finding(
    draft: DraftClaim,
    evidence: PrEvidence,
    *,
    description: str = "",
    slack: int = DEFAULT_SLACK,
) -> FindingOutcome:
    """One finding's outcome (see `match_findings`)."""
    claimed = is_fixed_status(draft.reported_status) or described_fixed(draft, description)
    best = _best(draft, _hunks(evidence), slack) if draft.file else None
    if not draft.file:
        state = FindingState.UNLOCATED
    elif best is None and _changed_unjudged(draft.file, evidence):
        state = FindingState.UNJUDGED
    elif best is None:
        state = FindingState.NO_FIX
    else:
        state = FindingState.JUDGED if best.claim_id else FindingState.UNPROVEN
    return FindingOutcome(
        title=draft.title,
        severity=draft.severity,
        file=draft.file,
        line=draft.line,
        state=state,
        claim_id=best.claim_id if best else None,
        claimed_fixed=claimed,
        source=draft.source,
        hunk=str(best.hunk) if best else "",
    )


def _changed_unjudged(path: str, evidence: PrEvidence) -> bool:
    """Whether the PR changed `path` where no hunk can judge it: a test file it adds or
    changes, or a file outside Python (a review that says "fixed" there is not contradicted)."""
    tests = {t.nodeid.split("::", 1)[0] for t in evidence.tests}
    return any(shared_suffix(path, changed) for changed in [*evidence.unjudged, *tests])


def match_findings(
    drafts: Sequence[DraftClaim],
    evidence: PrEvidence,
    *,
    description: str = "",
    slack: int = DEFAULT_SLACK,
) -> list[FindingOutcome]:
    """Each review finding, in the review's order, matched to the PR's hunks.

    `description` is the PR's own account of itself (its commit messages, or a description
    file): a line there with a fixed marker that names a finding's title or file:line counts as
    claiming that finding fixed, as a "✅ Fixed" status in the review does.
    """
    return [match_finding(d, evidence, description=description, slack=slack) for d in drafts]
