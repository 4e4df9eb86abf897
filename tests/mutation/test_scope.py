"""Scope precision: only fix lines of non-test source; re-indented and moved lines excluded."""

from __future__ import annotations

import pytest

from harness import git
from harness.errors import UserError
from harness.mutation import scope_from_diff, scope_from_ranges
from harness.mutation.families import Family
from harness.mutation.mutant import changed_lines
from harness.mutation.scope import parse_range
from harness.mutation.visit import discover
from harness.testpaths import is_test_path

from .conftest import LOCK_BASE, LOCK_FIX


def test_lock_fix_scope_is_the_new_lines_only(fix_repo):
    repo = fix_repo(LOCK_BASE, LOCK_FIX)
    scope = scope_from_diff(repo.path, repo.base, repo.head)
    (tickets,) = scope.files
    assert tickets.path == "pkg/tickets.py"
    # line 9: `self._lock = threading.Lock()`; line 12: `with self._lock:`
    assert tickets.lines == {9, 12}
    # the re-indented body of the `with` is not a fix line
    assert tickets.reindented == {13, 14, 15, 16, 17}
    assert ("tests/test_tickets.py", "test file") in scope.ignored
    assert scope.rev == repo.head and scope.base == repo.base


def test_no_mutant_touches_a_line_outside_the_fix(fix_repo):
    repo = fix_repo(LOCK_BASE, LOCK_FIX)
    scope = scope_from_diff(repo.path, repo.base, repo.head)
    found = discover(scope, lambda p: git.show(repo.path, repo.head, p))
    assert found.mutants, "the lock fix must have mutants"
    text = git.show(repo.path, repo.head, "pkg/tickets.py")
    assert text is not None
    source = text.splitlines()
    for mutant in found.mutants:
        touched = set(changed_lines(source, mutant.source.splitlines()))
        assert touched & {9, 12}, mutant.diff
        # nothing is generated *only* on re-indented lines (e.g. `append(None)`)
        assert mutant.line in {9, 12}
        if mutant.family is Family.GENERIC:
            assert touched <= {9, 12}, mutant.diff
    operators = {m.operator for m in found.mutants}
    assert "with-lock-removal" in operators
    assert not any("self.sold.append(None)" in m.source for m in found.mutants)


def test_moved_line_is_not_a_fix_line(fix_repo):
    base = {"m.py": "def f(a, b):\n    x = a + b\n    y = a * b\n    return x, y\n"}
    fix = {"m.py": "def f(a, b):\n    y = a * b\n    x = a + b\n    return x, y\n"}
    repo = fix_repo(base, fix)
    scope = scope_from_diff(repo.path, repo.base, repo.head)
    assert scope.is_empty
    assert all(not f.lines for f in scope.files)


def test_non_python_and_test_files_are_not_mutated(fix_repo):
    repo = fix_repo(
        {"README.md": "a\n", "pkg/conftest.py": "x = 1\n", "pkg/mod.py": "x = 1\n"},
        {"README.md": "b\n", "pkg/conftest.py": "x = 2\n", "pkg/mod_test.py": "y = 1\n"},
    )
    scope = scope_from_diff(repo.path, repo.base, repo.head)
    assert scope.files == ()
    assert dict(scope.ignored) == {
        "README.md": "not Python source",
        "pkg/conftest.py": "test file",
        "pkg/mod_test.py": "test file",
    }


def test_files_argument_restricts_the_diff(fix_repo):
    repo = fix_repo({"a.py": "x = 1\n", "b.py": "y = 1\n"}, {"a.py": "x = 2\n", "b.py": "y = 2\n"})
    scope = scope_from_diff(repo.path, repo.base, repo.head, files=["b.py"])
    assert [f.path for f in scope.files] == ["b.py"]


@pytest.mark.parametrize(
    "text, expected",
    [("f.py:3-9", ("f.py", 3, 9)), ("a/b.py:7", ("a/b.py", 7, 7))],
)
def test_parse_range(text, expected):
    assert parse_range(text) == expected


@pytest.mark.parametrize("text", ["f.py", "f.py:9-3", "f.py:0-2", "f.py:a-b", ":3-4"])
def test_bad_range_is_a_user_error(text):
    with pytest.raises(UserError, match="range="):
        parse_range(text)


def test_scope_from_ranges_checks_the_file_and_its_length(fix_repo):
    repo = fix_repo(LOCK_BASE, LOCK_FIX)
    scope = scope_from_ranges(repo.path, repo.head, ["pkg/tickets.py:12-13"])
    assert scope.files[0].lines == {12, 13}
    with pytest.raises(UserError, match="has only 17 lines"):
        scope_from_ranges(repo.path, repo.head, ["pkg/tickets.py:12-99"])
    with pytest.raises(UserError, match="does not exist"):
        scope_from_ranges(repo.path, repo.head, ["pkg/nope.py:1-2"])


def test_bad_ref_is_a_user_error(fix_repo):
    repo = fix_repo(LOCK_BASE, LOCK_FIX)
    with pytest.raises(UserError, match="base='no-such-ref' is not a commit"):
        scope_from_diff(repo.path, "no-such-ref", repo.head)


def test_cli_prints_one_line_for_a_bad_ref(fix_repo, capsys):
    from harness.cli.main import main

    repo = fix_repo(LOCK_BASE, LOCK_FIX)
    code = main(["mutate", "--repo", str(repo.path), "--base", "nope", "--head", repo.head])
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "base='nope'" in err


def test_test_globs():
    assert is_test_path("tests/test_x.py")
    assert is_test_path("src/pkg/tests/helpers.py")
    assert is_test_path("conftest.py")
    assert not is_test_path("pkg/testing_utils.py")


def test_paths_with_non_ascii_letters_spaces_and_quotes_stay_in_the_scope(fix_repo):
    # git quotes `café.py` as octal escapes and ends `my mod.py` with a tab in a diff header;
    # both used to drop out of the scope without a word.
    names = ("pkg/café.py", "pkg/my mod.py", 'pkg/say "hi".py')
    base = {"pkg/__init__.py": "", **{n: "def f(x):\n    return x\n" for n in names}}
    fix = {n: "def f(x):\n    if x is None:\n        return 0\n    return x\n" for n in names}
    repo = fix_repo(base, fix)
    scope = scope_from_diff(repo.path, repo.base, repo.head)
    assert sorted(f.path for f in scope.files) == sorted(names)
    for file in scope.files:
        assert file.lines == frozenset({2, 3}), file.path
