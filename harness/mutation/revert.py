"""Hunk-revert mutants: put the base's version of one hunk of the fix back.

The most direct "fix revert": if a hunk's revert survives every test, that hunk is not guarded,
by definition. A hunk that only added lines is reverted by deleting them; one that only removed
lines, by putting them back. A revert that does not compile (a hunk that needs another hunk) is
skipped and counted as invalid.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator

from .families import Family
from .mutant import Mutant, changed_lines, mutant_id, unified_diff
from .scope import Hunk

OPERATOR = "hunk-revert"
SKIP_INVALID_REVERT = "invalid: hunk revert does not compile"
SKIP_EQUIVALENT = "equivalent: hunk revert changes no code (formatting)"
SKIP_DOCSTRING = "arid: hunk revert changes only docstrings"


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


def hunk_reverts(
    path: str, source: str, hunks: tuple[Hunk, ...], *, strict: bool = False
) -> Iterator[Mutant | str]:
    """One mutant per hunk; a hunk that cannot or need not be reverted yields the skip reason.

    A revert that changes no code (a re-wrapped call) is equivalent, never a gap; one that
    changes only docstrings is arid, like every other docstring (mutated under `strict`).
    """
    original = source.splitlines()
    head_shape: tuple[str, str] | None = None
    for hunk in hunks:
        mutated = reverted_source(source, hunk)
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
