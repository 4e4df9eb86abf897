"""Guess a finding's bug class from its wording or rule id. Always a guess for a person to confirm."""

from __future__ import annotations

import re

#: (bug class = scenario pack, patterns). The first match wins, so specific classes come first.
RULES: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "path_traversal",
        (r"path[ -]?(traversal|injection)", r"directory traversal", r"tainted.?path", r"zip.?slip"),
    ),
    ("injection", (r"sql[ -]?injection", r"string interpolation.*(sql|query)", r"py/sql")),
    (
        "authz",
        (
            r"\brls\b",
            r"using \(true\)",
            r"security definer",
            r"grant(ed)? .*authenticated",
            r"unauthenticated",
            r"token.*query",
            r"missing auth",
        ),
    ),
    ("schema", (r"on conflict", r"unique constraint", r"migration")),
    (
        "error_paths",
        (r"missing .*import", r"not imported", r"nameerror", r"undefined name", r"py/undefined"),
    ),
    ("idempotency", (r"idempoten", r"duplicate (submission|request)")),
    ("replay", (r"nonce", r"replay", r"dedup")),
    ("lifecycle", (r"\bstart\(\)|\bstop\(\)", r"lifecycle", r"drain", r"restart")),
    ("races", (r"race", r"toctou", r"concurren", r"atomic", r"lock")),
    (
        "blocking",
        (
            r"sync(hronous)? db",
            r"block(s|ing)? (the )?event.?loop",
            r"time\.sleep",
            r"sync .* in async",
        ),
    ),
    (
        "leaks",
        (
            r"leak",
            r"not (properly )?closed",
            r"close\(\)",
            r"file handle",
            r"connection (pool|exhaustion)",
            r"aclose",
            r"create_task",
        ),
    ),
    (
        "resilience",
        (
            r"timeout",
            r"response check",
            r"status check",
            r"swallow",
            r"silent",
            r"bare except",
            r"retry",
        ),
    ),
    ("bounds", (r"pagination", r"rate limit", r"infinite loop", r"unbounded", r"max_.*attempts")),
    ("invariants", (r"fetch(es)? all", r"to count", r"currenc", r"invariant", r"bounds? check")),
    ("placeholders", (r"placeholder", r"\b501\b", r"notimplemented", r"discard", r"stub", r"mock")),
    ("files", (r"/tmp", r"tempfile", r"hot.?folder", r"still (being )?(written|uploading)")),
)

COMPILED = tuple((name, tuple(re.compile(p, re.IGNORECASE) for p in pats)) for name, pats in RULES)


def guess_class(*texts: str) -> str | None:
    """The scenario pack whose patterns match the text first, or None."""
    joined = " ".join(t for t in texts if t)
    for name, patterns in COMPILED:
        if any(p.search(joined) for p in patterns):
            return name
    return None
