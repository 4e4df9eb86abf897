"""The fix lines to mutate: from `git diff -U0 base..head` or explicit `file:start-end` ranges.

A scope maps each non-test Python source file to two sets of head line numbers:

- `lines`: the fix lines. Every operator may put a mutant whose changed span overlaps them.
- `reindented`: lines whose only change is indentation, or that were merely moved (the body
  re-indented under a new `with lock:` or `try:`). They are *not* fix lines: generic operators
  never mutate them, and the fix-revert operator anchored on the new `with`/`try` line covers
  them. Computed from `git diff -w` plus a multiset match of added against removed lines.

Everything here is a pure function of git's output, except the two `scope_from_*` entry points.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from fnmatch import fnmatch
from pathlib import Path

from ..errors import UserError
from . import git

#: Paths (fnmatch, `*` crosses `/`) that hold tests rather than source; never mutated.
DEFAULT_TEST_GLOBS: tuple[str, ...] = (
    "tests/*",
    "test/*",
    "*/tests/*",
    "*/test/*",
    "test_*.py",
    "*/test_*.py",
    "*_test.py",
    "conftest.py",
    "*/conftest.py",
)

_HUNK = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")
_RANGE = re.compile(r"^(?P<file>.+?):(?P<start>\d+)(?:-(?P<end>\d+))?$")


@dataclass(frozen=True)
class FileScope:
    path: str
    lines: frozenset[int]
    reindented: frozenset[int] = frozenset()


@dataclass(frozen=True)
class Scope:
    """What `run_mutation` mutates: files at `rev`, each with its fix lines."""

    repo: Path
    rev: str
    files: tuple[FileScope, ...]
    base: str | None = None
    #: Changed paths left out of the scope, with the reason (test file, not Python, deleted).
    ignored: tuple[tuple[str, str], ...] = field(default=())

    @property
    def is_empty(self) -> bool:
        return not any(f.lines for f in self.files)

    def file(self, path: str) -> FileScope | None:
        for f in self.files:
            if f.path == path:
                return f
        return None

    def describe(self) -> str:
        parts = [f"{f.path}:{_compress(sorted(f.lines))}" for f in self.files if f.lines]
        return ", ".join(parts) if parts else "(empty)"


@dataclass
class _FileDiff:
    path: str
    added: dict[int, str] = field(default_factory=dict)
    removed: list[str] = field(default_factory=list)
    deleted: bool = False


def is_test_path(path: str, globs: Sequence[str] = DEFAULT_TEST_GLOBS) -> bool:
    return any(fnmatch(path, g) or (g.startswith("**/") and fnmatch(path, g[3:])) for g in globs)


def parse_unified_diff(text: str) -> list[_FileDiff]:
    """Parse `git diff -U0` output into added head lines (number → text) and removed texts."""
    files: list[_FileDiff] = []
    current: _FileDiff | None = None
    new_line = 0
    for raw in text.splitlines():
        if raw.startswith("diff --git "):
            current = None
            continue
        if raw.startswith("--- "):
            continue
        if raw.startswith("+++ "):
            target = raw[4:]
            if target == "/dev/null":
                current = _FileDiff(path="", deleted=True)
            else:
                current = _FileDiff(path=target[2:] if target.startswith("b/") else target)
            files.append(current)
            continue
        if current is None:
            continue
        m = _HUNK.match(raw)
        if m:
            new_line = int(m.group(3))
            continue
        if raw.startswith("+"):
            current.added[new_line] = raw[1:]
            new_line += 1
        elif raw.startswith("-"):
            current.removed.append(raw[1:])
    return [f for f in files if not f.deleted]


def semantic_lines(
    full: _FileDiff, whitespace_blind: _FileDiff | None
) -> tuple[set[int], set[int]]:
    """Split a file's added lines into (fix lines, re-indented or moved lines).

    A line is a fix line when `git diff -w` still reports it and it does not pair up with a
    removed line of the same text (a move). Blank lines are neither.
    """
    candidates = set(whitespace_blind.added) if whitespace_blind else set()
    removed = Counter(r.strip() for r in full.removed if r.strip())
    fix: set[int] = set()
    other: set[int] = set()
    for number in sorted(full.added):
        text = full.added[number].strip()
        if not text:
            continue
        if number in candidates and removed[text] == 0:
            fix.add(number)
            continue
        if removed[text] > 0 and number in candidates:
            removed[text] -= 1  # moved: this removed line accounts for it
        other.add(number)
    return fix, other


def scope_from_diff(
    repo: Path | str,
    base: str,
    head: str,
    files: Iterable[str] | None = None,
    *,
    test_globs: Sequence[str] = DEFAULT_TEST_GLOBS,
) -> Scope:
    """The fix lines of `base..head`, restricted to non-test `.py` files (and to `files`)."""
    repo = Path(repo)
    base_sha = git.resolve_commit(repo, base, field="base")
    head_sha = git.resolve_commit(repo, head, field="head")
    paths = list(files or [])
    args = [
        "diff",
        "-U0",
        "--no-color",
        "--no-ext-diff",
        "--no-renames",
        base_sha,
        head_sha,
        "--",
        *paths,
    ]
    full = parse_unified_diff(git.git(repo, *args))
    blind = {f.path: f for f in parse_unified_diff(git.git(repo, *args[:1], "-w", *args[1:]))}
    kept: list[FileScope] = []
    ignored: list[tuple[str, str]] = []
    for fd in full:
        reason = _exclusion(fd.path, test_globs)
        if reason:
            ignored.append((fd.path, reason))
            continue
        fix, other = semantic_lines(fd, blind.get(fd.path))
        if fix or other:
            kept.append(FileScope(fd.path, frozenset(fix), frozenset(other)))
    return Scope(repo=repo, rev=head_sha, base=base_sha, files=tuple(kept), ignored=tuple(ignored))


def _exclusion(path: str, test_globs: Sequence[str]) -> str | None:
    if not path.endswith(".py"):
        return "not Python source"
    if is_test_path(path, test_globs):
        return "test file"
    return None


def parse_range(text: str) -> tuple[str, int, int]:
    """`"f.py:3-9"` → `("f.py", 3, 9)`; `"f.py:7"` → `("f.py", 7, 7)`. Raises UserError."""
    m = _RANGE.match(text.strip())
    if not m:
        raise UserError(
            f"range={text!r}: not a file:start-end range",
            hint="write it as path/to/file.py:START-END, e.g. shopapp/tickets.py:40-52",
        )
    start = int(m.group("start"))
    end = int(m.group("end") or start)
    if start < 1 or end < start:
        raise UserError(
            f"range={text!r}: start must be >= 1 and <= end",
            hint="write file:START-END with 1 <= START <= END",
        )
    return m.group("file"), start, end


def scope_from_ranges(repo: Path | str, rev: str, ranges: Iterable[str]) -> Scope:
    """A scope of explicit head line ranges (`file:start-end`); every listed line is a fix line."""
    repo = Path(repo)
    sha = git.resolve_commit(repo, rev, field="head")
    by_file: dict[str, set[int]] = {}
    for text in ranges:
        path, start, end = parse_range(text)
        source = git.show(repo, sha, path)
        if source is None:
            raise UserError(
                f"range={text!r}: {path!r} does not exist at {rev}",
                hint="use a path relative to the repository root",
            )
        count = len(source.splitlines())
        if end > count:
            raise UserError(
                f"range={text!r}: {path} has only {count} lines at {rev}",
                hint=f"use an end line <= {count}",
            )
        by_file.setdefault(path, set()).update(range(start, end + 1))
    files = tuple(FileScope(p, frozenset(lines)) for p, lines in sorted(by_file.items()))
    return Scope(repo=repo, rev=sha, files=files)


def _compress(numbers: Sequence[int]) -> str:
    """[1, 2, 3, 7] → "1-3,7"."""
    out: list[str] = []
    i = 0
    while i < len(numbers):
        j = i
        while j + 1 < len(numbers) and numbers[j + 1] == numbers[j] + 1:
            j += 1
        out.append(str(numbers[i]) if i == j else f"{numbers[i]}-{numbers[j]}")
        i = j + 1
    return ",".join(out)
