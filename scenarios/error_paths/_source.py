"""Where the except branches of a function are: its try statements, their bodies and handlers."""

from __future__ import annotations

import ast
import inspect
import textwrap
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Handler:
    """One ``except`` clause of a bound function."""

    function: str  # the binding's name for the function
    file: str
    line: int  # the ``except`` line
    body: tuple[int, int]  # first and last line of the try body it guards
    clause: str  # "except httpx.HTTPError as exc"
    type_source: str | None  # "httpx.HTTPError", None for a bare except
    order: int  # position among the try's handlers

    @property
    def label(self) -> str:
        return f"{self.file}:{self.line} `{self.clause}` in {self.function}"


def unwrap(obj: Any) -> Any:
    """The plain function behind a method, staticmethod, classmethod or functools.wraps."""
    obj = getattr(obj, "__func__", obj)
    return inspect.unwrap(obj)


def handlers_of(name: str, func: Any) -> list[Handler]:
    """Every except clause inside `func` (nested functions included), in source order."""
    func = unwrap(func)
    file = inspect.getsourcefile(func) or "<unknown>"
    lines, start = inspect.getsourcelines(func)
    tree = ast.parse(textwrap.dedent("".join(lines)))
    offset = start - 1
    found: list[Handler] = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Try | ast.TryStar) or not node.handlers:
            continue
        body = (node.body[0].lineno + offset, (node.body[-1].end_lineno or 0) + offset)
        for order, handler in enumerate(node.handlers):
            type_source = ast.unparse(handler.type) if handler.type is not None else None
            clause = "except" + (f" {type_source}" if type_source else "")
            clause += f" as {handler.name}" if handler.name else ""
            found.append(
                Handler(name, file, handler.lineno + offset, body, clause, type_source, order)
            )
    return sorted(found, key=lambda h: h.line)


def code_span(func: Any) -> tuple[str, int, int]:
    """(file, first line, last line) of `func`'s source, to recognise its frames."""
    func = unwrap(func)
    lines, start = inspect.getsourcelines(func)
    return inspect.getsourcefile(func) or "<unknown>", start, start + len(lines) - 1
