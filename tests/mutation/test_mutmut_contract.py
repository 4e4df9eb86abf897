"""mutmut's internals that the generic operators import. If mutmut moves them, fail loudly here."""

from __future__ import annotations

import libcst as cst

from harness.mutation import generic


def test_mutmut_is_the_pinned_version():
    import mutmut

    assert mutmut.__version__ == generic.MUTMUT_VERSION == "3.8.1", (
        "mutmut was upgraded: re-check harness/mutation/generic.py against its operator table "
        "(mutmut.mutation.mutators.mutation_operators) and update the pin"
    )


def test_operator_table_shape():
    from mutmut.mutation.file_mutation import NEVER_MUTATE_FUNCTION_CALLS
    from mutmut.mutation.mutators import mutation_operators

    assert len(mutation_operators) >= 10
    for node_type, operator in mutation_operators:
        assert isinstance(node_type, type) and issubclass(node_type, cst.CSTNode)
        assert callable(operator)
    names = {generic.operator_name(op) for _, op in mutation_operators}
    assert {"number", "string", "name", "swap_op", "arg_removal", "assignment"} <= names
    assert {"len", "isinstance"} <= set(NEVER_MUTATE_FUNCTION_CALLS)


def test_operators_map_nodes_to_nodes():
    comparison = cst.parse_expression("a < b")
    assert isinstance(comparison, cst.Comparison)
    target = comparison.comparisons[0]
    edits = list(generic.generic_edits(target))
    module = cst.Module(body=[])
    rendered = {module.code_for_node(next(iter(e.replacements.values()))) for e in edits}
    assert " <= b" in rendered
    number = cst.parse_expression("41")
    (edit,) = [e for e in generic.generic_edits(number) if e.operator == "number"]
    assert module.code_for_node(edit.replacements[number]) == "42"
