"""Function headers: lines that run at import, but whose mutants only its callers can notice.

A `def` line, its decorators and a multi-line signature run once, when the module is imported,
so the line probe records them under the import-time context, which would select every test
of the suite. A changed default, decorator or signature, though, shows only when the function
is called, and a call runs its body. So a header line's tests are the tests that reach the body.
(A class body is not narrowed: its attributes are read by code anywhere.)
"""

from __future__ import annotations

import ast
from collections.abc import Mapping

FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)


def def_headers(source: str) -> Mapping[int, range]:
    """Header line → the function's body lines, for every function in `source`.

    The header runs from the first decorator to the line before the body's first statement; a
    one-line `def f(): ...` has no header of its own (its line is its body). Source that does
    not parse has no headers: its lines keep the import-time rule.
    """
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return {}
    headers: dict[int, range] = {}
    for node in ast.walk(tree):
        if not isinstance(node, FUNCTIONS) or not node.body:
            continue
        first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
        body_start = node.body[0].lineno
        body = range(body_start, (node.end_lineno or body_start) + 1)
        for line in range(first, body_start):
            headers[line] = body
    return headers
