"""Fix-revert operators: libcst rewrites that put a reviewed bug class back, one family each.

Every operator gets a node of the parsed head file and yields `Edit`s: a map from original
nodes to their replacement (a node, `cst.RemovalSentinel.REMOVE`, or a `cst.FlattenSentinel`).

| family                 | operator                       | what it does                                       |
|------------------------|--------------------------------|----------------------------------------------------|
| sync removal           | with-lock-removal              | `with lock:` / `async with lock:` → the bare body   |
|                        | acquire-release-removal        | every `R.acquire()`/`R.release()` statement of one  |
|                        |                                | receiver in the function is deleted                 |
| guard removal          | guard-delete / guard-false     | `if cond: raise|return …` deleted (or, with an      |
|                        |                                | `else`/`elif`, its condition forced to `False`)     |
|                        | except-type-removal            | one type dropped from `except (A, B):`              |
| containment no-op      | resolve-identity, realpath-,   | `p.resolve()`, `os.path.realpath/normpath/abspath(p)`|
|                        | normpath-, abspath-identity    | → `p`                                               |
|                        | is_relative_to-true,           | `a.is_relative_to(b)`, `a.startswith(b)` → `True`    |
|                        | startswith-true                |                                                     |
| cleanup removal        | close-/aclose-/cancel-/        | `x.close()`, `await x.aclose()`, `t.cancel()`,      |
|                        | shutdown-removal               | `ex.shutdown()` statements deleted                  |
|                        | finally-removal                | a `finally:` body becomes `pass`                    |
|                        | with-open-to-assign,           | `with open(p) as f:` → `f = open(p)` + body         |
|                        | with-to-assign                 | (any other non-lock `with call() as x:` likewise)   |
| task tracking removal  | task-add-/task-discard-removal | `tasks.add(t)` / `tasks.discard(t)` deleted         |
|                        | done-callback-removal          | `t.add_done_callback(tasks.discard)` deleted        |
| timeout removal        | timeout-none                   | `timeout=X` (and `*_timeout=X`), `wait_for(a, X)`,  |
|                        |                                | `asyncio.timeout(X)` → `None`                       |
| atomicity              | setdefault-to-check-then-set   | `d.setdefault(k, v)` → check, yield, then set       |
|                        |                                | (`k in d` … `sleep(0)` … `d[k] = v`)                |
|                        | on-conflict-removal            | `… ON CONFLICT … DO …` clause dropped from a SQL    |
|                        |                                | string literal (up to `RETURNING`, `;` or the end)  |
|                        | insert-or-ignore-removal       | `INSERT OR IGNORE/REPLACE` → `INSERT`                |
|                        | o-excl-removal                 | `os.O_CREAT | os.O_EXCL` → `os.O_CREAT`              |
|                        | exclusive-create-to-overwrite  | `open(p, "x")` → `open(p, "w")`                      |
| statement deletion     | delete-statement               | a simple statement (call, assignment, import,       |
|                        |                                | assert, raise, del) is deleted                      |

Statement-level removals leave `pass` where a block would become empty.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from enum import Enum

import libcst as cst


class Family(str, Enum):
    """Operator families, as reports name them. Generic mutmut operators are `GENERIC`."""

    HUNK_REVERT = "hunk revert"  # the base's version of one hunk of the fix (revert.py)
    SYNC_REMOVAL = "sync removal"
    GUARD_REMOVAL = "guard removal"
    CONTAINMENT_NOOP = "containment no-op"
    CLEANUP_REMOVAL = "cleanup removal"
    TASK_TRACKING_REMOVAL = "task tracking removal"
    TIMEOUT_REMOVAL = "timeout removal"
    ATOMICITY = "atomicity"
    IMPORT_REMOVAL = "import removal"  # operators in harness/mutation/imports.py
    STATEMENT_DELETION = "statement deletion"
    GENERIC = "generic"

    @property
    def is_reverting(self) -> bool:
        """Every family but the generic one puts the bug class back or undoes the fix."""
        return self is not Family.GENERIC

    @property
    def is_concurrency(self) -> bool:
        """Families whose kills are nondeterministic, so they are run k-of-n."""
        return self in CONCURRENCY_FAMILIES


CONCURRENCY_FAMILIES = frozenset(
    {Family.SYNC_REMOVAL, Family.TASK_TRACKING_REMOVAL, Family.ATOMICITY}
)

Replacement = cst.CSTNode | cst.RemovalSentinel | cst.FlattenSentinel


@dataclass(frozen=True)
class Edit:
    """One candidate mutant before it is applied: which nodes become what."""

    family: Family
    operator: str
    anchor: cst.CSTNode
    replacements: Mapping[cst.CSTNode, Replacement]


#: Comparison operators whose generic swap is the condition's negation (`==` ↔ `!=`, ...).
_NEGATED_OPERATORS = (cst.Equal, cst.NotEqual, cst.Is, cst.IsNot, cst.In, cst.NotIn)


def is_negation(edit: Edit) -> bool:
    """A generic edit that negates a condition (`==` → `!=`, `in` → `not in`, `not x` → `x`).

    Negating a condition the fix added undoes it, so such a mutant is reverting; every other
    generic edit (a boundary shift, a literal, an argument) can only weaken the fix.
    """
    for original, new in edit.replacements.items():
        if isinstance(original, _NEGATED_OPERATORS):
            return True
        if isinstance(original, cst.ComparisonTarget) and isinstance(
            original.operator, _NEGATED_OPERATORS
        ):
            return True
        if (
            isinstance(original, cst.UnaryOperation)
            and isinstance(original.operator, cst.Not)
            and new is original.expression
        ):
            return True
    return False


def is_reverting(edit: Edit) -> bool:
    """See the README, "Reverting mutants and weak spots"."""
    return edit.family.is_reverting or is_negation(edit)


_LOCK_NAME = re.compile(
    r"(?i)(?:^|_)(?:r?lock|locks|mutex|semaphore|sema|sem|cond|condition)(?:_|$)|lock$"
)
_LOCK_FACTORIES = {"Lock", "RLock", "Semaphore", "BoundedSemaphore", "Condition"}
_TASK_NAME = re.compile(r"(?i)task|thread|worker|future|(?:^|_)fut(?:_|$)|(?:^|_)jobs?(?:_|$)")
_CLEANUP_METHODS = {
    "close": "close-removal",
    "aclose": "aclose-removal",
    "cancel": "cancel-removal",
    "shutdown": "shutdown-removal",
}
_PATH_FUNCS = {"realpath", "normpath", "abspath"}
_ON_CONFLICT = re.compile(r"(?is)\s*\bON\s+CONFLICT\b.*?(?=\s*(?:\bRETURNING\b|;|$))")
_INSERT_OR = re.compile(r"(?i)\bINSERT\s+OR\s+(?:IGNORE|REPLACE)\b")


def last_name(expr: cst.BaseExpression | None) -> str | None:
    """The identifier an expression ends in: `self._lock` → `_lock`, `f(x)` → `f`."""
    if isinstance(expr, cst.Name):
        return expr.value
    if isinstance(expr, cst.Attribute):
        return expr.attr.value
    if isinstance(expr, cst.Call):
        return last_name(expr.func)
    if isinstance(expr, cst.Subscript):
        return last_name(expr.value)
    if isinstance(expr, cst.Await):
        return last_name(expr.expression)
    return None


def is_lock(expr: cst.BaseExpression) -> bool:
    name = last_name(expr)
    if name is None:
        return False
    if isinstance(expr, cst.Call) and name in _LOCK_FACTORIES:
        return True
    return bool(_LOCK_NAME.search(name))


def statement_call(stmt: cst.CSTNode) -> cst.Call | None:
    """The call of a one-statement line `[await] x.f(...)`, else None."""
    if not isinstance(stmt, cst.SimpleStatementLine) or len(stmt.body) != 1:
        return None
    small = stmt.body[0]
    if not isinstance(small, cst.Expr):
        return None
    value = small.value
    if isinstance(value, cst.Await):
        value = value.expression
    return value if isinstance(value, cst.Call) else None


def _method(call: cst.Call) -> tuple[cst.BaseExpression, str] | None:
    if isinstance(call.func, cst.Attribute):
        return call.func.value, call.func.attr.value
    return None


def _block_statements(body: cst.BaseSuite) -> list[cst.BaseStatement]:
    if isinstance(body, cst.IndentedBlock):
        return list(body.body)
    assert isinstance(body, cst.SimpleStatementSuite)
    return [cst.SimpleStatementLine(body=list(body.body))]


def _flatten(node: cst.With, head: list[cst.BaseStatement]) -> cst.FlattenSentinel:
    body = [*head, *_block_statements(node.body)]
    first = body[0]
    if isinstance(first, cst.SimpleStatementLine | cst.BaseCompoundStatement):
        body[0] = first.with_changes(leading_lines=[*node.leading_lines, *first.leading_lines])
    return cst.FlattenSentinel(body)


def _paren(expr: cst.BaseExpression) -> cst.BaseExpression:
    atomic = (cst.Name, cst.Attribute, cst.Call, cst.Subscript, cst.SimpleString)
    if isinstance(expr, atomic) or expr.lpar:
        return expr
    return expr.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])


# --------------------------------------------------------------------------- per node type


def sync_removal(node: cst.With) -> Iterator[Edit]:
    prefix = "async-with" if node.asynchronous else "with"
    for i, item in enumerate(node.items):
        if not is_lock(item.item):
            continue
        others = [it for j, it in enumerate(node.items) if j != i]
        if not others:
            replacement: Replacement = _flatten(node, [])
        else:
            others[-1] = others[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
            replacement = node.with_changes(items=others)
        yield Edit(Family.SYNC_REMOVAL, f"{prefix}-lock-removal", node, {node: replacement})
        return


def acquire_release_pairs(func: cst.FunctionDef) -> Iterator[Edit]:
    """One edit per receiver that is `acquire()`d in this function: delete all its pairs."""
    groups: dict[str, list[tuple[str, cst.SimpleStatementLine]]] = {}
    module = cst.Module(body=[])

    class Finder(cst.CSTVisitor):
        def visit_FunctionDef(self, inner: cst.FunctionDef) -> bool:
            return inner is func  # nested functions get their own pass

        def visit_SimpleStatementLine(self, stmt: cst.SimpleStatementLine) -> bool:
            call = statement_call(stmt)
            method = _method(call) if call else None
            if method and method[1] in ("acquire", "release"):
                key = module.code_for_node(method[0])
                groups.setdefault(key, []).append((method[1], stmt))
            return False

    func.visit(Finder())
    for stmts in groups.values():
        acquires = [s for kind, s in stmts if kind == "acquire"]
        if not acquires:
            continue
        replacements: dict[cst.CSTNode, Replacement] = {
            s: cst.RemovalSentinel.REMOVE for _, s in stmts
        }
        yield Edit(Family.SYNC_REMOVAL, "acquire-release-removal", acquires[0], replacements)


def guard_removal(node: cst.If, *, is_elif: bool) -> Iterator[Edit]:
    exits = [
        small
        for stmt in _block_statements(node.body)
        if isinstance(stmt, cst.SimpleStatementLine)
        for small in stmt.body
        if isinstance(small, cst.Raise | cst.Return)
    ]
    if not exits:
        return
    if node.orelse is None and not is_elif:
        yield Edit(Family.GUARD_REMOVAL, "guard-delete", node, {node: cst.RemovalSentinel.REMOVE})
    else:
        forced = node.with_changes(test=cst.Name("False"))
        yield Edit(Family.GUARD_REMOVAL, "guard-false", node, {node: forced})


_CHECK_METHODS = ("is_relative_to", "relative_to", "startswith")
_NORMALISERS = {"resolve", *_PATH_FUNCS}


class _ContainmentScan(cst.CSTVisitor):
    """Within one function: the names checked for containment, and the containers they are
    checked against (`path.is_relative_to(base)`, `path.startswith(root)`,
    `commonpath([root, p]) == root`, `root in path.parents`)."""

    def __init__(self) -> None:
        super().__init__()
        self.checked: set[str] = set()
        self.containers: set[str] = set()
        self.container_exprs: list[cst.CSTNode] = []
        self.assigns: list[tuple[set[str], cst.BaseExpression]] = []

    def visit_Call(self, node: cst.Call) -> None:
        method = _method(node)
        if method and method[1] in _CHECK_METHODS and node.args:
            self.checked |= _names(method[0])
            self._container(node.args[0].value)

    def visit_Comparison(self, node: cst.Comparison) -> None:
        left = node.left
        for target in node.comparisons:
            if isinstance(left, cst.Call) and last_name(left.func) in (
                "commonpath",
                "commonprefix",
            ):
                self._container(target.comparator)
            if isinstance(target.operator, cst.In) and last_name(target.comparator) == "parents":
                self._container(left)
            left = target.comparator

    def visit_Assign(self, node: cst.Assign) -> None:
        targets: set[str] = set()
        for target in node.targets:
            targets |= _names(target.target)
        self.assigns.append((targets, node.value))

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        return False  # nested functions are scanned on their own

    def _container(self, expr: cst.BaseExpression) -> None:
        self.container_exprs.append(expr)
        self.containers |= _names(expr)


def _names(expr: cst.CSTNode) -> set[str]:
    """The identifiers an expression is built from (`str(self.root) + os.sep` → root, sep)."""
    found: set[str] = set()

    class Names(cst.CSTVisitor):
        def visit_Name(self, node: cst.Name) -> None:
            found.add(node.value)

        def visit_Attribute(self, node: cst.Attribute) -> None:
            found.add(node.attr.value)

    expr.visit(Names())
    return found - {"str", "os", "sep", "path", "Path", "fspath"}


def _normalising_calls(expr: cst.CSTNode) -> list[cst.Call]:
    calls: list[cst.Call] = []

    class Calls(cst.CSTVisitor):
        def visit_Call(self, node: cst.Call) -> None:
            method = _method(node)
            if (method and method[1] == "resolve") or last_name(node.func) in _PATH_FUNCS:
                calls.append(node)

    expr.visit(Calls())
    return calls


def container_side_calls(module: cst.Module) -> set[int]:
    """Ids of the `resolve()`/`realpath()`... calls that normalise a container, not a checked path.

    Making the container's `resolve()` a no-op makes a containment check stricter, not
    weaker, so the containment no-op is only made on the path being checked.
    """
    found: set[int] = set()

    class Functions(cst.CSTVisitor):
        def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
            scan = _ContainmentScan()
            node.body.visit(scan)
            for expr in scan.container_exprs:
                found.update(id(c) for c in _normalising_calls(expr))
            only_containers = scan.containers - scan.checked
            for targets, value in scan.assigns:
                if targets and targets <= only_containers:
                    found.update(id(c) for c in _normalising_calls(value))

    module.visit(Functions())
    return found


def except_type_removal(node: cst.ExceptHandler) -> Iterator[Edit]:
    """`except (A, B):` → `except B:` and `except A:`: the fix's handler stops catching one."""
    if not isinstance(node.type, cst.Tuple) or len(node.type.elements) < 2:
        return
    elements = list(node.type.elements)
    for index in range(len(elements)):
        kept = [e for i, e in enumerate(elements) if i != index]
        if len(kept) == 1:
            new_type: cst.BaseExpression = kept[0].value
        else:
            kept[-1] = kept[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
            new_type = node.type.with_changes(elements=kept)
        yield Edit(
            Family.GUARD_REMOVAL,
            "except-type-removal",
            node,
            {node.type: new_type},
        )


def call_edits(node: cst.Call, *, container: bool = False) -> Iterator[Edit]:
    """Containment no-ops, timeout removal and call-level atomicity edits of one call.

    `container`: the call normalises the container of a containment check, so making it a
    no-op would not weaken the check; no containment no-op is made of it.
    """
    name = last_name(node.func)
    method = _method(node)
    positional = [a for a in node.args if a.keyword is None and not a.star]
    # containment no-op
    if container and ((method and method[1] == "resolve") or name in _PATH_FUNCS):
        pass
    elif method and method[1] == "resolve" and not positional:
        yield Edit(Family.CONTAINMENT_NOOP, "resolve-identity", node, {node: _paren(method[0])})
    elif name in _PATH_FUNCS and len(positional) >= 1:
        yield Edit(
            Family.CONTAINMENT_NOOP, f"{name}-identity", node, {node: _paren(positional[0].value)}
        )
    elif method and method[1] in ("is_relative_to", "startswith"):
        yield Edit(Family.CONTAINMENT_NOOP, f"{method[1]}-true", node, {node: cst.Name("True")})
    # timeout removal
    for arg in node.args:
        if arg.keyword is not None and _is_timeout_keyword(arg.keyword.value):
            if not (isinstance(arg.value, cst.Name) and arg.value.value == "None"):
                new_arg = arg.with_changes(value=cst.Name("None"))
                yield Edit(Family.TIMEOUT_REMOVAL, "timeout-none", arg, {arg: new_arg})
    if name == "wait_for" and len(positional) >= 2:
        yield _none_arg(node, positional[1])
    if name == "timeout" and method and len(positional) >= 1:
        yield _none_arg(node, positional[0])
    # atomicity
    if method and method[1] == "setdefault" and 1 <= len(positional) == len(node.args) <= 2:
        yield Edit(
            Family.ATOMICITY,
            "setdefault-to-check-then-set",
            node,
            {node: _check_then_set(method[0], positional)},
        )
    if name == "open":
        mode = _open_mode(node)
        if mode is not None and "x" in mode.value:
            new_mode = mode.with_changes(value=mode.value.replace("x", "w"))
            yield Edit(Family.ATOMICITY, "exclusive-create-to-overwrite", mode, {mode: new_mode})


def _none_arg(node: cst.Call, arg: cst.Arg) -> Edit:
    return Edit(
        Family.TIMEOUT_REMOVAL, "timeout-none", arg, {arg: arg.with_changes(value=cst.Name("None"))}
    )


def _is_timeout_keyword(keyword: str) -> bool:
    return keyword in ("timeout", "deadline") or keyword.endswith("_timeout")


def _open_mode(node: cst.Call) -> cst.SimpleString | None:
    for arg in node.args:
        if arg.keyword is not None and arg.keyword.value == "mode":
            return arg.value if isinstance(arg.value, cst.SimpleString) else None
    positional = [a for a in node.args if a.keyword is None]
    if len(positional) >= 2 and isinstance(positional[1].value, cst.SimpleString):
        return positional[1].value
    return None


def _check_then_set(target: cst.BaseExpression, args: list[cst.Arg]) -> cst.BaseExpression:
    """`d.setdefault(k, v)` → a lambda that tests `k in d`, yields the GIL, then sets `d[k] = v`."""
    default = args[1].value if len(args) == 2 else cst.Name("None")
    helper = cst.parse_expression(
        "(lambda _d, _k, _v: _d[_k] if _k in _d"
        " else (__import__('time').sleep(0), _d.__setitem__(_k, _v), _v)[2])"
    )
    return cst.Call(
        func=helper,
        args=[cst.Arg(_paren(target)), cst.Arg(args[0].value), cst.Arg(default)],
    )


def o_excl_removal(node: cst.BinaryOperation) -> Iterator[Edit]:
    if not isinstance(node.operator, cst.BitOr):
        return
    for side, other in ((node.right, node.left), (node.left, node.right)):
        if last_name(side) == "O_EXCL":
            yield Edit(Family.ATOMICITY, "o-excl-removal", node, {node: other})
            return


def sql_atomicity(node: cst.SimpleString) -> Iterator[Edit]:
    text = node.value
    if _ON_CONFLICT.search(text):
        quote = _quote_len(text)
        body = text[quote[0] : len(text) - quote[1]]
        new_body = _ON_CONFLICT.sub("", body, count=1)
        if new_body != body:
            new = text[: quote[0]] + new_body + text[len(text) - quote[1] :]
            yield Edit(
                Family.ATOMICITY, "on-conflict-removal", node, {node: node.with_changes(value=new)}
            )
    if _INSERT_OR.search(text):
        new = _INSERT_OR.sub("INSERT", text, count=1)
        yield Edit(
            Family.ATOMICITY, "insert-or-ignore-removal", node, {node: node.with_changes(value=new)}
        )


def _quote_len(text: str) -> tuple[int, int]:
    prefix = len(text) - len(text.lstrip("rRbBuUfF"))
    body = text[prefix:]
    q = 3 if body[:3] in ('"""', "'''") else 1
    return prefix + q, q


def with_to_assign(node: cst.With) -> Iterator[Edit]:
    if len(node.items) != 1:
        return
    item = node.items[0]
    if item.asname is None or not isinstance(item.item, cst.Call) or is_lock(item.item):
        return
    target = item.asname.name
    assign = cst.SimpleStatementLine(
        body=[cst.Assign(targets=[cst.AssignTarget(target)], value=item.item)]
    )
    operator = "with-open-to-assign" if last_name(item.item) == "open" else "with-to-assign"
    yield Edit(Family.CLEANUP_REMOVAL, operator, node, {node: _flatten(node, [assign])})


def finally_removal(node: cst.Try | cst.TryStar) -> Iterator[Edit]:
    if node.finalbody is None:
        return
    final = node.finalbody
    emptied = final.with_changes(
        body=cst.IndentedBlock(body=[cst.SimpleStatementLine([cst.Pass()])])
    )
    yield Edit(Family.CLEANUP_REMOVAL, "finally-removal", final, {final: emptied})


def statement_edits(stmt: cst.SimpleStatementLine, *, is_docstring: bool) -> Iterator[Edit]:
    """Cleanup, task tracking and plain deletion of a one-statement line (in that order)."""
    call = statement_call(stmt)
    method = _method(call) if call else None
    remove: dict[cst.CSTNode, Replacement] = {stmt: cst.RemovalSentinel.REMOVE}
    if call is not None and method is not None:
        receiver, attr = method
        if attr in _CLEANUP_METHODS:
            yield Edit(Family.CLEANUP_REMOVAL, _CLEANUP_METHODS[attr], stmt, remove)
        elif attr in ("add", "discard", "remove", "append") and _is_task_tracking(receiver, call):
            kind = "add" if attr in ("add", "append") else "discard"
            yield Edit(Family.TASK_TRACKING_REMOVAL, f"task-{kind}-removal", stmt, remove)
        elif attr == "add_done_callback":
            yield Edit(Family.TASK_TRACKING_REMOVAL, "done-callback-removal", stmt, remove)
    if len(stmt.body) != 1 or is_docstring:
        return
    small = stmt.body[0]
    deletable = (
        cst.Expr,
        cst.Assign,
        cst.AugAssign,
        cst.Del,
        cst.Assert,
        cst.Raise,
        cst.Import,
        cst.ImportFrom,
    )
    if isinstance(small, cst.AnnAssign) and small.value is None:
        return
    if isinstance(small, cst.Expr) and isinstance(small.value, cst.Ellipsis):
        return
    if isinstance(small, (*deletable, cst.AnnAssign)):
        yield Edit(Family.STATEMENT_DELETION, "delete-statement", stmt, remove)


def _is_task_tracking(receiver: cst.BaseExpression, call: cst.Call) -> bool:
    name = last_name(receiver) or ""
    if _TASK_NAME.search(name):
        return True
    if len(call.args) == 1:
        arg_name = last_name(call.args[0].value) or ""
        return bool(_TASK_NAME.search(arg_name))
    return False
