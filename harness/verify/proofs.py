"""PR mode's proofs: the diff's non-test hunks, and which F2P tests execute each one.

A hunk is proven by the F2P tests whose coverage context reaches one of its head lines. A hunk
that runs only at import time (an added import, a module constant, a new exception class) is
reached by no test's context: it is proven by the F2P tests that run code of its file, since
they load the module and run what it feeds. Hunks proven by exactly the same tests form one
auto-claim, whose mutation check then shows whether those tests guard each hunk; a hunk no F2P
test reaches is unproven, with the reason why.
"""

from __future__ import annotations

import ast
import dataclasses
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path

from ..git import git
from ..mutation.callers import FUNCTIONS, def_headers
from ..mutation.filters import ALL_TESTS, select_tests
from ..mutation.scope import parse_unified_diff
from ..testpaths import is_test_path
from .prmode import AutoClaim, PrHunk

#: file (repo-relative) → line → coverage contexts (node ids; "" = ran at import time).
LineContexts = Mapping[str, Mapping[int, Sequence[str]]]

#: Why a hunk is unproven (PrHunk.why).
NO_F2P = "the PR has no F2P test"
NEVER_RAN = "no F2P test runs it, not even at import"
NOT_CALLED = "a function header, and no F2P test calls the function"
IMPORT_ONLY = "runs at import, but no F2P test runs code of this file"


def pr_hunks(repo: Path, base: str, head: str, test_globs: Sequence[str]) -> list[PrHunk]:
    """The non-test Python hunks of `base..head` (`git diff -U0`), in file and line order.

    Non-Python files (docs, config, data) can be neither proven nor unproven by line coverage,
    so they are left out, as are deleted files (no head line can run) and hunks that only touch
    comments and blank lines (nothing to execute, nothing changed in behaviour).
    """
    text = git(repo, "diff", "-U0", "--no-color", "--no-ext-diff", "--no-renames", base, head)
    hunks: list[PrHunk] = []
    for fd in parse_unified_diff(text):
        if not fd.path.endswith(".py") or is_test_path(fd.path, test_globs):
            continue
        for h in fd.hunks:
            changed = [*h.removed, *h.added.values()]
            if all(not line.strip() or line.strip().startswith("#") for line in changed):
                continue
            if h.head_count:
                start, end = h.head_start, h.head_start + h.head_count - 1
            else:
                # git numbers a pure deletion by the head line before it (0 at the top).
                start = end = max(h.head_start, 1)
            body = [f"-{line}" for line in h.removed] + [f"+{line}" for line in h.added.values()]
            header = f"@@ -{h.base_start},{len(h.removed)} +{h.head_start},{h.head_count} @@"
            hunks.append(PrHunk(fd.path, start, end, "\n".join([header, *body]) + "\n"))
    return sorted(hunks, key=lambda h: (h.file, h.start, h.end))


def reach_lines(hunk: PrHunk) -> list[int]:
    """The head lines whose execution shows a test ran through the hunk.

    For a pure deletion that is the lines on both sides of the gap: a test that ran the deleted
    code on the base runs one of them on the head.
    """
    body = hunk.diff.splitlines()[1:]
    if body and not any(line.startswith("+") for line in body):
        return [hunk.start, hunk.start + 1]
    return list(range(hunk.start, hunk.end + 1))


def proving_tests(
    hunk: PrHunk,
    file_lines: Mapping[int, Sequence[str]],
    headers: Mapping[int, Sequence[int]],
    allowed: Collection[str],
) -> frozenset[str]:
    """The `allowed` tests whose context reached a line of `hunk`.

    A def/decorator header runs at import; its tests are those that run the function's body
    (harness.mutation.callers). Any other line that ran only at import (a module constant)
    selects no test here: every test would see it; `prove` gives it the tests of its file.
    """
    found: set[str] = set()
    for line in reach_lines(hunk):
        chosen = select_tests(file_lines, [line], None, headers)
        if chosen == ALL_TESTS:
            chosen = tuple(c for c in file_lines.get(line, ()) if c)
        found.update(chosen)
    return frozenset(t for t in found if t in allowed)


def import_statements(source: str) -> list[range]:
    """The line spans of the statements that run when the module is imported.

    Those are the statements of the module and of class bodies, also inside a module-level
    `if`, `try`, `with` or loop, each with all its lines: coverage records a multi-line
    statement (a dict constant, a parenthesised import) under its first line only, so a change
    to a later line shows as run only through its statement. Function bodies are left out
    (they run when called), as are def headers (`def_headers` gives them their callers).
    """
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return []
    spans: list[range] = []

    def header(first: int, children: Sequence[ast.AST]) -> None:
        # A compound statement's own lines: from its first line to the line before its body.
        body_start = min((getattr(c, "lineno", first + 1) for c in children), default=first + 1)
        spans.append(range(first, max(body_start, first + 1)))

    def visit(body: Sequence[ast.stmt]) -> None:
        for node in body:
            if isinstance(node, FUNCTIONS):
                continue
            if isinstance(node, ast.ClassDef):
                first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
                header(first, node.body)
                visit(node.body)
                continue
            blocks = _blocks(node)
            if not blocks:
                spans.append(range(node.lineno, (node.end_lineno or node.lineno) + 1))
                continue
            header(node.lineno, blocks[0])
            for block in blocks:
                visit(block)

    visit(tree.body)
    return spans


def _blocks(node: ast.stmt) -> list[list[ast.stmt]]:
    """The statement lists nested in a compound statement ([] for a simple one)."""
    blocks: list[list[ast.stmt]] = []
    for name in ("body", "orelse", "finalbody"):
        value = getattr(node, name, None)
        if isinstance(value, list) and value:
            blocks.append(value)
    for handler in getattr(node, "handlers", []):
        blocks.append(handler.body)
    for case in getattr(node, "cases", []):
        blocks.append(case.body)
    return blocks


def ran_at_import(
    hunk: PrHunk,
    file_lines: Mapping[int, Sequence[str]],
    headers: Mapping[int, Sequence[int]],
    spans: Sequence[range],
) -> bool:
    """Whether a line of `hunk` ran at import time, outside any test.

    That is a reach line recorded under the empty context, or one inside an import-time
    statement (`import_statements`) whose recorded line has it. A def header does not count:
    it runs at import in every module, and only a call shows what it changed.
    """
    for line in reach_lines(hunk):
        if line in headers:
            continue
        if "" in file_lines.get(line, ()):
            return True
        for span in spans:
            if line in span and any("" in file_lines.get(n, ()) for n in span):
                return True
    return False


def file_tests(file_lines: Mapping[int, Sequence[str]], allowed: Collection[str]) -> frozenset[str]:
    """The `allowed` tests that ran some line of the file in their own context."""
    return frozenset(c for contexts in file_lines.values() for c in contexts if c in allowed)


def prove(
    hunks: Sequence[PrHunk],
    lines: LineContexts,
    sources: Mapping[str, str],
    f2p: Collection[str],
) -> tuple[list[AutoClaim], list[PrHunk]]:
    """Group the hunks by the F2P tests that execute them: (auto-claims, unproven hunks).

    `sources` is each file's head text, for its def headers and import-time statements. A hunk
    that ran only at import joins its file's claim when the file has exactly one, else gets
    the F2P tests that run code of its file. Unproven hunks carry
    the reason (`PrHunk.why`). Claims are numbered `auto-1`, … in the file and line order of
    their first hunk.
    """
    headers = {path: def_headers(text) for path, text in sources.items()}
    spans = {path: import_statements(text) for path, text in sources.items()}
    groups: dict[frozenset[str], list[PrHunk]] = {}
    unproven: list[PrHunk] = []
    at_import: list[PrHunk] = []
    ordered = sorted(hunks, key=lambda h: (h.file, h.start, h.end))
    for hunk in ordered:
        file_lines = lines.get(hunk.file, {})
        file_headers = headers.get(hunk.file, {})
        tests = proving_tests(hunk, file_lines, file_headers, f2p)
        if tests:
            groups.setdefault(tests, []).append(hunk)
        elif ran_at_import(hunk, file_lines, file_headers, spans.get(hunk.file, [])):
            at_import.append(hunk)
        else:
            if not f2p:
                why = NO_F2P
            elif any("" in file_lines.get(n, ()) for n in reach_lines(hunk) if n in file_headers):
                why = NOT_CALLED
            else:
                why = NEVER_RAN
            unproven.append(dataclasses.replace(hunk, why=why))
    # A hunk that ran only at import (an import, a constant) belongs with the fix in its own
    # file when that file's other hunks form exactly one claim: an app that builds every module
    # at start-up would otherwise tie it to every test, and one claim to five fixes. Else it
    # gets the F2P tests that run code of its file.
    for hunk in at_import:
        own = {t for t, members in groups.items() if any(m.file == hunk.file for m in members)}
        tests = next(iter(own)) if len(own) == 1 else file_tests(lines.get(hunk.file, {}), f2p)
        if tests:
            groups.setdefault(tests, []).append(hunk)
        else:
            unproven.append(dataclasses.replace(hunk, why=NO_F2P if not f2p else IMPORT_ONLY))
    for members in groups.values():
        members.sort(key=lambda h: (h.file, h.start, h.end))
    unproven.sort(key=lambda h: (h.file, h.start, h.end))
    # Numbered in the file and line order of each claim's first hunk.
    ordered_groups = sorted(groups.items(), key=lambda item: (item[1][0].file, item[1][0].start))
    claims = [
        AutoClaim(id=f"auto-{n}", hunks=tuple(members), tests=tuple(sorted(tests)))
        for n, (tests, members) in enumerate(ordered_groups, start=1)
    ]
    return claims, unproven
