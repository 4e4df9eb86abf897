"""Generic operators: mutmut 3.8.1's operator table, used as a library (libcst node in, nodes out).

We import `mutmut.mutation.mutators.mutation_operators` and mutmut's never-mutate lists. These
are mutmut internals, so the version is pinned in pyproject.toml and
`tests/mutation/test_mutmut_contract.py` fails loudly when they move.
"""

from __future__ import annotations

from collections.abc import Iterator

import libcst as cst
import mutmut
from mutmut.mutation.file_mutation import NEVER_MUTATE_FUNCTION_CALLS
from mutmut.mutation.mutators import mutation_operators

from .families import Edit, Family

MUTMUT_VERSION = "3.8.1"

if mutmut.__version__ != MUTMUT_VERSION:  # pragma: no cover - guarded by the contract test
    raise ImportError(
        f"mutmut=={mutmut.__version__!r}: the harness reuses mutmut {MUTMUT_VERSION}'s internal "
        f"operator table (pip install mutmut=={MUTMUT_VERSION})"
    )


def operator_name(func: object) -> str:
    name = getattr(func, "__name__", repr(func))
    return name.removeprefix("operator_")


def skip_subtree(node: cst.CSTNode) -> bool:
    """mutmut's own rules for code no generic operator should touch (definition-time code)."""
    if isinstance(node, cst.Annotation | cst.Decorator):
        return True
    if isinstance(node, cst.Call) and isinstance(node.func, cst.Name):
        if node.func.value in NEVER_MUTATE_FUNCTION_CALLS:
            return True
    return bool(
        isinstance(node, cst.Param)
        and node.default is not None
        and not isinstance(node.default, cst.Name | cst.BaseNumber | cst.BaseString)
    )


def generic_edits(node: cst.CSTNode) -> Iterator[Edit]:
    """Every mutation mutmut's table makes of this one node, as edits of family GENERIC."""
    for node_type, operator in mutation_operators:
        if not isinstance(node, node_type):
            continue
        for mutated in operator(node):
            yield Edit(Family.GENERIC, operator_name(operator), node, {node: mutated})
