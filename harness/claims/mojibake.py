"""Undo double-encoded UTF-8 ("ðŸ”´", "‚úÖ") in review documents.

Reviews pasted through a tool that read UTF-8 as Windows-1252 or Mac Roman arrive with every
emoji and non-Latin letter turned into two to four wrong characters. Only ASCII is safe, so each
run of non-ASCII characters is re-encoded with the codec that explains most runs in the document
and decoded as UTF-8 again. Text that was not mangled does not survive that round trip and stays
as it is.
"""

from __future__ import annotations

import re

CODECS = ("cp1252", "mac_roman")
_RUN = re.compile(r"[^\x00-\x7f]+")
# Lead bytes each followed by continuation bytes: UTF-8 with a few bytes lost (Windows-1252
# has no character for 0x81, 0x8d, 0x8f, 0x90 and 0x9d, so tools drop them).
_TRUNCATED_UTF8 = re.compile(rb"(?:[\xc2-\xf4][\x80-\xbf]+)+")


def _round_trip(run: str, codec: str) -> str | None:
    try:
        return run.encode(codec).decode("utf-8")
    except UnicodeError:
        return None


def _repair_run(run: str, codec: str) -> str:
    fixed = _round_trip(run, codec)
    if fixed is not None:
        return fixed
    try:
        raw = run.encode(codec)
    except UnicodeError:
        return run
    # A lone 'é' is a real letter; only multi-character runs shaped like UTF-8 are mojibake.
    if len(run) >= 2 and _TRUNCATED_UTF8.fullmatch(raw):
        return raw.decode("utf-8", errors="replace")
    return run


def repair_mojibake(text: str) -> str:
    """`text` with double-encoded runs decoded; line breaks and ASCII are never changed."""
    runs = _RUN.findall(text)
    if not runs:
        return text
    scores = {codec: sum(_round_trip(run, codec) is not None for run in runs) for codec in CODECS}
    codec = max(CODECS, key=lambda c: scores[c])
    if not scores[codec]:
        return text
    return _RUN.sub(lambda m: _repair_run(m.group(), codec), text)
