"""The whole-suite baseline: split across copies, red tests left out, headers narrowed to callers."""

from __future__ import annotations

import re
import textwrap
from dataclasses import replace

import pytest

from harness.errors import TargetError
from harness.mutation import run_mutation, scope_from_ranges
from harness.mutation.callers import def_headers
from harness.mutation.filters import ALL_TESTS, select_tests
from harness.mutation.lab import Baseline
from harness.outcomes import MutantStatus

from .conftest import options

PRICES = {
    "pkg/__init__.py": "",
    "pkg/prices.py": """
        RATE = 2


        def price(amount, rate=2):
            return amount * rate


        def label(amount):
            return str(amount) + " EUR"
    """,
    "tests/test_price.py": """
        from pkg.prices import price


        def test_price_default():
            assert price(3) == 6


        def test_price_rate():
            assert price(3, rate=3) == 9
    """,
    "tests/test_label.py": """
        from pkg.prices import label


        def test_label():
            assert label(1) == "1 EUR"


        def test_label_two():
            assert label(2) == "2 EUR"
    """,
}


def test_def_headers_span_decorators_and_signature():
    source = textwrap.dedent(
        """
        import functools


        @functools.cache
        def f(
            x=1,
        ):
            '''doc'''
            return x


        def g(): return 2


        class C:
            async def h(self):
                return 3
        """
    )
    headers = def_headers(source)
    assert {line: list(body) for line, body in headers.items()} == {
        5: [9, 10],
        6: [9, 10],
        7: [9, 10],
        8: [9, 10],
        17: [18],
    }
    assert def_headers("def broken(:\n") == {}


def test_a_header_line_selects_the_tests_that_run_the_body():
    lines = {1: [""], 4: [""], 5: ["t.py::a"], 8: ["", "t.py::b"], 9: ["t.py::b"]}
    headers = {4: range(5, 6)}
    assert select_tests(lines, [4], None, headers) == ("t.py::a",)
    # Without the header map the import-time line means every test.
    assert select_tests(lines, [4], None) == ALL_TESTS
    # A module-level line (a constant other modules may import) still means every test.
    assert select_tests(lines, [1], None, headers) == ALL_TESTS
    # A header whose body no test runs is reached by none.
    assert select_tests({4: [""]}, [4], None, headers) == ()


def test_a_changed_default_runs_only_against_the_callers(fix_repo):
    repo = fix_repo(PRICES, {"README.md": "x\n"})
    scope = scope_from_ranges(repo.path, repo.head, ["pkg/prices.py:4"])
    result = run_mutation(options(repo, scope, fork=False))
    assert result.mutants, "the default argument must be mutated"
    for mutant in result.mutants:
        assert set(mutant.tests) == {
            "tests/test_price.py::test_price_default",
            "tests/test_price.py::test_price_rate",
        }, mutant
    assert {m.status for m in result.mutants} == {MutantStatus.KILLED}


def test_the_split_baseline_maps_every_test(fix_repo):
    repo = fix_repo(PRICES, {"README.md": "x\n"})
    scope = scope_from_ranges(repo.path, repo.head, ["pkg/prices.py:5", "pkg/prices.py:9"])
    result = run_mutation(options(repo, scope, fork=False, workers=2))
    # Each copy ran its share; the merged map still has all four tests reaching the fix lines.
    assert set(result.reaching_tests) == {
        "tests/test_price.py::test_price_default",
        "tests/test_price.py::test_price_rate",
        "tests/test_label.py::test_label",
        "tests/test_label.py::test_label_two",
    }
    by_line = {m.line: m for m in result.mutants}
    assert by_line[9].status is MutantStatus.KILLED
    assert set(by_line[9].tests) == {
        "tests/test_label.py::test_label",
        "tests/test_label.py::test_label_two",
    }


RED = {
    **PRICES,
    "tests/test_network.py": """
        from pkg.prices import label


        def test_needs_network():
            assert label(5) == "5 EUR"
            raise OSError("no route to host")
    """,
}


def test_red_tests_are_left_out_only_when_asked(fix_repo):
    repo = fix_repo(RED, {"README.md": "x\n"})
    scope = scope_from_ranges(repo.path, repo.head, ["pkg/prices.py:9"])
    with pytest.raises(TargetError, match="test_needs_network"):
        run_mutation(options(repo, scope, fork=False))
    result = run_mutation(options(repo, scope, fork=False, exclude_red_tests=True))
    assert result.red_tests == ("tests/test_network.py::test_needs_network",)
    assert result.mutants
    for mutant in result.mutants:
        # Killed by the green tests; the red one neither ran nor counted.
        assert mutant.status is MutantStatus.KILLED
        assert "tests/test_network.py::test_needs_network" not in mutant.tests
        assert mutant.killing_test and mutant.killing_test.startswith("tests/test_label.py")


def test_a_baseline_that_does_not_judge_stops_even_when_red_tests_are_allowed(fix_repo):
    broken = {**PRICES, "tests/test_syntax.py": "def test_x(:\n    pass\n"}
    repo = fix_repo(broken, {"README.md": "x\n"})
    scope = scope_from_ranges(repo.path, repo.head, ["pkg/prices.py:9"])
    with pytest.raises(TargetError, match="baseline: the tests do not pass"):
        run_mutation(options(repo, scope, fork=False, exclude_red_tests=True))


SLOW = {
    "pkg/__init__.py": "",
    "pkg/count.py": """
        def countdown(n):
            steps = 0
            while n > 0:
                n -= 1
                steps += 1
            return steps
    """,
    "tests/test_count.py": """
        from pkg.count import countdown


        def test_countdown():
            assert countdown(3) == 3
    """,
    "tests/test_slow.py": """
        import time


        def test_slow():
            time.sleep(4)
    """,
}


def test_a_mutant_s_time_limit_follows_its_own_tests(fix_repo):
    baseline = Baseline(
        duration=30.0,
        engine="coverage",
        lines={},
        concurrency_tests=frozenset(),
        reaching=(),
        calls={"t/a.py::x": 1.0, "t/a.py::y": 2.0, "t/b.py::z": 20.0},
        fixtures={"t/a.py": 0.5, "t/b.py": 4.0},
        startup=1.0,
    )
    repo = fix_repo(PRICES, {"README.md": "x\n"})
    opts = options(repo, scope_from_ranges(repo.path, repo.head, ["pkg/prices.py:9"]))
    opts = replace(opts, timeout_factor=3.0, min_timeout=0.0)
    # start-up 1 + a.py's fixtures 0.5 + the call 2, times three.
    assert baseline.timeout_for(("t/a.py::y",), opts) == pytest.approx(10.5)
    # The whole suite, or a test the baseline never timed: the whole baseline.
    assert baseline.timeout_for(ALL_TESTS, opts) == pytest.approx(90.0)
    assert baseline.timeout_for(("t/c.py::new",), opts) == pytest.approx(90.0)
    # Never under the floor.
    assert baseline.timeout_for(("t/a.py::x",), replace(opts, min_timeout=10.0)) == 10.0


def test_a_hang_times_out_by_its_own_tests_not_the_slowest_elsewhere(fix_repo):
    repo = fix_repo(SLOW, {"README.md": "x\n"})
    scope = scope_from_ranges(repo.path, repo.head, ["pkg/count.py:4"])
    result = run_mutation(options(repo, scope, fork=False, min_timeout=0.0, timeout_factor=3.0))
    hangs = [m for m in result.mutants if m.status is MutantStatus.TIMEOUT]
    assert hangs, [(m.operator, m.status) for m in result.mutants]
    for mutant in hangs:
        assert mutant.tests == ("tests/test_count.py::test_countdown",)
        found = re.match(r"timeout after ([0-9.]+)s", mutant.killing_test or "")
        assert found is not None, mutant.killing_test
        limit = float(found[1])
        # Three times the whole baseline was the old limit; the 4 s sleeper is not its business.
        assert limit < 3 * result.baseline_duration - 9.0, (limit, result.baseline_duration)


def measures(monkeypatch) -> list[tuple[str, ...]]:
    """The files of every coverage map the lab measures from now on."""
    from harness.mutation import lab

    measured: list[tuple[str, ...]] = []
    real = lab._measure

    def counting(spaces, opts, files, servers=None):
        measured.append(tuple(files))
        return real(spaces, opts, files, servers)

    monkeypatch.setattr(lab, "_measure", counting)
    return measured


def suite_phase(repo, scope, own, map_files, **extra):
    """A claim's suite phase as harness.verify.claim_mutation builds it: every test, the claim's own
    left out, the map over every claim's fix files."""
    return options(
        repo,
        scope,
        workers=1,
        exclude_tests=own,
        map_files=map_files,
        exclude_red_tests=True,
        **extra,
    )


PRICE = """
        def price(amount):
            return amount * 2
    """
LABEL = """
        def label(amount):
            return str(price(amount)) + " EUR"
    """

#: Two fixes in one file; each claim's own tests, and the other claim's, reach both.
CROSSED = {
    "pkg/__init__.py": "",
    "pkg/prices.py": PRICE + "\n" + LABEL,
    "tests/test_price.py": """
        from pkg.prices import label, price


        def test_price():
            assert price(3) == 6


        def test_label_of_one():
            assert label(1) == "2 EUR"
    """,
    "tests/test_label.py": """
        from pkg.prices import label


        def test_label():
            assert label(2) == "4 EUR"
    """,
}


def test_one_coverage_map_serves_every_claims_suite_phase(fix_repo, tmp_path, monkeypatch):
    """Two claims (one per function of pkg/prices.py, each with its own test file) measure the
    whole suite once between them, and each gets what a map of its own (with its tests
    deselected, as before) gives: the other claim's tests judge its mutants, its own never do."""
    from harness.mutation.copies import CopyPool

    repo = fix_repo({"README.md": "x\n"}, CROSSED)
    claims = {
        "price": (
            scope_from_ranges(repo.path, repo.head, ["pkg/prices.py:1-2"]),
            ("tests/test_price.py",),
        ),
        "label": (
            scope_from_ranges(repo.path, repo.head, ["pkg/prices.py:5-6"]),
            ("tests/test_label.py",),
        ),
    }
    measured = measures(monkeypatch)
    with CopyPool(repo.path, tmp_path) as pool:
        shared = {
            name: run_mutation(suite_phase(repo, scope, own, ["pkg/prices.py"], copies=pool))
            for name, (scope, own) in claims.items()
        }
    assert measured == [("pkg/prices.py",)], "one whole-suite map for both claims"
    for name, (scope, own) in claims.items():
        alone = run_mutation(
            options(
                repo, scope, workers=1, exclude_red_tests=True, pytest_args=["--deselect", own[0]]
            )
        )
        assert [(m.id, m.status, m.killing_test) for m in shared[name].mutants] == [
            (m.id, m.status, m.killing_test) for m in alone.mutants
        ]
        assert shared[name].mutants and not any(
            own[0] in t for m in shared[name].mutants for t in m.tests
        )
    assert all(m.status is MutantStatus.KILLED for r in shared.values() for m in r.mutants)


def test_a_map_without_the_excluded_tests_keeps_every_other_test():
    baseline = Baseline(
        duration=1.0,
        engine="settrace",
        lines={
            "pkg/a.py": {
                3: ["t/test_a.py::test_x", "t/test_b.py::test_y", ""],
                4: ["t/test_a.py::T::test_z"],
            }
        },
        concurrency_tests=frozenset({"t/test_a.py::test_x", "t/test_b.py::test_y"}),
        reaching=(),
        calls={"t/test_a.py::test_x": 0.5, "t/test_b.py::test_y": 0.25},
    )
    from harness.mutation.lab import _without

    left = _without(baseline, ["t/test_a.py"])
    assert left.lines == {"pkg/a.py": {3: ["t/test_b.py::test_y", ""]}}  # import-time hits stay
    assert left.concurrency_tests == {"t/test_b.py::test_y"}
    assert left.calls == {"t/test_b.py::test_y": 0.25}
    assert 4 not in _without(baseline, ["t/test_a.py::T"]).lines["pkg/a.py"]
    assert _without(baseline, []) is baseline


#: Two fixes in two files, proved by one test file.
TWO_FILES = {
    "pkg/__init__.py": "",
    "pkg/prices.py": PRICE,
    "pkg/labels.py": """
        from pkg.prices import price
    """
    + "\n"
    + LABEL,
    "tests/test_all.py": """
        from pkg.labels import label
        from pkg.prices import price


        def test_price():
            assert price(3) == 6


        def test_label():
            assert label(1) == "2 EUR"
    """,
}


def test_claims_with_the_same_tests_measure_one_map_between_them(fix_repo, tmp_path, monkeypatch):
    """Two claims on different fix lines, proved by the same test file: the pipeline gives
    both every claim's fix files to record, so one run of that file under the probe serves both."""
    from harness.mutation.copies import CopyPool

    repo = fix_repo({"README.md": "x\n"}, TWO_FILES)
    scopes = [
        scope_from_ranges(repo.path, repo.head, ["pkg/prices.py:1-2"]),
        scope_from_ranges(repo.path, repo.head, ["pkg/labels.py:4-5"]),
    ]
    measured = measures(monkeypatch)

    def claim(scope, **extra):
        return options(repo, scope, workers=1, tests=["tests/test_all.py"], **extra)

    with CopyPool(repo.path, tmp_path) as pool:
        both = ["pkg/labels.py", "pkg/prices.py"]
        shared = [run_mutation(claim(s, map_files=both, copies=pool)) for s in scopes]
    assert measured == [tuple(both)]
    for scope, result in zip(scopes, shared, strict=True):
        alone = run_mutation(claim(scope))
        assert result.mutants and [(m.id, m.status, m.killing_test) for m in result.mutants] == [
            (m.id, m.status, m.killing_test) for m in alone.mutants
        ]
