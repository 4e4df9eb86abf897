"""`proofs.prove` on hand-built line probes: which F2P tests prove a hunk that runs only at
import time (an import, a constant, a class), and why the rest stay unproven."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from harness.verify import proofs
from harness.verify.prmode import PrHunk

T1 = "tests/test_a.py::test_one"
T2 = "tests/test_a.py::test_two"
MOD = "pkg/mod.py"

#: Line numbers are 1-based; the probe comments name what coverage records for each line.
SOURCE = (
    "import os\n"  # 1  ran at import
    "\n"  # 2
    "LIMITS = {\n"  # 3  ran at import: coverage files the whole statement under line 3
    '    "low": 1,\n'  # 4
    '    "high": 9,\n'  # 5
    "}\n"  # 6
    "\n"  # 7
    "\n"  # 8
    "class Config:\n"  # 9  ran at import
    "    timeout = 5\n"  # 10 ran at import
    "\n"  # 11
    "\n"  # 12
    "def low():\n"  # 13 header: ran at import
    '    return LIMITS["low"]\n'  # 14 run by T1
    "\n"  # 15
    "\n"  # 16
    "def high(scale=2):\n"  # 17 header: ran at import
    '    return LIMITS["high"] * scale\n'  # 18 run by T2
    "\n"  # 19
    "\n"  # 20
    "def unused(flag=False):\n"  # 21 header: ran at import
    "    return flag\n"  # 22 never ran
    "\n"  # 23
    "\n"  # 24
    "try:\n"  # 25 ran at import
    "    import json\n"  # 26 ran at import
    "except ImportError:\n"  # 27
    "    json = None\n"  # 28 never ran
)
LINES: dict[int, list[str]] = {
    1: [""],
    3: [""],
    9: [""],
    10: [""],
    13: [""],
    14: [T1],
    17: [""],
    18: [T2],
    21: [""],
    25: [""],
    26: [""],
}


def hunk(start: int, end: int | None = None, diff: str = "", file: str = MOD) -> PrHunk:
    return PrHunk(file, start, start if end is None else end, diff)


def prove(
    hunks: Sequence[PrHunk],
    lines: Mapping[str, Mapping[int, Sequence[str]]] | None = None,
    f2p: Sequence[str] = (T1, T2),
) -> tuple[dict[tuple[str, ...], list[str]], list[tuple[str, str]]]:
    """prove() as (test set → hunks, [(unproven hunk, why)]), for short assertions."""
    claims, unproven = proofs.prove(
        hunks, {MOD: LINES} if lines is None else lines, {MOD: SOURCE}, set(f2p)
    )
    return (
        {c.tests: [str(h) for h in c.hunks] for c in claims},
        [(str(h), h.why) for h in unproven],
    )


def test_import_time_hunks_get_the_f2p_tests_that_run_code_of_their_file() -> None:
    # The import, a later line of a multi-line constant (never recorded on its own), a class
    # attribute and a module-level try: all ran outside any test, and both F2P tests run
    # functions of this file.
    claims, unproven = prove([hunk(1), hunk(5), hunk(10), hunk(26)])
    assert claims == {
        (T1, T2): ["pkg/mod.py:1-1", "pkg/mod.py:5-5", "pkg/mod.py:10-10", "pkg/mod.py:26-26"]
    }
    assert unproven == []


def test_a_hunk_a_test_reaches_keeps_its_own_tests() -> None:
    # low()'s body is run by T1 only: its claim is not widened to the file's tests, so the
    # import-time hunk, proven by both, is a claim of its own.
    claims, _ = prove([hunk(3), hunk(14), hunk(17)])
    assert claims == {
        (T1, T2): ["pkg/mod.py:3-3"],
        (T1,): ["pkg/mod.py:14-14"],
        (T2,): ["pkg/mod.py:17-17"],
    }


def test_an_import_time_hunk_joins_the_one_claim_of_its_own_file() -> None:
    # The fix adds an import and uses it in low(), which only T1 runs. T2 also runs code of
    # this file (an app that builds every module would make every test do so), but the import
    # belongs with low()'s fix, not with a claim of its own proven by every test.
    claims, unproven = prove([hunk(1), hunk(14)])
    assert claims == {(T1,): ["pkg/mod.py:1-1", "pkg/mod.py:14-14"]}
    assert unproven == []


def test_a_deleted_module_line_is_proven_by_the_lines_around_it() -> None:
    # A removed `import sys` between lines 1 and 2: line 1 ran at import.
    claims, unproven = prove([hunk(1, diff="@@ -2,1 +1,0 @@\n-import sys\n")])
    assert claims == {(T1, T2): ["pkg/mod.py:1-1"]}
    assert unproven == []


def test_what_no_f2p_test_runs_stays_unproven_with_the_reason() -> None:
    _, unproven = prove([hunk(21), hunk(22), hunk(28)])
    assert unproven == [
        # A changed default of a function no F2P test calls: running the def line at import
        # shows nothing about it.
        ("pkg/mod.py:21-21", proofs.NOT_CALLED),
        ("pkg/mod.py:22-22", proofs.NEVER_RAN),
        # The except branch of the module-level try never ran.
        ("pkg/mod.py:28-28", proofs.NEVER_RAN),
    ]


def test_an_import_time_hunk_in_a_file_no_f2p_test_runs_is_unproven() -> None:
    # Only the import ran: the functions were run by a test that is not F2P, or by none.
    only_import = {n: [c for c in ctx if c == ""] for n, ctx in LINES.items()}
    only_import[14] = ["tests/test_a.py::test_p2p"]
    _, unproven = prove([hunk(3), hunk(10)], {MOD: only_import})
    assert unproven == [
        ("pkg/mod.py:3-3", proofs.IMPORT_ONLY),
        ("pkg/mod.py:10-10", proofs.IMPORT_ONLY),
    ]


def test_without_f2p_tests_every_hunk_is_unproven() -> None:
    claims, unproven = prove([hunk(3), hunk(14)], f2p=())
    assert claims == {}
    assert unproven == [("pkg/mod.py:3-3", proofs.NO_F2P), ("pkg/mod.py:14-14", proofs.NO_F2P)]


def test_a_function_body_run_at_import_counts_as_import_time() -> None:
    # `DEFAULTS = build()` at module level runs build()'s body outside any test.
    lines = {**LINES, 22: [""]}
    claims, _ = prove([hunk(22)], {MOD: lines})
    assert claims == {(T1, T2): ["pkg/mod.py:22-22"]}


def test_the_import_time_statements_of_a_module() -> None:
    spans = [(s.start, s.stop - 1) for s in proofs.import_statements(SOURCE)]
    # Module and class statements with all their lines, compound headers, not function code.
    assert spans == [(1, 1), (3, 6), (9, 9), (10, 10), (25, 25), (26, 26), (28, 28)]
    assert proofs.import_statements("def broken(:\n") == []
