"""The preloaded fork server: a mutated function's code is swapped into a project collected once.

Only where that is exact (the change is inside function bodies that did not run while the
modules loaded); everything else runs in a child that imports the mutated file itself, and a
patched child's survivor is always confirmed there.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path
from unittest import mock

import pytest

from harness.forkserver import WarmRunner
from harness.forkserver_main import _changed_functions
from harness.mutation import lab, run_mutation, scope_from_ranges
from harness.mutation.workspace import Workspace, workspaces
from harness.outcomes import MutantStatus, RunOutcome
from harness.testrun import TestRun

from .conftest import options

SOURCE = """\
LIMIT = 3


def helper(x, scale=2):
    return x * scale


def made_at_import():
    return 40


ANSWER = made_at_import() + 2


class Box:
    def size(self, items):
        return len(items) + 1

    @staticmethod
    def label(n):
        return f"box-{n}"


def outer(n):
    def inner(k):
        return k + n

    return inner(1)
"""


def _compiled(text: str):
    return compile(text, "/x/pkg/calc.py", "exec", dont_inherit=True)


def _mutated(old: str, new: str):
    assert old in SOURCE
    return _changed_functions(_compiled(SOURCE), _compiled(SOURCE.replace(old, new, 1)))


def test_a_body_change_is_confined_to_its_function():
    pairs = _mutated("return x * scale", "return x / scale")
    assert [(before.co_name, after.co_name) for before, after in pairs] == [("helper", "helper")]


def test_a_method_and_a_nested_function_patch_their_outermost_function():
    assert [b.co_qualname for b, _ in _mutated("len(items) + 1", "len(items) - 1")] == ["Box.size"]
    assert [b.co_qualname for b, _ in _mutated('f"box-{n}"', 'f"XXbox-{n}XX"')] == ["Box.label"]
    # The inner function is made anew on each call of outer: patching outer carries it.
    assert [b.co_qualname for b, _ in _mutated("return k + n", "return k - n")] == ["outer"]


@pytest.mark.parametrize(
    ("old", "new", "why"),
    [
        ("LIMIT = 3", "LIMIT = 4", "module body"),
        ("scale=2", "scale=3", "module body"),  # a default is evaluated by the def statement
        ("ANSWER = made_at_import() + 2", "ANSWER = made_at_import() - 2", "module body"),
        ("@staticmethod", "@classmethod", "class Box body"),
        # Every line after it moves: tracebacks and inspect would read the wrong lines.
        (
            "def size(self, items):\n        return",
            "def size(self, items):\n\n        return",
            "body",
        ),
    ],
)
def test_anything_outside_a_function_body_is_not_patched(old, new, why):
    found = _mutated(old, new)
    assert isinstance(found, str) and why in found, found


UNIT = {
    "pkg/__init__.py": "",
    "pkg/calc.py": SOURCE,
    "tests/test_calc.py": """
        from pkg.calc import ANSWER, Box, helper, outer

        def test_helper():
            assert helper(3) == 6

        def test_answer():
            assert ANSWER == 42

        def test_box():
            assert Box().size([1, 2]) == 3
            assert Box.label(2) == "box-2"

        def test_outer():
            assert outer(2) == 3
    """,
}


def _runner(space: Workspace, tests: list[str]) -> WarmRunner:
    runner = WarmRunner(space.root, space.forkserver, sys.executable, space.env({}))
    assert runner.preload([*tests, "-p", "no:cacheprovider", "-q"]), runner.preload_note
    return runner


def _run(runner: WarmRunner, space: Workspace, nodeid: str, patch: str | None = None):
    return runner.run(
        [nodeid],
        pytest_args=["-p", "no:cacheprovider"],
        env=space.env({}),
        timeout=60,
        preloaded=True,
        patch=patch,
    )


def test_the_server_patches_only_what_is_exact_and_says_which_mode_ran(fix_repo):
    repo = fix_repo({"README.md": "x\n"}, UNIT)
    with workspaces(repo.path, repo.head, 1) as (space,):
        runner = _runner(space, ["tests/test_calc.py"])
        try:
            calc = space.root / "pkg" / "calc.py"
            cases = [
                # (old, new, test, patched, outcome)
                ("return x * scale", "return x + scale", "test_helper", True, RunOutcome.FAILED),
                ("len(items) + 1", "len(items) + 2", "test_box", True, RunOutcome.FAILED),
                ("return k + n", "return k * n", "test_outer", True, RunOutcome.FAILED),
                # made_at_import ran while the module loaded: ANSWER holds its old result in
                # the preloaded copy, so only a fresh import shows the mutant.
                ("return 40", "return 41", "test_answer", False, RunOutcome.FAILED),
                ("scale=2", "scale=3", "test_helper", False, RunOutcome.FAILED),
                # Nothing the test reaches: a survivor from either mode (a comment compiles to
                # the same code, so the preloaded copy runs as it is).
                ("LIMIT = 3", "LIMIT = 4", "test_helper", False, RunOutcome.PASSED),
                ('f"box-{n}"', 'f"box-{n}"  # same', "test_helper", True, RunOutcome.PASSED),
            ]
            for old, new, test, patched, outcome in cases:
                previous = space.write("pkg/calc.py", SOURCE.replace(old, new, 1))
                try:
                    run, was_patched = _run(
                        runner, space, f"tests/test_calc.py::{test}", "pkg/calc.py"
                    )
                finally:
                    space.restore("pkg/calc.py", previous)
                assert (was_patched, run.outcome) == (patched, outcome), (old, run.log_tail)
            # The unmutated code passes in the preloaded copy, file restored.
            run, was_patched = _run(runner, space, "tests/test_calc.py")
            assert (was_patched, run.outcome) == (True, RunOutcome.PASSED), run.log_tail
            assert calc.read_text() == SOURCE
        finally:
            runner.close()


SPOILED = {
    **UNIT,
    # Import opens a resource and the session's end closes it: harmless once per process, but
    # the collection the preloaded copy ran has closed it before any child runs a test.
    "tests/conftest.py": """
        import io

        RESOURCE = io.StringIO()

        def pytest_sessionfinish(session):
            RESOURCE.close()
    """,
    "tests/test_resource.py": """
        from pkg.calc import helper
        from tests.conftest import RESOURCE

        def test_write():
            RESOURCE.write("x")
            assert helper(1) == 2
    """,
    "tests/__init__.py": "",
}


def test_a_copy_spoiled_by_its_collection_is_never_used(fix_repo):
    repo = fix_repo({"README.md": "x\n"}, SPOILED)
    test = "tests/test_resource.py::test_write"
    with workspaces(repo.path, repo.head, 1) as (space,):
        runner = _runner(space, [test])
        try:
            # The hazard: unmutated, the test fails in a child of the preloaded copy.
            run, was_patched = _run(runner, space, test)
            assert (was_patched, run.outcome) == (True, RunOutcome.FAILED)
            baseline = mock.Mock(spec=lab.Baseline)
            baseline.timeout_for.return_value = 60.0
            lab._check_preload(
                runner, space, [test], baseline, options(repo, scope=None, pytest_args=[])
            )
            assert runner.preloaded is False
            assert "failed" in runner.preload_note
        finally:
            runner.close()
    # And a whole run agrees with fresh interpreters, mutant by mutant.
    scope = scope_from_ranges(repo.path, repo.head, ["pkg/calc.py:4-5"])
    forked = run_mutation(options(repo, scope, tests=[test], workers=1))
    plain = run_mutation(options(repo, scope, tests=[test], workers=1, fork=False))
    assert len(forked.mutants) >= 2
    assert [(m.id, m.status) for m in forked.mutants] == [(m.id, m.status) for m in plain.mutants]
    assert MutantStatus.KILLED in {m.status for m in forked.mutants}


def test_preloaded_and_plain_runs_agree_mutant_by_mutant(fix_repo, monkeypatch):
    repo = fix_repo({"README.md": "x\n"}, UNIT)
    scope = scope_from_ranges(repo.path, repo.head, [f"pkg/calc.py:1-{SOURCE.count(chr(10))}"])
    modes: list[bool] = []
    real = WarmRunner.run

    def spy(self, *args, **kwargs):
        run, patched = real(self, *args, **kwargs)
        modes.append(patched)
        return run, patched

    monkeypatch.setattr(WarmRunner, "run", spy)
    preloaded = run_mutation(options(repo, scope, workers=1))
    plain = run_mutation(options(repo, scope, workers=1, fork=False))
    assert len(preloaded.mutants) >= 6
    # The patched mode did run (it would not, were the preloaded copy made with a mutant on disk).
    assert modes.count(True) >= 3, modes
    assert [(m.id, m.status, m.killing_test) for m in preloaded.mutants] == [
        (m.id, m.status, m.killing_test) for m in plain.mutants
    ]
    # The import-time call's mutant is among the kills, though patching could not show it.
    answer = [m for m in preloaded.mutants if m.line == 9]
    assert answer and all(m.status is MutantStatus.KILLED for m in answer)


def _test_run(outcome: RunOutcome) -> TestRun:
    return TestRun(
        outcome=outcome,
        exit_code=0 if outcome is RunOutcome.PASSED else 1,
        duration=0.1,
        failed=() if outcome is RunOutcome.PASSED else ("tests/t.py::t",),
        passed=(),
        log_tail="",
        command=("fork",),
    )


@pytest.mark.parametrize(
    ("patched_outcome", "kept"),
    [
        (RunOutcome.FAILED, True),
        (RunOutcome.TIMED_OUT, True),
        (RunOutcome.PASSED, False),  # a survivor decides a verdict: confirmed fresh
        (RunOutcome.CRASHED, False),  # a crash may be the patch's
        (RunOutcome.INTERNAL_ERROR, False),
        (RunOutcome.NOT_COLLECTED, False),
    ],
)
def test_only_a_failure_or_a_timeout_is_taken_from_a_patched_child(patched_outcome, kept):
    fork = mock.Mock(spec=WarmRunner)
    fork.preloaded = True
    fresh = _test_run(RunOutcome.FAILED)
    fork.run.side_effect = [(_test_run(patched_outcome), True), (fresh, False)]
    run = lab._forked_run(fork, ["tests/t.py::t"], [], {}, 10.0, "pkg/m.py")
    assert fork.run.call_count == (1 if kept else 2)
    if not kept:
        assert run is fresh
        assert fork.run.call_args.kwargs.get("patch") is None
        # A survivor leaves the copy in use; anything stranger turns patching off.
        assert fork.preloaded is (patched_outcome is RunOutcome.PASSED)


def test_the_server_imports_only_the_standard_library_and_pytest():
    # It runs with the project's interpreter, which need not have the harness installed
    # (pytest's distribution ships both `pytest` and `_pytest`).
    tree = ast.parse((Path(lab.__file__).parents[1] / "forkserver_main.py").read_text())
    imported = {
        alias.name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    } | {
        node.module.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module and not node.level
    }
    assert imported - set(sys.stdlib_module_names) == {"pytest", "_pytest"}, imported


SEEDED = {
    "pkg/__init__.py": "",
    "pkg/m.py": "def f(x):\n    y = x + 1\n    z = y * 2\n    return x\n",
    "tests/test_m.py": """
        import os

        from pkg.m import f


        def test_seeded():
            f(1)  # checks nothing: every mutant survives and gets all its runs
            with open(os.environ["SEED_LOG"], "a") as log:
                log.write(f"{os.environ.get('FIXGUARD_SEED')} {hash('fixguard')}\\n")
        """,
}


def test_each_k_of_n_run_forks_from_a_server_with_its_own_hash_seed(
    fix_repo, tmp_path, monkeypatch
):
    repo = fix_repo({"README.md": "x\n"}, SEEDED)
    scope = scope_from_ranges(repo.path, repo.head, ["pkg/m.py:3"])
    log = tmp_path / "seeds.log"
    forked: list[bool] = []
    real = WarmRunner.run

    def spy(self, *args, **kwargs):
        forked.append(True)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(WarmRunner, "run", spy)
    result = run_mutation(
        options(
            repo,
            scope,
            workers=1,
            repeats=3,
            concurrency=True,
            tests=["tests/test_m.py::test_seeded"],
            env={"SEED_LOG": str(log)},
        )
    )
    assert len(result.mutants) >= 2
    assert all(m.status is MutantStatus.SURVIVED and m.runs == 3 for m in result.mutants), [
        (m.operator, m.status, m.runs, m.killing_test) for m in result.mutants
    ]
    runs = [line.split() for line in log.read_text().splitlines()]
    # The baseline's run logs too (no seed set there); then three per mutant. Every one of
    # them forked, the baseline included.
    seeded = [(seed, value) for seed, value in runs if seed != "None"]
    assert len(seeded) == 3 * len(result.mutants) == len(forked) - 1 == len(runs) - 1
    for seed in ("1", "2", "3"):
        fresh = subprocess.run(
            [sys.executable, "-c", "print(hash('fixguard'))"],
            env={**os.environ, "PYTHONHASHSEED": seed},
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        assert {value for s, value in seeded if s == seed} == {fresh}


EXITS = {
    "pkg/__init__.py": "",
    "pkg/m.py": "import os\n\n\ndef leave(code):\n    os._exit(code)\n",
    "tests/test_m.py": """
        from pkg.m import leave


        def test_leaves():
            leave(0)
        """,
}


@pytest.mark.parametrize("preloaded", [False, True])
def test_a_child_that_exits_0_before_pytest_finishes_is_a_crash_as_in_a_new_interpreter(
    fix_repo, preloaded
):
    from harness.testrun import run_pytest

    repo = fix_repo({"README.md": "x\n"}, EXITS)
    test = "tests/test_m.py::test_leaves"
    with workspaces(repo.path, repo.head, 1) as (space,):
        fresh = run_pytest(
            space.root,
            [test],
            python=sys.executable,
            pytest_args=["-p", "no:cacheprovider"],
            env=space.env({}),
        )
        runner = WarmRunner(space.root, space.forkserver, sys.executable, space.env({}))
        try:
            if preloaded:
                assert runner.preload([test, "-p", "no:cacheprovider"]), runner.preload_note
            forked, _ = (
                _run(runner, space, test)
                if preloaded
                else runner.run(
                    [test], pytest_args=["-p", "no:cacheprovider"], env=space.env({}), timeout=60
                )
            )
        finally:
            runner.close()
    assert fresh.outcome is RunOutcome.CRASHED
    assert (forked.exit_code, forked.outcome) == (0, RunOutcome.CRASHED)
