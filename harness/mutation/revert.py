"""Hunk-revert mutants: put the base's version of one hunk of the fix back.

The most direct "fix revert": if a hunk's revert survives every test, that hunk is not guarded,
by definition. A hunk that only added lines is reverted by deleting them; one that only removed
lines, by putting them back. A revert that does not compile (a hunk that needs another hunk) is
skipped and counted as invalid.
"""

from __future__ import annotations

from collections.abc import Iterator

from .families import Family
from .mutant import Mutant, changed_lines, mutant_id, unified_diff
from .scope import Hunk

OPERATOR = "hunk-revert"
SKIP_INVALID_REVERT = "invalid: hunk revert does not compile"


def reverted_source(source: str, hunk: Hunk) -> str:
    """`source` (the head's text) with `hunk` put back to the base's lines."""
    lines = source.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    restored = [line + "\n" for line in hunk.base_lines]
    if hunk.count:
        start = hunk.start - 1
        return "".join(lines[:start] + restored + lines[start + hunk.count :])
    return "".join(lines[: hunk.start] + restored + lines[hunk.start :])


def hunk_reverts(path: str, source: str, hunks: tuple[Hunk, ...]) -> Iterator[Mutant | str]:
    """One mutant per hunk; a hunk whose revert does not compile yields the skip reason."""
    original = source.splitlines()
    for hunk in hunks:
        mutated = reverted_source(source, hunk)
        if mutated == source or mutated.rstrip("\n") == source.rstrip("\n"):
            continue
        try:
            compile(mutated, path, "exec", dont_inherit=True)
        except (SyntaxError, ValueError):
            yield SKIP_INVALID_REVERT
            continue
        if hunk.count:
            lines = tuple(hunk.head_lines)
            reach = lines
        else:
            at = max(hunk.start, 1)
            lines = (at,)
            reach = (at, hunk.start + 1)
        touched = changed_lines(original, mutated.splitlines()) or list(lines)
        yield Mutant(
            id=mutant_id(path, OPERATOR, mutated),
            family=Family.HUNK_REVERT,
            operator=OPERATOR,
            file=path,
            line=lines[0],
            lines=tuple(sorted(set(lines) | set(touched))),
            reach=tuple(sorted(set(reach))),
            diff=unified_diff(path, source, mutated),
            source=mutated,
            reverting=True,
        )
