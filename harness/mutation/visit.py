"""Find the mutants of a scope: walk each file, collect edits on fix lines, filter and dedupe."""

from __future__ import annotations

import bisect
import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace

import libcst as cst
from libcst.metadata import MetadataWrapper, PositionProvider, WhitespaceInclusivePositionProvider

from . import families as fam
from .arid import AridReason, arid_children
from .families import Edit, Family
from .generic import generic_edits, skip_subtree
from .imports import import_removal
from .mutant import Mutant, SourceEditor, changed_lines, mutant_id, unified_diff
from .revert import hunk_reverts
from .scope import FileScope, Scope
from .tokens import touched_tokens

SKIP_PRAGMA = "pragma: no mutate"
SKIP_INVALID = "invalid: does not compile"
SKIP_SAME_CODE = "duplicate: same code as another mutant"
SKIP_SAME_FAMILY_LINE = "duplicate: one mutant per family per line"
SKIP_PARSE = "file does not parse"
SKIP_CONTEXT = "context: changes code the fix did not add or change"
_PRAGMA = re.compile(r"#\s*pragma:\s*no mutate")


@dataclass
class Discovery:
    """The mutants of a scope, in file/line order, and how many candidates were skipped, by reason."""

    mutants: list[Mutant] = field(default_factory=list)
    skipped: Counter[str] = field(default_factory=Counter)


class _Collector(cst.CSTVisitor):
    METADATA_DEPENDENCIES = (PositionProvider,)

    def __init__(self, fix_lines: frozenset[int], containers: set[int] | None = None):
        super().__init__()
        self._containers = containers or set()
        self.edits: list[tuple[Edit, AridReason | None, int]] = []
        self._statements: list[tuple[cst.CSTNode, int]] = []
        self._lines = sorted(fix_lines)
        self._arid_roots: dict[int, AridReason] = {}
        self._arid: list[tuple[cst.CSTNode, AridReason]] = []
        self._generic_off: list[cst.CSTNode] = []
        self._elif: set[int] = set()

    def _overlaps(self, node: cst.CSTNode) -> bool:
        pos = self.get_metadata(PositionProvider, node, None)
        if pos is None:
            return True
        i = bisect.bisect_left(self._lines, pos.start.line)
        return i < len(self._lines) and self._lines[i] <= pos.end.line

    def on_visit(self, node: cst.CSTNode) -> bool:
        if not self._overlaps(node):
            return False
        for child, reason in arid_children(node):
            self._arid_roots.setdefault(id(child), reason)
        if id(node) in self._arid_roots:
            self._arid.append((node, self._arid_roots[id(node)]))
        if skip_subtree(node):
            self._generic_off.append(node)
        if isinstance(node, cst.If) and isinstance(node.orelse, cst.If):
            self._elif.add(id(node.orelse))
        if isinstance(node, cst.SimpleStatementLine | cst.BaseCompoundStatement):
            self._statements.append((node, self.get_metadata(PositionProvider, node).start.line))
        arid = self._arid[-1][1] if self._arid else None
        statement_line = self._statements[-1][1] if self._statements else 0
        for edit in self._family_edits(node):
            self.edits.append((edit, arid, statement_line))
        if not self._generic_off:
            for edit in generic_edits(node):
                self.edits.append((edit, arid, statement_line))
        return True

    def on_leave(self, original_node: cst.CSTNode) -> None:
        if self._statements and self._statements[-1][0] is original_node:
            self._statements.pop()
        if self._arid and self._arid[-1][0] is original_node:
            self._arid.pop()
        if self._generic_off and self._generic_off[-1] is original_node:
            self._generic_off.pop()

    def _family_edits(self, node: cst.CSTNode) -> Iterator[Edit]:
        if isinstance(node, cst.With):
            yield from fam.sync_removal(node)
            yield from fam.with_to_assign(node)
        elif isinstance(node, cst.FunctionDef):
            yield from fam.acquire_release_pairs(node)
        elif isinstance(node, cst.If):
            yield from fam.guard_removal(node, is_elif=id(node) in self._elif)
        elif isinstance(node, cst.Call):
            yield from fam.call_edits(node, container=id(node) in self._containers)
        elif isinstance(node, cst.BinaryOperation):
            yield from fam.o_excl_removal(node)
        elif isinstance(node, cst.SimpleString):
            yield from fam.sql_atomicity(node)
        elif isinstance(node, cst.Try | cst.TryStar):
            yield from fam.finally_removal(node)
        elif isinstance(node, cst.ExceptHandler):
            yield from fam.except_type_removal(node)
        elif isinstance(node, cst.SimpleStatementLine):
            docstring = self._arid_roots.get(id(node)) is AridReason.DOCSTRING
            yield from import_removal(node)  # before delete-statement, which it supersedes
            yield from fam.statement_edits(node, is_docstring=docstring)


def mutants_of_file(
    path: str, source: str, scope: FileScope, *, strict: bool, into: Discovery
) -> None:
    """Add the mutants of one file that change only what the fix added or changed to `into`.

    A hunk revert that makes the same code as an operator (removing the `with lock:` the hunk
    added, or mutmut's `-` → `+` where the fix changed `+` to `-`) is the duplicate: the
    operator's name says more, and that mutant is reverting, since it puts the base back.
    """
    seen_code: set[str] = {source}
    found: list[Mutant] = []
    if scope.lines:
        _operator_mutants(path, source, scope, strict=strict, into=into, seen=seen_code, out=found)
    for revert in hunk_reverts(path, source, scope.hunks, strict=strict):
        if isinstance(revert, str):
            into.skipped[revert] += 1
        elif revert.source in seen_code:
            into.skipped[SKIP_SAME_CODE] += 1
            for index, mutant in enumerate(found):
                if mutant.source == revert.source:
                    found[index] = replace(mutant, reverting=True)
        else:
            seen_code.add(revert.source)
            found.append(revert)
    order = {f: i for i, f in enumerate(Family)}
    found.sort(key=lambda m: (m.line, order[m.family], m.operator))
    into.mutants.extend(found)


def _operator_mutants(
    path: str,
    source: str,
    scope: FileScope,
    *,
    strict: bool,
    into: Discovery,
    seen: set[str],
    out: list[Mutant],
) -> None:
    fix_lines = scope.lines
    try:
        wrapper = MetadataWrapper(cst.parse_module(source))
    except cst.ParserSyntaxError:
        into.skipped[SKIP_PARSE] += 1
        return
    collector = _Collector(fix_lines, fam.container_side_calls(wrapper.module))
    wrapper.visit(collector)
    editor = SourceEditor(
        wrapper.module, source, wrapper.resolve(WhitespaceInclusivePositionProvider)
    )
    original_lines = source.splitlines()
    pragma_lines = {i + 1 for i, line in enumerate(original_lines) if _PRAGMA.search(line)}
    seen_code = seen
    seen_family_line: set[tuple[str, str, int]] = set()
    found = out
    for edit, arid, statement_line in collector.edits:
        mutated = editor.apply(edit)
        if mutated == source:
            continue
        lines = changed_lines(original_lines, mutated.splitlines())
        if not lines or not fix_lines.intersection(lines):
            continue  # outside the fix lines: never generated
        if scope.tokens is not None:
            touched = touched_tokens(source, mutated)
            if not touched or not touched <= scope.tokens:
                into.skipped[SKIP_CONTEXT] += 1
                continue
        if pragma_lines.intersection(lines):
            into.skipped[SKIP_PRAGMA] += 1
            continue
        if arid is not None and not strict:
            into.skipped[arid.value] += 1
            continue
        if mutated in seen_code:
            into.skipped[SKIP_SAME_CODE] += 1
            continue
        line = min(set(lines) & fix_lines)
        # One mutant per family per line, except where each is a separate guard of its own
        # (every exception type a handler catches).
        separate = edit.family is Family.GENERIC or edit.operator == "except-type-removal"
        family_key = (
            edit.family.value,
            edit.operator if separate else "",
            line if edit.operator != "except-type-removal" else hash(mutated),
        )
        if family_key in seen_family_line:
            into.skipped[SKIP_SAME_FAMILY_LINE] += 1
            continue
        try:
            compile(mutated, path, "exec", dont_inherit=True)
        except (SyntaxError, ValueError):
            into.skipped[SKIP_INVALID] += 1
            continue
        seen_code.add(mutated)
        seen_family_line.add(family_key)
        found.append(
            Mutant(
                id=mutant_id(path, edit.operator, mutated),
                family=edit.family,
                operator=edit.operator,
                file=path,
                line=line,
                lines=tuple(lines),
                reach=tuple(sorted({*lines, statement_line} - {0})),
                diff=unified_diff(path, source, mutated),
                source=mutated,
                reverting=fam.is_reverting(edit),
            )
        )


def discover(scope: Scope, read: Callable[[str], str | None], *, strict: bool = False) -> Discovery:
    """All mutants of `scope`; `read(path)` returns a file's text at the scope's revision."""
    result = Discovery()
    for file_scope in scope.files:
        source = read(file_scope.path)
        if source is None:
            continue
        mutants_of_file(file_scope.path, source, file_scope, strict=strict, into=result)
    return result
