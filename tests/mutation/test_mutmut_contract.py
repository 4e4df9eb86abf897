"""mutmut's internals that the generic operators import. If mutmut moves them, fail loudly here."""

from __future__ import annotations

import tomllib
from pathlib import Path

import libcst as cst

from harness.mutation import generic

ROOT = Path(__file__).resolve().parents[2]


def test_the_installed_mutmut_is_in_the_range_pyproject_admits():
    import mutmut

    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    (declared,) = [d for d in deps if d.startswith("mutmut")]
    assert declared == f"mutmut{generic.MUTMUT_RANGE}"
    assert (3, 8, 1) <= generic._release(mutmut.__version__) < (3, 9), (
        "mutmut was upgraded: re-check harness/mutation/generic.py against its operator table "
        "(mutmut.mutation.mutators.mutation_operators), then widen MUTMUT_RANGE and pyproject"
    )


def test_release_parsing_admits_patch_releases_only():
    assert generic._release("3.8.1") == (3, 8, 1)
    assert generic._release("3.8.2rc1") == (3, 8, 2)
    assert not (3, 8, 1) <= generic._release("3.9.0") < (3, 9)
    assert not (3, 8, 1) <= generic._release("3.8.0") < (3, 9)


#: Every generic mutant mutmut 3.8.1's table makes of SNIPPET. A release inside the range that
#: changes one of them changes what the calibration suite measured: this fails first.
SNIPPET = """def f(a, b):
    x = a + 1
    if a < b and not x:
        return "yes"
    s = len(a) or None
    b += 2
    return max(a, b, key=abs)
"""
GOLDEN = [
    ("assignment", "x = a + 1", "x = None"),
    ("swap_op", "a + 1", "a - 1"),
    ("number", "1", "2"),
    ("swap_op", "a < b and not x", "a < b or not x"),
    ("swap_op", " < b", " <= b"),
    ("remove_unary_ops", "not x", "x"),
    ("string", '"yes"', '"XXyesXX"'),
    ("string", '"yes"', '"YES"'),
    ("assignment", "s = len(a) or None", "s = None"),
    ("swap_op", "len(a) or None", "len(a) and None"),
    ("arg_removal", "len(a)", "len(None)"),
    ("augmented_assignment", "b += 2", "b = 2"),
    ("swap_op", "b += 2", "b -= 2"),
    ("number", "2", "3"),
    ("arg_removal", "max(a, b, key=abs)", "max(None, b, key=abs)"),
    ("arg_removal", "max(a, b, key=abs)", "max(a, None, key=abs)"),
    ("arg_removal", "max(a, b, key=abs)", "max(a, b, key=None)"),
    ("arg_removal", "max(a, b, key=abs)", "max(b, key=abs)"),
    ("arg_removal", "max(a, b, key=abs)", "max(a, key=abs)"),
    ("arg_removal", "max(a, b, key=abs)", "max(a, b, )"),
]


def test_the_operator_table_makes_exactly_the_recorded_mutants():
    module = cst.parse_module(SNIPPET)
    made: list[tuple[str, str, str]] = []

    class Each(cst.CSTVisitor):
        def on_visit(self, node: cst.CSTNode) -> bool:
            for edit in generic.generic_edits(node):
                for old, new in edit.replacements.items():
                    assert isinstance(new, cst.CSTNode)
                    made.append(
                        (edit.operator, module.code_for_node(old), module.code_for_node(new))
                    )
            return True

    module.visit(Each())
    assert made == GOLDEN


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
    replaced = [next(iter(e.replacements.values())) for e in edits]
    rendered = {module.code_for_node(n) for n in replaced if isinstance(n, cst.CSTNode)}
    assert " <= b" in rendered
    number = cst.parse_expression("41")
    (edit,) = [e for e in generic.generic_edits(number) if e.operator == "number"]
    forty_two = edit.replacements[number]
    assert isinstance(forty_two, cst.CSTNode) and module.code_for_node(forty_two) == "42"
