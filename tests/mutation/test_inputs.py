"""Inputs: what a run depends on, by content, and what a push does to each run's key."""

from __future__ import annotations

import itertools
import subprocess
import sys

from harness.mutation import count_mutants, lab, run_mutation, scope_from_diff
from harness.mutation.inputs import EVERY_TEST, Inputs, blob_id, environment
from harness.outcomes import MutantStatus

from .conftest import FixRepo, _git, _write, options

PROJECT = {
    "pkg/__init__.py": "",
    "pkg/calc.py": "def double(x):\n    return x * 2\n",
    "pkg/rates.json": '{"vat": 20}\n',
    "README.md": "# calc\n",
    "docs/index.rst": "calc\n",
    "pyproject.toml": "[tool.pytest.ini_options]\n",
    "tests/conftest.py": "",
    "tests/helpers.py": "ONE = 1\n",
    "tests/test_calc.py": "from pkg.calc import double\n\n\ndef test_double():\n"
    "    assert double(2) == 4\n",
    "tests/test_other.py": "def test_other():\n    assert True\n",
    "tests/api/conftest.py": "",
    "tests/api/test_api.py": "def test_api():\n    assert True\n",
}


NAMES = itertools.count()


def commit(repo_path, files) -> str:
    _write(repo_path, files)
    _git(repo_path, "add", "-A")
    _git(repo_path, "commit", "-q", "-m", "change")
    return _git(repo_path, "rev-parse", "HEAD")


def keys(inputs: Inputs) -> dict[str, str]:
    return {
        "calc": inputs.for_tests(["tests/test_calc.py::test_double"]),
        "other": inputs.for_tests(["tests/test_other.py::test_other"]),
        "api": inputs.for_tests(["tests/api/test_api.py::test_api"]),
        "all": inputs.for_tests(EVERY_TEST),
    }


def changed_after(fix_repo, files) -> set[str]:
    repo: FixRepo = fix_repo(PROJECT, {"NEWS.md": "first\n"}, name=f"repo-{next(NAMES)}")
    before = keys(Inputs.at(repo.path, repo.head))
    after = keys(Inputs.at(repo.path, commit(repo.path, files)))
    return {name for name in before if before[name] != after[name]}


def test_each_file_counts_for_the_runs_that_can_read_it():
    inputs = Inputs(files={p: blob_id(t.encode()) for p, t in PROJECT.items()})
    kinds = {path: inputs.kind(path) for path in PROJECT}
    assert kinds == {
        "pkg/__init__.py": "shared",
        "pkg/calc.py": "shared",
        "pkg/rates.json": "shared",  # data: any run may read it
        "README.md": "inert",
        "docs/index.rst": "inert",
        "pyproject.toml": "shared",
        "tests/conftest.py": "conftest",
        "tests/helpers.py": "shared",  # a helper any test may import
        "tests/test_calc.py": "test",
        "tests/test_other.py": "test",
        "tests/api/conftest.py": "conftest",
        "tests/api/test_api.py": "test",
    }
    # A file a claim names is one test module wherever it lives.
    named = Inputs(files=inputs.files, named=frozenset({"pkg/smoke.py"}))
    assert named.kind("pkg/smoke.py") == "test"


def test_editing_one_test_changes_only_the_runs_of_that_test(fix_repo):
    edited = "tests/test_calc.py"
    changed = changed_after(
        fix_repo, {edited: PROJECT[edited] + "\n\ndef test_more():\n    pass\n"}
    )
    assert changed == {"calc", "all"}


def test_editing_the_code_a_config_or_a_data_file_changes_every_run(fix_repo):
    everything = {"calc", "other", "api", "all"}
    assert changed_after(fix_repo, {"pkg/calc.py": "def double(x):\n    return x + x\n"}) == (
        everything
    )
    assert changed_after(fix_repo, {"pkg/rates.json": '{"vat": 19}\n'}) == everything
    assert (
        changed_after(
            fix_repo, {"pyproject.toml": "[tool.pytest.ini_options]\nxfail_strict = true\n"}
        )
        == everything
    )
    assert changed_after(fix_repo, {"tests/helpers.py": "ONE = 2\n"}) == everything


def test_a_conftest_counts_for_the_tests_below_it(fix_repo):
    assert changed_after(fix_repo, {"tests/api/conftest.py": "X = 1\n"}) == {"api", "all"}
    assert changed_after(fix_repo, {"tests/conftest.py": "X = 1\n"}) == {
        "calc",
        "other",
        "api",
        "all",
    }


def test_prose_changes_no_run(fix_repo):
    assert changed_after(fix_repo, {"README.md": "# calc, now documented\n"}) == set()
    assert changed_after(fix_repo, {"docs/index.rst": "more\n"}) == set()


def test_a_test_outside_the_tree_counts_by_its_content(tmp_path):
    generated = tmp_path / "gen" / "test_claim_x.py"
    generated.parent.mkdir()
    generated.write_text("def test_x():\n    pass\n", encoding="utf-8")
    inputs = Inputs(files={"pkg/a.py": "1"})
    first = inputs.for_tests([f"{generated}::test_x"])
    moved = tmp_path / "elsewhere" / "test_claim_x.py"
    moved.parent.mkdir()
    moved.write_text(generated.read_text(), encoding="utf-8")
    # Same content in another run's folder: the same key.
    assert Inputs(files={"pkg/a.py": "1"}).for_tests([f"{moved}::test_x"]) == first
    moved.write_text("def test_x():\n    assert 0\n", encoding="utf-8")
    assert Inputs(files={"pkg/a.py": "1"}).for_tests([f"{moved}::test_x"]) != first


def test_an_overlaid_file_counts_as_it_is_in_the_checkout(fix_repo, tmp_path):
    repo: FixRepo = fix_repo(PROJECT, {"NEWS.md": "first\n"})
    checkout = tmp_path / "checkout"
    (checkout / "tests").mkdir(parents=True)
    (checkout / "tests/test_calc.py").write_text("def test_double():\n    pass\n")
    plain = Inputs.at(repo.path, repo.head)
    laid = Inputs.at(repo.path, repo.head, overlay=checkout, overlaid=["tests/test_calc.py"])
    assert laid.files["tests/test_calc.py"] == blob_id(b"def test_double():\n    pass\n")
    assert plain.files["tests/test_calc.py"] != laid.files["tests/test_calc.py"]
    # git's own blob id, so a file outside the tree and one in it hash alike.
    git_id = subprocess.run(
        ["git", "-C", str(repo.path), "rev-parse", "HEAD:tests/test_calc.py"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert plain.files["tests/test_calc.py"] == git_id


def test_the_environment_names_the_interpreter_and_its_distributions(tmp_path):
    assert environment(sys.executable) == environment(sys.executable)
    assert environment(sys.executable) != environment("/nonexistent/python3")
    # Another set of installed distributions (a venv without them) is another environment.
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    assert environment(str(venv / "bin" / "python")) != environment(sys.executable)


CALC_BASE = {
    "pkg/__init__.py": "",
    "pkg/calc.py": "def fee(x):\n    return x\n",
    "tests/test_calc.py": "from pkg.calc import fee\n\n\ndef test_fee():\n    assert fee(10) == 10\n",
}
CALC_FIX = {
    "pkg/calc.py": "def fee(x):\n    if x > 100:\n        return x + 1\n    return x\n",
    "tests/test_calc.py": "from pkg.calc import fee\n\n\ndef test_fee():\n"
    "    assert fee(10) == 10\n    assert fee(200) == 201\n",
    "tests/test_misc.py": "def test_misc():\n    assert True\n",
}


def test_a_push_re_runs_only_the_mutants_whose_inputs_it_changed(fix_repo, tmp_path, monkeypatch):
    repo = fix_repo(CALC_BASE, CALC_FIX)
    discoveries: list[str] = []
    real_discover = lab.discover

    def counting_discover(scope, read, *, strict=False):
        discoveries.append(scope.rev)
        return real_discover(scope, read, strict=strict)

    monkeypatch.setattr(lab, "discover", counting_discover)
    store = tmp_path / "store.sqlite3"
    tests = ["tests/test_calc.py::test_fee"]

    def run(head):
        scope = scope_from_diff(repo.path, repo.base, head)
        return run_mutation(options(repo, scope, rev=head, tests=tests, store=store))

    first = run(repo.head)
    assert first.mutants and not first.baseline_reused
    assert not any(m.cached for m in first.mutants)
    assert {m.status for m in first.mutants} <= {MutantStatus.KILLED, MutantStatus.SURVIVED}

    assert count_mutants(
        options(repo, scope_from_diff(repo.path, repo.base, repo.head), store=store)
    ) == len(first.mutants)
    # The same revision again: no discovery, no baseline, no mutant runs.
    again = run(repo.head)
    assert again.baseline_reused and all(m.cached for m in again.mutants)
    assert discoveries == [repo.head]
    assert [(m.id, m.status) for m in again.mutants] == [(m.id, m.status) for m in first.mutants]

    # Another test file and the README change: nothing these mutants' tests read.
    unrelated = commit(
        repo.path,
        {"tests/test_misc.py": "def test_misc():\n    assert 1\n", "README.md": "# calc\n"},
    )
    third = run(unrelated)
    assert third.baseline_reused and all(m.cached for m in third.mutants)

    # The claim's own test changes: its coverage map and every mutant run again.
    edited = commit(
        repo.path,
        {
            "tests/test_calc.py": CALC_FIX["tests/test_calc.py"] + "    assert fee(0) == 0\n",
        },
    )
    fourth = run(edited)
    assert not fourth.baseline_reused and not any(m.cached for m in fourth.mutants)
    assert {m.id for m in fourth.mutants} == {m.id for m in first.mutants}
