"""Generic operators: mutmut 3.8's operator table, used as a library (libcst node in, nodes out).

We import `mutmut.mutation.mutators.mutation_operators` and mutmut's never-mutate lists. These
are mutmut internals, so pyproject.toml admits only the releases `MUTMUT_RANGE` names (3.8.x,
from 3.8.1), and `tests/mutation/test_mutmut_contract.py` fails loudly when they move: the
table's shape, and the exact mutants it makes of a fixed snippet.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import libcst as cst
import mutmut
from mutmut.mutation.file_mutation import NEVER_MUTATE_FUNCTION_CALLS
from mutmut.mutation.mutators import mutation_operators

from .families import Edit, Family

#: The releases whose operator table the contract test was run against: 3.8.x from 3.8.1.
MUTMUT_RANGE = ">=3.8.1,<3.9"
_LOWEST, _BELOW = (3, 8, 1), (3, 9)


def _release(version: str) -> tuple[int, ...]:
    """The leading numbers of a version: "3.8.2rc1" -> (3, 8, 2)."""
    numbers = re.match(r"(\d+)(?:\.(\d+))?(?:\.(\d+))?", version)
    return tuple(int(n) for n in numbers.groups() if n is not None) if numbers else ()


if not _LOWEST <= _release(mutmut.__version__) < _BELOW:  # pragma: no cover - the contract test
    raise ImportError(
        f"mutmut=={mutmut.__version__}: the harness reuses mutmut's internal operator table, "
        f"which it was checked against for mutmut{MUTMUT_RANGE} (pip install 'mutmut{MUTMUT_RANGE}')"
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
