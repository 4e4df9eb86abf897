"""Hunk-revert mutants: put the base's version of one hunk of the fix back.

The most direct "fix revert": if a hunk's revert survives every test, that hunk is not guarded,
by definition. A hunk that only added lines is reverted by deleting them; one that only removed
lines, by putting them back. A revert that does not compile (a hunk that needs another hunk) is
skipped and counted as invalid.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator, Sequence

from .families import Family
from .mutant import Mutant, changed_lines, mutant_id, unified_diff
from .scope import Hunk

OPERATOR = "hunk-revert"
SKIP_INVALID_REVERT = "invalid: hunk revert does not compile"
SKIP_EQUIVALENT = "equivalent: hunk revert changes no code (formatting)"
SKIP_DOCSTRING = "arid: hunk revert changes only docstrings"
SKIP_IMPORTS = "equivalent: hunk revert only puts back imports the fix removed"
_IMPORT_LINE = re.compile(r"^\s*(?:import\s+\S|from\s+\S+\s+import\s)")


def only_restores_imports(group: Sequence[Hunk]) -> bool:
    """The fix only deleted import lines here: putting back an import the code no longer uses
    changes nothing a test could see (and one it still used would not have been deletable)."""
    return all(not h.count for h in group) and all(
        not line.strip() or _IMPORT_LINE.match(line) for h in group for line in h.base_lines
    )


def code_shape(source: str, *, docstrings: bool) -> str:
    """The module's AST as text (no positions); without docstrings unless asked."""
    tree = ast.parse(source)
    if not docstrings:
        for node in ast.walk(tree):
            body = getattr(node, "body", None)
            if (
                isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
                and body
                and isinstance(body[0], ast.Expr)
                and isinstance(body[0].value, ast.Constant)
                and isinstance(body[0].value.value, str)
            ):
                node.body = body[1:] or [ast.Pass()]
    return ast.dump(tree, include_attributes=False)


def reverted_source(source: str, hunks: Sequence[Hunk]) -> str:
    """`source` (the head's text) with each of `hunks` put back to the base's lines."""
    lines = source.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    # From the bottom up, so that each hunk's head line numbers still hold.
    for hunk in sorted(hunks, key=lambda h: h.start, reverse=True):
        restored = [line + "\n" for line in hunk.base_lines]
        if hunk.count:
            start = hunk.start - 1
            lines[start : start + hunk.count] = restored
        else:
            lines[hunk.start : hunk.start] = restored
    return "".join(lines)


_ASSIGNED = re.compile(r"^\s*([A-Za-z_][\w\s,]*?)\s*(?::[^=]+)?=(?!=)")
_BINDERS = (
    re.compile(r"\bfor\s+([\w\s,()]+?)\s+in\b"),
    re.compile(r"\bas\s+([A-Za-z_]\w*)"),
    re.compile(r"^\s*(?:async\s+)?def\s+(\w+)"),
    re.compile(r"^\s*class\s+(\w+)"),
    re.compile(r"^\s*(?:from\s+\S+\s+)?import\s+([\w\s,.()]+)"),
)
_NAME = re.compile(r"[A-Za-z_]\w*")


def _bound(lines: Sequence[str]) -> set[str]:
    names: set[str] = set()
    for line in lines:
        match = _ASSIGNED.match(line)
        if match:
            names.update(_NAME.findall(match.group(1)))
        for binder in _BINDERS:
            for found in binder.findall(line):
                names.update(n for n in _NAME.findall(found) if n not in ("as", "import"))
    return names


_BINDING = re.compile(r"^\s*([A-Za-z_]\w*)\s*(?::[^=]+)?=(?!=)\s*(.+?)\s*$")


def _inlined(added: Sequence[str], base_lines: Sequence[str]) -> set[str]:
    """Names the fix binds in `added` (`iat = payload["iat"]`) whose bound expression appears
    in `base_lines`: code the fix rewrote to use the new name instead of the expression."""
    base = " ".join("".join(line.split()) for line in base_lines)
    names: set[str] = set()
    for line in added:
        match = _BINDING.match(line)
        if match and "".join(match.group(2).split()) in base:
            names.add(match.group(1))
    return names


def group_hunks(source: str, hunks: Sequence[Hunk]) -> list[tuple[Hunk, ...]]:
    """Hunks reverted together: a hunk that binds a new name that some hunk's base version
    spelled out as the expression, with every hunk that uses that name.

    A fix that binds `iat = payload["iat"]` and rewrites `int(payload["iat"])` as `int(iat)`
    makes the second hunk's revert alone an equivalent mutant; reverting the two together puts
    the base back. A hunk that merely starts using a new name (`filter=_default_filter`
    instead of `filter=strip_first_component`) keeps a revert of its own: that one can undo the
    fix on its own.
    """
    head = source.splitlines()
    added = [[head[n - 1] for n in h.head_lines if 0 < n <= len(head)] for h in hunks]
    new = [_bound(a) - _bound(h.base_lines) for a, h in zip(added, hunks, strict=True)]
    used = [{n for line in a for n in _NAME.findall(line)} for a in added]
    parent = list(range(len(hunks)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, names in enumerate(new):
        # The names this hunk binds that another hunk's base spelled out as an expression.
        inlined = {
            n
            for j, uses in enumerate(used)
            if j != i
            for n in names & uses & _inlined(added[i], hunks[j].base_lines)
        }
        # Reverting those together means every hunk using such a name goes back too, or the
        # revert would only leave a NameError behind.
        for j, uses in enumerate(used):
            if j != i and inlined & uses:
                parent[root(j)] = root(i)
    groups: dict[int, list[Hunk]] = {}
    for i, hunk in enumerate(hunks):
        groups.setdefault(root(i), []).append(hunk)
    return [tuple(g) for g in sorted(groups.values(), key=lambda g: g[0].start)]


def hunk_reverts(
    path: str, source: str, hunks: tuple[Hunk, ...], *, strict: bool = False
) -> Iterator[Mutant | str]:
    """One mutant per hunk; a hunk that cannot or need not be reverted yields the skip reason.

    A revert that changes no code (a re-wrapped call) is equivalent, never a gap; one that
    changes only docstrings is arid, like every other docstring (mutated under `strict`).
    """
    original = source.splitlines()
    head_shape: tuple[str, str] | None = None
    for group in group_hunks(source, hunks):
        if only_restores_imports(group):
            yield SKIP_IMPORTS
            continue
        mutated = reverted_source(source, group)
        if mutated == source or mutated.rstrip("\n") == source.rstrip("\n"):
            continue
        try:
            compile(mutated, path, "exec", dont_inherit=True)
        except (SyntaxError, ValueError):
            yield SKIP_INVALID_REVERT
            continue
        if head_shape is None:
            try:
                head_shape = (
                    code_shape(source, docstrings=True),
                    code_shape(source, docstrings=False),
                )
            except SyntaxError:  # the head itself does not parse: no shape to compare
                head_shape = ("", "")
        if code_shape(mutated, docstrings=True) == head_shape[0]:
            yield SKIP_EQUIVALENT
            continue
        if not strict and code_shape(mutated, docstrings=False) == head_shape[1]:
            yield SKIP_DOCSTRING
            continue
        lines_: list[int] = []
        reach_: list[int] = []
        for part in group:
            if part.count:
                lines_ += part.head_lines
                reach_ += part.head_lines
            else:
                lines_.append(max(part.start, 1))
                reach_ += [max(part.start, 1), part.start + 1]
        lines = tuple(sorted(set(lines_)))
        reach = tuple(sorted(set(reach_)))
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
