"""The runner: kills and survivors, k-of-n, timeouts, NO_MUTANTS, baseline and reach errors."""

from __future__ import annotations

import pytest

from harness.errors import TargetError
from harness.mutation import lab, run_mutation, scope_from_diff, scope_from_ranges
from harness.mutation.store import ResultStore
from harness.outcomes import MutantStatus

from .conftest import LOCK_BASE, LOCK_FIX, mutate_args, options


def by_operator(result):
    return {m.operator: m for m in result.mutants}


def test_lock_removal_is_killed_k_of_n_and_stored(fix_repo, tmp_path):
    repo = fix_repo(LOCK_BASE, LOCK_FIX)
    scope = scope_from_diff(repo.path, repo.base, repo.head)
    store = tmp_path / "store.sqlite3"
    result = run_mutation(options(repo, scope, repeats=3, min_kills=2, store=store))
    assert not result.no_mutants
    assert result.coverage_engine in ("coverage", "settrace")
    assert "tests/test_tickets.py::test_cap_holds_under_concurrency" in result.reaching_tests
    lock = by_operator(result)["with-lock-removal"]
    assert lock.family == "sync removal"
    assert lock.status is MutantStatus.KILLED
    assert lock.kills >= 2 and lock.runs >= 2 and lock.k_of_n == f"{lock.kills}/{lock.runs}"
    assert lock.killing_test == "tests/test_tickets.py::test_cap_holds_under_concurrency"
    assert "-        with self._lock:" in lock.diff
    assert result.all_detected, [(m.operator, m.status) for m in result.mutants]
    # every mutant is in the store, with its k/n
    rows = {row[0]: row for row in ResultStore(store).all()}
    assert set(rows) == {m.id for m in result.mutants}
    assert rows[lock.id][1:] == ("killed", lock.kills, lock.runs)


MISC = {
    "pkg/__init__.py": "",
    "pkg/calc.py": """
        import time


        def total(items, audit):
            audit.append(len(items))
            return sum(items)


        def spin(n):
            i = 0
            while i < n:
                time.sleep(0.01)
                i += 1
            return i


        def unused(x):
            return x * 2
        """,
    "tests/test_calc.py": """
        from pkg.calc import spin, total


        def test_total():
            assert total([1, 2], []) == 3


        def test_spin():
            assert spin(3) == 3
        """,
}


def test_survivor_timeout_and_no_coverage(fix_repo):
    repo = fix_repo({"README.md": "x\n"}, MISC)
    # line 5: audit.append (unchecked), line 13: i += 1 (deleting it hangs), line 18: unreached
    scope = scope_from_ranges(
        repo.path, repo.head, ["pkg/calc.py:5", "pkg/calc.py:13", "pkg/calc.py:18"]
    )
    result = run_mutation(options(repo, scope, min_timeout=4.0, timeout_factor=0.0))
    statuses = {(m.line, m.operator): m for m in result.mutants}
    deleted_audit = statuses[(5, "delete-statement")]
    assert deleted_audit.status is MutantStatus.SURVIVED and deleted_audit.killing_test is None
    assert deleted_audit.tests == ("tests/test_calc.py::test_total",)
    hang = statuses[(13, "delete-statement")]
    assert hang.status is MutantStatus.TIMEOUT
    assert hang.status.is_detected and (hang.killing_test or "").startswith("timeout after 4.0s")
    unreached = [m for m in result.mutants if m.line == 18]
    assert unreached and all(
        m.status is MutantStatus.NO_COVERAGE and m.runs == 0 for m in unreached
    )
    assert not result.all_detected


def test_empty_scope_is_no_mutants_never_a_pass(fix_repo, capsys):
    repo = fix_repo(
        {"pkg/m.py": "def f(x):\n    return x  # old\n"},
        {
            "pkg/m.py": "def f(x):\n    return x  # new comment\n",
            "tests/test_m.py": "def test(): pass\n",
        },
    )
    scope = scope_from_diff(repo.path, repo.base, repo.head)
    result = run_mutation(options(repo, scope))
    assert result.no_mutants and result.mutants == [] and not result.all_detected

    from harness.cli.main import main

    code = main(mutate_args(repo, repo.path.parent / "s.db"))
    assert code == 1
    assert "NO_MUTANTS" in capsys.readouterr().err


def test_red_baseline_stops_the_run(fix_repo):
    broken = dict(LOCK_FIX)
    broken["tests/test_tickets.py"] = "def test_broken():\n    assert False\n"
    repo = fix_repo(LOCK_BASE, broken)
    scope = scope_from_diff(repo.path, repo.base, repo.head)
    with pytest.raises(TargetError, match="baseline: the tests do not pass") as info:
        run_mutation(options(repo, scope))
    assert "test_broken" in str(info.value)


def test_tests_that_never_reach_the_fix_lines_are_an_error(fix_repo):
    repo = fix_repo({"README.md": "x\n"}, MISC)
    scope = scope_from_ranges(repo.path, repo.head, ["pkg/calc.py:18"])
    with pytest.raises(TargetError, match="no selected test reaches the fix lines"):
        run_mutation(options(repo, scope, tests=["tests/test_calc.py::test_total"]))


CHILD = {
    "pkg/__init__.py": "",
    "pkg/guard.py": """
        def check(x):
            if x < 0:
                raise SystemExit(3)
            return x
        """,
    "tests/test_child.py": """
        import subprocess
        import sys


        def test_negative_exits_3_in_a_child_process():
            code = "from pkg.guard import check; check(-1)"
            assert subprocess.run([sys.executable, "-c", code]).returncode == 3
        """,
}


def test_fix_lines_reached_only_in_a_child_process_count_as_reached(fix_repo):
    repo = fix_repo({"README.md": "x\n"}, CHILD)
    scope = scope_from_ranges(repo.path, repo.head, ["pkg/guard.py:2-3"])
    result = run_mutation(options(repo, scope))
    guard = by_operator(result)["guard-delete"]
    assert guard.status is MutantStatus.KILLED
    assert guard.killing_test == "tests/test_child.py::test_negative_exits_3_in_a_child_process"


def test_fork_server_and_plain_subprocesses_agree(fix_repo):
    repo = fix_repo({"README.md": "x\n"}, MISC)
    scope = scope_from_ranges(repo.path, repo.head, ["pkg/calc.py:5-6"])
    forked = run_mutation(options(repo, scope, fork=True, workers=1))
    plain = run_mutation(options(repo, scope, fork=False, workers=1))
    assert len(forked.mutants) >= 2  # enough single runs for the fork server to start
    assert [(m.id, m.status, m.killing_test) for m in forked.mutants] == [
        (m.id, m.status, m.killing_test) for m in plain.mutants
    ]
    assert {m.status for m in forked.mutants} == {MutantStatus.KILLED, MutantStatus.SURVIVED}


def test_a_pytest_crash_in_the_fork_server_is_rerun_fresh_never_a_kill(fix_repo):
    # `filterwarnings = error` turns pytest's "already imported, cannot be rewritten" warning
    # about a plugin the fork server pre-imported into an INTERNALERROR before any test runs.
    config = '[tool.pytest.ini_options]\nfilterwarnings = ["error"]\n'
    base = {
        "pyproject.toml": config,
        "pkg/__init__.py": "",
        "pkg/m.py": "def f(x):\n    return x\n",
    }
    fix = {
        "pkg/m.py": (
            "def f(x):\n    a = x + 1\n    b = x + 2\n    c = x + 3\n    d = x + 4\n    return x\n"
        ),
        "tests/test_m.py": "from pkg.m import f\n\n\ndef test_f():\n    assert f(1) == 1\n",
    }
    repo = fix_repo(base, fix)
    scope = scope_from_diff(repo.path, repo.base, repo.head)
    # Plugins load (no `-p no:…`), so the baseline imports them and the fork server pre-imports them.
    result = run_mutation(
        options(repo, scope, tests=["tests/test_m.py::test_f"], workers=1, pytest_args=[])
    )
    assert len(result.mutants) >= 4  # enough to start the fork server
    # None of these assignments matter to the test: every mutant survives, none is "killed"
    # by pytest failing to start.
    assert {m.status for m in result.mutants} == {MutantStatus.SURVIVED}, [
        (m.operator, m.status, m.killing_test) for m in result.mutants
    ]


def test_a_perturbed_result_is_reused_only_while_the_perturbation_is_the_same_code(
    fix_repo, tmp_path, monkeypatch
):
    repo = fix_repo(LOCK_BASE, LOCK_FIX)
    scope = scope_from_diff(repo.path, repo.base, repo.head)
    store = tmp_path / "store.sqlite3"
    perturbed = options(repo, scope, store=store, perturb="preempt:files=pkg/tickets.py")
    first = run_mutation(perturbed)
    assert first.mutants and not any(m.cached for m in first.mutants)
    again = run_mutation(perturbed)
    assert all(m.cached for m in again.mutants)
    # Another plugin (an upgrade of the harness): its runs may judge a mutant differently.
    monkeypatch.setattr(lab, "perturb_plugin_digest", lambda: "another-plugin")
    changed = run_mutation(perturbed)
    assert not any(m.cached for m in changed.mutants)
    assert {m.id: m.status for m in changed.mutants} == {m.id: m.status for m in first.mutants}
