"""One mutant: apply an edit to a file's source, and describe the result (id, lines, diff)."""

from __future__ import annotations

import difflib
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import libcst as cst
from libcst.metadata import CodeRange

from .families import Edit, Family, Replacement


@dataclass(frozen=True)
class Mutant:
    """A mutated version of one file. `id` is stable: a hash of the path and the mutated text."""

    id: str
    family: Family
    operator: str
    file: str
    #: The first changed line of the original (head) file.
    line: int
    #: Every original line the mutation changes (ignoring indentation-only changes).
    lines: tuple[int, ...]
    #: Lines whose execution shows that a test reaches the mutant (its lines and the start
    #: line of the statement it sits in: tracers report multi-line statements by one line).
    reach: tuple[int, ...]
    diff: str
    source: str
    #: It undoes the fix or puts the bug class back (a survivor means UNGUARDED); otherwise a
    #: survivor is a weak spot (see the README, "Reverting mutants and weak spots").
    reverting: bool = True

    @property
    def label(self) -> str:
        return f"{self.file}:{self.line} {self.family.value}/{self.operator}"


def mutant_id(path: str, operator: str, source: str) -> str:
    digest = hashlib.sha256(f"{path}\0{operator}\0{source}".encode()).hexdigest()
    return "m" + digest[:10]


class _Apply(cst.CSTTransformer):
    """Replace nodes by identity; a block left empty gets `pass`."""

    def __init__(self, replacements: Mapping[cst.CSTNode, Replacement]):
        super().__init__()
        self._by_id = {id(k): v for k, v in replacements.items()}

    def on_leave(self, original_node, updated_node):  # type: ignore[no-untyped-def]
        result = super().on_leave(original_node, updated_node)
        replacement = self._by_id.get(id(original_node))
        return result if replacement is None else replacement

    def leave_IndentedBlock(
        self, original_node: cst.IndentedBlock, updated_node: cst.IndentedBlock
    ) -> cst.IndentedBlock:
        if not updated_node.body:
            return updated_node.with_changes(body=[cst.SimpleStatementLine([cst.Pass()])])
        return updated_node

    def leave_SimpleStatementSuite(
        self, original_node: cst.SimpleStatementSuite, updated_node: cst.SimpleStatementSuite
    ) -> cst.SimpleStatementSuite:
        if not updated_node.body:
            return updated_node.with_changes(body=[cst.Pass()])
        return updated_node


_INLINE = (cst.BaseExpression, cst.Arg, cst.ComparisonTarget, cst.BaseSmallStatement)


class SourceEditor:
    """Applies edits to one parsed file; fast text splicing for inline nodes, else a transform."""

    def __init__(self, module: cst.Module, source: str, spans: Mapping[cst.CSTNode, CodeRange]):
        self.module = module
        self.source = source
        self._spans = spans
        self._line_starts = [0]
        for line in source.splitlines(keepends=True):
            self._line_starts.append(self._line_starts[-1] + len(line))

    def _offset(self, line: int, column: int) -> int:
        return self._line_starts[line - 1] + column

    def apply(self, edit: Edit) -> str:
        if len(edit.replacements) == 1:
            ((original, new),) = edit.replacements.items()
            spliced = self._splice(original, new)
            if spliced is not None:
                return spliced
        return self.module.visit(_Apply(edit.replacements)).code

    def _splice(self, original: cst.CSTNode, new: Replacement) -> str | None:
        if not isinstance(original, _INLINE) or not isinstance(new, cst.CSTNode):
            return None
        span = self._spans.get(original)
        if span is None:
            return None
        start = self._offset(span.start.line, span.start.column)
        end = self._offset(span.end.line, span.end.column)
        if self.source[start:end] != self.module.code_for_node(original):
            return None
        return self.source[:start] + self.module.code_for_node(new) + self.source[end:]


def changed_lines(original: Sequence[str], mutated: Sequence[str]) -> list[int]:
    """Original line numbers (1-based) the mutation changes, ignoring indentation-only changes."""
    a = [line.strip() for line in original]
    b = [line.strip() for line in mutated]
    prefix = 0
    while prefix < min(len(a), len(b)) and a[prefix] == b[prefix]:
        prefix += 1
    suffix = 0
    while suffix < min(len(a), len(b)) - prefix and a[-1 - suffix] == b[-1 - suffix]:
        suffix += 1
    a_mid, b_mid = a[prefix : len(a) - suffix], b[prefix : len(b) - suffix]
    changed: set[int] = set()
    matcher = difflib.SequenceMatcher(None, a_mid, b_mid, autojunk=False)
    for tag, i1, i2, _j1, _j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        if i1 == i2:
            changed.add(max(prefix + i1, 1))
        else:
            changed.update(range(prefix + i1 + 1, prefix + i2 + 1))
    return sorted(changed)


def unified_diff(path: str, original: str, mutated: str) -> str:
    lines = difflib.unified_diff(
        original.splitlines(keepends=True),
        mutated.splitlines(keepends=True),
        fromfile=f"a/{path}",
        tofile=f"b/{path}",
        n=1,
    )
    return "".join(line if line.endswith("\n") else line + "\n" for line in lines)
