"""Which files a claim's runs perturb, their hot lines, and the `--harness-perturb` spec of a run.

A concurrency claim's tests (and any claim whose `perturb` asks for it) run under seeded
schedule perturbation of the fix's files (harness.perturb_plugin): the files its `fix` names,
or the non-test Python files the diff changes when it names none. The lines the fix changed are
**hot**: a thread stalls there, inside the window the fix closes, while the others run through
it. On the base they are the diff's old lines, on the head its new lines (or the claim's explicit
ranges), and on a mutant the head's, widened by MUTANT_MARGIN since a mutant moves a few lines.
Run i of a side, and of a mutant, uses seed i + 1, so a verify run is reproducible and each
failing run's seed replays it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..claims.model import FixRange
from ..git import git
from ..mutation.scope import HUNK_HEADER, scope_from_diff
from ..perturb_plugin import Spec, format_lines
from .workspace import claim_test_files

#: Lines a mutant's hot region reaches past the head's: a removed `with` line or a dedented
#: block moves the code a line or two.
MUTANT_MARGIN = 2
_HUNK = re.compile(HUNK_HEADER.pattern, re.M)  # every header of a whole diff text
#: Characters a spec cannot carry in a path (its field, file and range separators).
_UNWRITABLE = (",", ":", "@")


@dataclass(frozen=True)
class Targets:
    """The files a claim's runs perturb, with their hot lines per side."""

    files: tuple[str, ...] = ()
    base_hot: Mapping[str, frozenset[int]] = field(default_factory=dict)
    head_hot: Mapping[str, frozenset[int]] = field(default_factory=dict)

    def hot(self, side: str) -> Mapping[str, frozenset[int]]:
        if side == "base":
            return self.base_hot
        if side == "head":
            return self.head_hot
        return {
            path: frozenset(
                n for line in lines for n in range(line - MUTANT_MARGIN, line + MUTANT_MARGIN + 1)
            )
            for path, lines in self.head_hot.items()
        }

    def spec(self, mode: str | None, side: str, root: Path, seed: int | None) -> str | None:
        """The spec of one run in the checkout `root`, or None for a plain run (no mode, or
        none of the files is there: a file the fix adds does not exist on the base)."""
        if mode is None:
            return None
        hot = self.hot(side)
        entries = tuple(
            f"{path}@{format_lines(sorted(n for n in hot[path] if n > 0))}"
            if hot.get(path)
            else path
            for path in self.files
            if (root / path).is_file()
        )
        return Spec(mode, seed=seed, files=entries).render() if entries else None


def targets(
    repo: Path, base: str, head: str, fix: Sequence[FixRange], nodeids: Sequence[str]
) -> Targets:
    """The fix's Python files, minus the claim's own test files, and their hot lines.

    A path holding ',', ':' or '@' cannot be written in a spec and is left out (not perturbed).
    """
    if fix:
        files = sorted({f.file for f in fix})
    else:
        files = [f.path for f in scope_from_diff(repo, base, head).files]
    own = claim_test_files(nodeids)
    chosen = tuple(
        f
        for f in files
        if f.endswith(".py") and f not in own and not any(c in f for c in _UNWRITABLE)
    )
    base_hot: dict[str, frozenset[int]] = {}
    head_hot: dict[str, frozenset[int]] = {}
    for path in chosen:
        ranges = [(f.start, f.end or f.start) for f in fix if f.file == path and f.start]
        old, new = _changed_lines(repo, base, head, path, ranges)
        base_hot[path], head_hot[path] = old, new
    return Targets(chosen, base_hot, head_hot)


def _changed_lines(
    repo: Path, base: str, head: str, path: str, ranges: Sequence[tuple[int, int]]
) -> tuple[frozenset[int], frozenset[int]]:
    """(base lines, head lines) the diff changes in `path`, kept to the hunks that touch the
    claim's explicit head `ranges` when it names some; the ranges themselves are hot on the
    head. A pure insertion marks the base line before it, a pure deletion the head line after."""
    diff = git(repo, "diff", "-U0", "--no-color", "--no-renames", base, head, "--", path)
    old: set[int] = set()
    new: set[int] = set()
    for match in _HUNK.finditer(diff):
        a, b = int(match[1]), int(match[2] if match[2] is not None else 1)
        c, d = int(match[3]), int(match[4] if match[4] is not None else 1)
        head_span = range(c, c + d) if d else range(c, c + 1)
        if ranges and not any(lo <= n <= hi for lo, hi in ranges for n in head_span):
            continue
        old.update(range(a, a + b) if b else (max(a, 1),))
        new.update(head_span)
    for lo, hi in ranges:
        new.update(range(lo, hi + 1))
    return frozenset(old), frozenset(new)
