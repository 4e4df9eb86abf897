"""Token-level comparison of Python source: the tokens a fix added, and the tokens a mutant touches.

The scope is node-level: a mutant may change only code the fix added or changed. Lines are too
coarse for that (a fix that adds `timeout=` to a line that opens a `with` must not put the
`with` in scope), so both sides are compared as token sequences. Whitespace, indentation and
comments are not tokens: re-indenting a body under a new block, or re-wrapping a call, changes
nothing here.

The lexer is a regular expression rather than `tokenize`: it must work on fragments (a hunk's
lines, which may open a bracket they do not close) and on every mutant of a file, fast. It keeps
strings whole and multi-character operators together, which is all a diff of tokens needs.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

_TOKEN = re.compile(
    r"""
    (?P<comment>\#[^\n]*)
    | (?P<string>
        (?:[rRbBuUfF]{0,2})
        (?:\"\"\"(?:\\.|[^\\])*?\"\"\" | '''(?:\\.|[^\\])*?''' | "(?:\\.|[^"\\\n])*" | '(?:\\.|[^'\\\n])*')
      )
    | (?P<number>\d[\w.]*)
    | (?P<name>\w+)
    | (?P<op>\*\*=?|//=?|<<=?|>>=?|->|:=|\.\.\.|[-+*/%&|^@<>=!]=|\S)
    """,
    re.VERBOSE | re.DOTALL,
)

#: A head token's position: (line, column), both as the source shows them (1-based line).
Position = tuple[int, int]


@dataclass(frozen=True)
class Token:
    line: int
    col: int
    text: str

    @property
    def position(self) -> Position:
        return (self.line, self.col)


def lex(text: str, first_line: int = 1) -> list[Token]:
    """The tokens of `text` (comments dropped), numbered from `first_line`."""
    tokens: list[Token] = []
    line = first_line
    line_start = 0
    scanned = 0
    for match in _TOKEN.finditer(text):
        start = match.start()
        newlines = text.count("\n", scanned, start)
        if newlines:
            line += newlines
            line_start = text.rfind("\n", 0, start) + 1
        scanned = start
        if match.lastgroup != "comment":
            tokens.append(Token(line, start - line_start, match.group()))
    return tokens


def _opcodes(a: Sequence[Token], b: Sequence[Token]) -> Sequence[tuple[str, int, int, int, int]]:
    matcher = difflib.SequenceMatcher(
        None, [t.text for t in a], [t.text for t in b], autojunk=False
    )
    return matcher.get_opcodes()


#: How alike (difflib ratio of their tokens) an added line must be to a removed one for the
#: two to count as one edited line, compared token by token. Below it the added line is new.
PAIRING_RATIO = 0.5


def logical_lines(lines: Sequence[tuple[int, str]]) -> list[list[Token]]:
    """Tokens of (number, text) lines, grouped into logical lines: a bracket left open joins
    the next line, so a call re-wrapped over several lines compares as one line."""
    groups: list[list[Token]] = []
    current: list[Token] = []
    depth = 0
    for number, text in lines:
        tokens = lex(text, number)
        current.extend(tokens)
        for token in tokens:
            if token.text in ("(", "[", "{"):
                depth += 1
            elif token.text in (")", "]", "}"):
                depth = max(0, depth - 1)
        if depth == 0 and current:
            groups.append(current)
            current = []
    if current:
        groups.append(current)
    return groups


def added_tokens(removed: Sequence[str], added: Mapping[int, str]) -> set[Position]:
    """Positions of the tokens of one hunk's `added` lines that are new or changed.

    Each added logical line is paired with the most alike removed one of the hunk, as
    `difflib.ndiff` pairs lines, and only then compared token by token: a rewritten statement
    that happens to share a `(` or a name with a removed one is new as a whole, not
    "unchanged here and there"; a call merely re-wrapped is unchanged.
    """
    old = logical_lines(list(enumerate(removed, 1)))
    free = set(range(len(old)))
    out: set[Position] = set()
    for new in logical_lines(sorted(added.items())):
        best, best_ratio = None, PAIRING_RATIO
        for index in sorted(free):
            ratio = difflib.SequenceMatcher(
                None, [t.text for t in old[index]], [t.text for t in new], autojunk=False
            ).ratio()
            if ratio >= best_ratio and (best is None or ratio > best_ratio):
                best, best_ratio = index, ratio
        if best is None:
            out.update(t.position for t in new)
            continue
        free.discard(best)
        for tag, _i1, _i2, j1, j2 in _opcodes(old[best], new):
            if tag in ("insert", "replace"):
                out.update(t.position for t in new[j1:j2])
    return out


def touched_tokens(original: str, mutated: str) -> set[Position]:
    """Positions of the original's tokens that the mutation deletes or replaces.

    A pure insertion (`x` → `not x`) touches the token it is inserted before (or, at the very
    end, the one after which it is inserted).
    """
    a_lines = original.splitlines(keepends=True)
    b_lines = mutated.splitlines(keepends=True)
    prefix = 0
    while prefix < min(len(a_lines), len(b_lines)) and a_lines[prefix] == b_lines[prefix]:
        prefix += 1
    suffix = 0
    limit = min(len(a_lines), len(b_lines)) - prefix
    while suffix < limit and a_lines[-1 - suffix] == b_lines[-1 - suffix]:
        suffix += 1
    a = lex("".join(a_lines[prefix : len(a_lines) - suffix]), prefix + 1)
    b = lex("".join(b_lines[prefix : len(b_lines) - suffix]), prefix + 1)
    touched: set[Position] = set()
    for tag, i1, i2, _j1, _j2 in _opcodes(a, b):
        if tag in ("delete", "replace"):
            touched.update(t.position for t in a[i1:i2])
        elif tag == "insert":
            if i1 < len(a):
                touched.add(a[i1].position)
            elif a:
                touched.add(a[-1].position)
    return touched


def block_path(lines: Sequence[str], index: int) -> tuple[str, ...]:
    """The headers of the blocks enclosing line `index` (0-based), outermost first.

    Found by indentation: each earlier code line indented less than the last one found is
    the header of an enclosing block (`def f():`, `with lock:`, `finally:` ...).
    """

    def indent(text: str) -> int:
        return len(text) - len(text.lstrip())

    level = indent(lines[index])
    headers: list[str] = []
    for i in range(index - 1, -1, -1):
        text = lines[i]
        stripped = text.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if indent(text) < level:
            headers.append(stripped)
            level = indent(text)
            if level == 0:
                break
    return tuple(reversed(headers))


def lines_of(positions: Iterable[Position]) -> set[int]:
    return {line for line, _col in positions}
