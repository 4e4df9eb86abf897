"""Arid code: nodes where a mutant would not mean a gap in the tests, so it is skipped.

Arid are logging, metrics and tracing calls; docstrings; the message arguments of a raised
exception; and the numbers given to sleeps, timeouts and deadlines (the timeout-removal
operator still covers those). `--strict` mutates them anyway; every skip is counted.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from enum import Enum

import libcst as cst

from .families import last_name


class AridReason(str, Enum):
    LOGGING = "arid: logging/metrics call"
    DOCSTRING = "arid: docstring"
    EXCEPTION_MESSAGE = "arid: exception message"
    TIMING_NUMBER = "arid: sleep/timeout number"


_LOG_METHODS = {
    "debug",
    "info",
    "warning",
    "warn",
    "error",
    "exception",
    "critical",
    "fatal",
    "log",
}
_LOG_RECEIVER = re.compile(r"(?i)log")
_METRIC_METHODS = {
    "inc",
    "dec",
    "observe",
    "increment",
    "decrement",
    "gauge",
    "timing",
    "histogram",
    "set_attribute",
    "set_attributes",
    "add_event",
    "record_exception",
    "labels",
    "incr",
    "decr",
}
_METRIC_RECEIVER = re.compile(
    r"(?i)metric|stats|tracer|telemetry|span|counter|gauge|histogram|prom"
)
_TIMING_NAME = re.compile(r"(?i)timeout|deadline")
_MESSAGE_KEYWORDS = {"message", "msg", "detail", "reason", "text"}


def is_logging_call(node: cst.Call) -> bool:
    if not isinstance(node.func, cst.Attribute):
        return False
    method = node.func.attr.value
    receiver = last_name(node.func.value) or ""
    if method in _LOG_METHODS and _LOG_RECEIVER.search(receiver):
        return True
    return method in _METRIC_METHODS and bool(_METRIC_RECEIVER.search(receiver))


def is_docstring(stmt: cst.CSTNode) -> bool:
    return (
        isinstance(stmt, cst.SimpleStatementLine)
        and len(stmt.body) == 1
        and isinstance(stmt.body[0], cst.Expr)
        and isinstance(stmt.body[0].value, cst.SimpleString | cst.ConcatenatedString)
    )


def arid_children(node: cst.CSTNode) -> Iterator[tuple[cst.CSTNode, AridReason]]:
    """The sub-trees of `node` that are arid, with the reason. Called once per visited node."""
    if isinstance(node, cst.Module | cst.ClassDef | cst.FunctionDef):
        body = node.body if isinstance(node, cst.Module) else node.body.body
        if isinstance(body, list | tuple) and body and is_docstring(body[0]):
            yield body[0], AridReason.DOCSTRING
    elif isinstance(node, cst.Call):
        if is_logging_call(node):
            yield node, AridReason.LOGGING
        elif last_name(node.func) == "sleep":
            for arg in node.args:
                yield arg.value, AridReason.TIMING_NUMBER
        elif last_name(node.func) in ("wait_for", "timeout"):
            positional = [a for a in node.args if a.keyword is None]
            index = 1 if last_name(node.func) == "wait_for" else 0
            if len(positional) > index:
                yield positional[index].value, AridReason.TIMING_NUMBER
    elif isinstance(node, cst.SimpleStatementLine):
        if len(node.body) == 1 and isinstance(node.body[0], cst.Expr):
            value = node.body[0].value
            if isinstance(value, cst.Await):
                value = value.expression
            if isinstance(value, cst.Call) and is_logging_call(value):
                yield node, AridReason.LOGGING
    elif isinstance(node, cst.Arg):
        if node.keyword is not None and _TIMING_NAME.search(node.keyword.value):
            yield node.value, AridReason.TIMING_NUMBER
    elif isinstance(node, cst.Assign | cst.AnnAssign):
        targets = (
            [t.target for t in node.targets] if isinstance(node, cst.Assign) else [node.target]
        )
        if node.value is not None and any(_TIMING_NAME.search(last_name(t) or "") for t in targets):
            if _is_number(node.value):
                yield node.value, AridReason.TIMING_NUMBER
    elif isinstance(node, cst.Param):
        if (
            node.default is not None
            and _TIMING_NAME.search(node.name.value)
            and _is_number(node.default)
        ):
            yield node.default, AridReason.TIMING_NUMBER
    elif isinstance(node, cst.Raise) and isinstance(node.exc, cst.Call):
        messages = [
            arg
            for arg in node.exc.args
            if (arg.keyword is None and not _is_number(arg.value))
            or (arg.keyword is not None and arg.keyword.value in _MESSAGE_KEYWORDS)
        ]
        if len(messages) == len(node.exc.args):
            # Only message arguments: any generic change to the call (dropping or replacing an
            # argument) changes the message alone.
            yield node.exc, AridReason.EXCEPTION_MESSAGE
        else:
            for arg in messages:
                yield arg.value, AridReason.EXCEPTION_MESSAGE


def _is_number(node: cst.BaseExpression) -> bool:
    if isinstance(node, cst.UnaryOperation):
        node = node.expression
    return isinstance(node, cst.BaseNumber)
