"""What a fix added or changed: from `git diff base..head`, or explicit `file:start-end` ranges.

A scope maps each non-test Python source file to:

- `tokens`: the head tokens the fix added or changed (see `tokens.py`). An operator's mutant is
  kept only when every token it deletes or replaces is one of them.
- `lines`: the lines holding those tokens (the fix lines), where operators look for mutants.
- `reindented`: the other added lines: re-indented under a new `with lock:` or `try:`, re-wrapped,
  moved within their block, or touched only in unchanged tokens. Context, never mutated; the
  fix-revert operator on the new `with`/`try` line and the hunk reverts cover them.
- `hunks`: the fix's hunks (`git diff -U0`), for the hunk-revert mutants.

Everything here is a pure function of git's output, except the two `scope_from_*` entry points.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from .. import git
from ..errors import UserError
from ..testpaths import TEST_GLOBS, is_test_path
from .tokens import Position, added_tokens, block_path, lines_of

#: A unified diff's hunk header: old start, old count, new start, new count.
HUNK_HEADER = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")
_RANGE = re.compile(r"^(?P<file>.+?):(?P<start>\d+)(?:-(?P<end>\d+))?$")


@dataclass(frozen=True)
class Hunk:
    """One hunk of the fix (`git diff -U0`), as a hunk-revert mutant puts it back.

    Head lines `start` to `start + count - 1` become the base's `base_lines`; a hunk that only
    removed lines (`count == 0`) puts them back after head line `start`.
    """

    start: int
    count: int
    base_lines: tuple[str, ...]

    @property
    def head_lines(self) -> range:
        return range(self.start, self.start + self.count)


@dataclass(frozen=True)
class FileScope:
    path: str
    lines: frozenset[int]
    reindented: frozenset[int] = frozenset()
    #: Head tokens the fix added or changed, as (line, column). None when the scope is made of
    #: explicit line ranges with no base to compare: then every token on `lines` is in scope.
    tokens: frozenset[Position] | None = None
    #: The fix's hunks in this file, for hunk-revert mutants.
    hunks: tuple[Hunk, ...] = ()


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
class _DiffHunk:
    head_start: int
    head_count: int
    base_start: int = 0
    removed: list[str] = field(default_factory=list)
    added: dict[int, str] = field(default_factory=dict)


@dataclass
class _FileDiff:
    path: str
    added: dict[int, str] = field(default_factory=dict)
    removed: list[str] = field(default_factory=list)
    deleted: bool = False
    hunks: list[_DiffHunk] = field(default_factory=list)


def _diff_path(text: str) -> str:
    """A path as a diff header writes it: git ends a name holding a space with a tab, and quotes
    one holding a quote, a backslash or a control character with C escapes."""
    if text.endswith("\t"):
        text = text[:-1]
    if len(text) > 1 and text.startswith('"') and text.endswith('"'):
        raw = codecs.escape_decode(text[1:-1].encode("utf-8"))[0]
        text = raw.decode("utf-8", errors="replace")
    return text


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
            target = _diff_path(raw[4:])
            if target == "/dev/null":
                current = _FileDiff(path="", deleted=True)
            else:
                current = _FileDiff(path=target[2:] if target.startswith("b/") else target)
            files.append(current)
            continue
        if current is None:
            continue
        m = HUNK_HEADER.match(raw)
        if m:
            new_line = int(m.group(3))
            count = int(m.group(4)) if m.group(4) is not None else 1
            current.hunks.append(
                _DiffHunk(head_start=new_line, head_count=count, base_start=int(m.group(1)))
            )
            continue
        if raw.startswith("+"):
            current.added[new_line] = raw[1:]
            if current.hunks:
                current.hunks[-1].added[new_line] = raw[1:]
            new_line += 1
        elif raw.startswith("-"):
            current.removed.append(raw[1:])
            if current.hunks:
                current.hunks[-1].removed.append(raw[1:])
    return [f for f in files if not f.deleted]


def fix_tokens(blind: _FileDiff, base_text: str, head_text: str) -> set[Position]:
    """The head tokens the fix added or changed.

    Compared hunk by hunk on `git diff -w` (so re-indented lines never show up), token by token
    (so unchanged code on a touched line is context). A line counts as moved, and so as context,
    only when the same text was removed from the same enclosing block: a line moved into another
    function or block changes when it runs, and is part of the fix.
    """
    base_lines = base_text.splitlines()
    head_lines = head_text.splitlines()
    # Where each removed line sat in the base: its text and its enclosing blocks.
    removed_blocks: dict[str, list[tuple[str, ...]]] = {}
    for hunk in blind.hunks:
        for offset, text in enumerate(hunk.removed):
            index = hunk.base_start - 1 + offset
            if text.strip() and 0 <= index < len(base_lines):
                path = block_path(base_lines, index)
                removed_blocks.setdefault(text.strip(), []).append(path)
    fix: set[Position] = set()
    for hunk in blind.hunks:
        fix |= added_tokens(hunk.removed, hunk.added)
    for number, text in blind.added.items():
        stripped = text.strip()
        if not stripped or number - 1 >= len(head_lines):
            continue
        blocks = removed_blocks.get(stripped)
        where = block_path(head_lines, number - 1) if blocks else None
        if blocks and where in blocks:
            blocks.remove(where)
            fix = {p for p in fix if p[0] != number}
    return fix


def revert_hunks(full: _FileDiff, fix: set[Position]) -> tuple[Hunk, ...]:
    """The hunks a hunk-revert mutant puts back: those holding a fix token, and pure removals."""
    lines = lines_of(fix)
    out: list[Hunk] = []
    for hunk in full.hunks:
        head = range(hunk.head_start, hunk.head_start + hunk.head_count)
        removed_code = any(r.strip() and not r.strip().startswith("#") for r in hunk.removed)
        if (hunk.head_count and lines.intersection(head)) or (not hunk.head_count and removed_code):
            out.append(Hunk(hunk.head_start, hunk.head_count, tuple(hunk.removed)))
    return tuple(out)


def scope_from_diff(
    repo: Path | str,
    base: str,
    head: str,
    files: Iterable[str] | None = None,
    *,
    test_globs: Sequence[str] = TEST_GLOBS,
) -> Scope:
    """The fix tokens of `base..head`, restricted to non-test `.py` files (and to `files`)."""
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
        head_text = git.show(repo, head_sha, fd.path) or ""
        base_text = git.show(repo, base_sha, fd.path) or ""
        whitespace_blind = blind.get(fd.path)
        fix: set[Position] = (
            fix_tokens(whitespace_blind, base_text, head_text) if whitespace_blind else set()
        )
        fix_lines = lines_of(fix)
        other = {n for n, text in fd.added.items() if text.strip() and n not in fix_lines}
        hunks = revert_hunks(fd, fix)
        if fix_lines or other or hunks:
            kept.append(
                FileScope(fd.path, frozenset(fix_lines), frozenset(other), frozenset(fix), hunks)
            )
    return Scope(repo=repo, rev=head_sha, base=base_sha, files=tuple(kept), ignored=tuple(ignored))


def restrict(scope: Scope, ranges: Iterable[str]) -> Scope:
    """Keep only what lies in the explicit head line ranges (`file:start-end`) of a diff scope.

    Explicit ranges name where the fix is; only the tokens the fix changed there are mutated.
    """
    wanted: dict[str, set[int]] = {}
    for text in ranges:
        path, start, end = parse_range(text)
        wanted.setdefault(path, set()).update(range(start, end + 1))
    kept: list[FileScope] = []
    for f in scope.files:
        lines = wanted.get(f.path)
        if lines is None:
            continue
        tokens = frozenset(p for p in f.tokens or () if p[0] in lines)
        hunks = tuple(
            h
            for h in f.hunks
            if lines.intersection(h.head_lines) or (not h.count and {h.start, h.start + 1} & lines)
        )
        kept.append(
            FileScope(
                f.path,
                f.lines & lines,
                f.reindented & lines,
                tokens if f.tokens is not None else None,
                hunks,
            )
        )
    return replace(scope, files=tuple(kept))


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
