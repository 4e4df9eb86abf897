"""Import removal: delete an import the fix added, so its name is undefined again.

The fix for a missing import (seeds 000, 003, 004: `datetime`, `wave`, `log` used only on an
``except`` branch) is one added line. Its mutant deletes the import again; Python notices only
when the code that uses the name runs, so a surviving mutant means no test drives that branch.

| operator        | what it does                                                            |
|-----------------|-------------------------------------------------------------------------|
| import-removal  | `import a` / `from m import a` on a fix line → deleted (`pass` if the   |
|                 | block would be empty); `from m import a, b` → `from m import b`, one    |
|                 | name per mutant (the line's first name; one mutant per family per line) |

`from __future__ import …` and star imports are left alone: removing them changes how the
module compiles, not which names exist.
"""

from __future__ import annotations

from collections.abc import Iterator

import libcst as cst

from .families import Edit, Family, Replacement

OPERATOR = "import-removal"


def import_removal(stmt: cst.SimpleStatementLine) -> Iterator[Edit]:
    """One edit per imported name of a one-import line: that name's import deleted."""
    if len(stmt.body) != 1 or not isinstance(stmt.body[0], cst.Import | cst.ImportFrom):
        return
    node = stmt.body[0]
    if isinstance(node, cst.ImportFrom) and _is_future(node):
        return
    if isinstance(node.names, cst.ImportStar):
        return
    aliases = list(node.names)
    if len(aliases) == 1:
        remove: dict[cst.CSTNode, Replacement] = {stmt: cst.RemovalSentinel.REMOVE}
        yield Edit(Family.IMPORT_REMOVAL, OPERATOR, stmt, remove)
        return
    for i in range(len(aliases)):
        kept = [a for j, a in enumerate(aliases) if j != i]
        kept[-1] = kept[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
        changed: cst.Import | cst.ImportFrom = node.with_changes(names=kept)
        if isinstance(changed, cst.ImportFrom) and changed.lpar is not None and len(kept) == 1:
            changed = changed.with_changes(lpar=None, rpar=None)
        yield Edit(Family.IMPORT_REMOVAL, OPERATOR, stmt, {node: changed})


def _is_future(node: cst.ImportFrom) -> bool:
    module = node.module
    return isinstance(module, cst.Name) and module.value == "__future__" and not node.relative
