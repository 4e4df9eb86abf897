"""Node-level scope: a mutant changes only code the fix added or changed (issue: verdict precision).

Each test builds a small base/fix repo and looks at the mutants discovered on the fix.
"""

from __future__ import annotations

import textwrap

from harness import git
from harness.mutation import scope_from_diff
from harness.mutation.families import Family
from harness.mutation.revert import reverted_source
from harness.mutation.visit import discover


def mutants(fix_repo, base: str, fix: str, path: str = "pkg/m.py"):
    repo = fix_repo(
        {path: textwrap.dedent(base).lstrip("\n")}, {path: textwrap.dedent(fix).lstrip("\n")}
    )
    scope = scope_from_diff(repo.path, repo.base, repo.head)
    return scope, discover(scope, lambda p: git.show(repo.path, repo.head, p)).mutants


def hunk_reverts(fix_repo, base: str, fix: str) -> list:
    return [m for m in mutants(fix_repo, base, fix)[1] if m.family is Family.HUNK_REVERT]


def test_timeout_added_inside_an_untouched_with_gives_no_cleanup_removal(fix_repo) -> None:
    _scope, found = mutants(
        fix_repo,
        """
        import urllib.request


        def fetch(url):
            with urllib.request.urlopen(url) as response:
                return response.read()
        """,
        """
        import urllib.request


        def fetch(url):
            with urllib.request.urlopen(url, timeout=10) as response:
                return response.read()
        """,
    )
    operators = {m.operator for m in found}
    assert "timeout-none" in operators
    # The `with` was there before the fix: turning it into a bare call is not the fix's revert.
    assert not {m for m in found if m.family is Family.CLEANUP_REMOVAL}, operators
    assert "with-to-assign" not in operators
    # Nothing mutates the unchanged `url` argument on the touched line either.
    assert all("urlopen(url" in m.source or m.operator == "hunk-revert" for m in found)


def test_a_blank_line_beside_an_added_block_is_not_scope(fix_repo) -> None:
    scope, found = mutants(
        fix_repo,
        """
        def check(age, limit):
            if limit is None:
                raise ValueError("limit")
            return age
        """,
        """
        def check(age, limit):
            if limit is None:
                raise ValueError("limit")

            if age < 0:
                raise ValueError("age")
            return age
        """,
    )
    (file_scope,) = scope.files
    assert file_scope.lines == {5, 6}
    guards = [m for m in found if m.family is Family.GUARD_REMOVAL]
    assert guards and all("-    if age < 0:" in m.diff for m in guards)
    # The untouched guard above the blank line is never mutated.
    assert not any("-    if limit is None" in m.diff for m in found)
    assert all(m.line in (5, 6) for m in found)


def test_a_container_side_resolve_is_not_made_a_no_op(fix_repo) -> None:
    _scope, found = mutants(
        fix_repo,
        """
        from pathlib import Path


        def read(root, name):
            return (Path(root) / name).read_text()
        """,
        """
        from pathlib import Path


        def read(root, name):
            base = Path(root).resolve()
            target = (base / name).resolve()
            if not target.is_relative_to(base):
                raise PermissionError(name)
            return target.read_text()
        """,
    )
    noops = [m for m in found if m.family is Family.CONTAINMENT_NOOP]
    resolves = [m for m in noops if m.operator == "resolve-identity"]
    # Only the checked path's resolve() is made a no-op, never the container's.
    assert len(resolves) == 1
    assert "-    target = (base / name).resolve()" in resolves[0].diff
    assert "is_relative_to-true" in {m.operator for m in noops}


def test_a_call_moved_into_another_method_is_in_scope(fix_repo) -> None:
    scope, found = mutants(
        fix_repo,
        """
        class Reader:
            def read(self):
                try:
                    return self.stream.read()
                finally:
                    self.stream.close()

            def close(self):
                self.closed = True
        """,
        """
        class Reader:
            def read(self):
                return self.stream.read()

            def close(self):
                self.closed = True
                self.stream.close()
        """,
    )
    (file_scope,) = scope.files
    assert 7 in file_scope.lines  # `self.stream.close()` now runs in close(), not after read()
    assert any(m.operator == "close-removal" and m.line == 7 for m in found)


def test_a_line_moved_within_its_block_stays_context(fix_repo) -> None:
    scope, _ = mutants(
        fix_repo,
        "def f(a, b):\n    x = a + b\n    y = a * b\n    return x, y\n",
        "def f(a, b):\n    y = a * b\n    x = a + b\n    return x, y\n",
    )
    assert scope.is_empty


def test_each_hunk_gets_a_revert_and_comments_are_never_scope(fix_repo) -> None:
    base = "def f(x):\n    return x\n\n\ndef g(y):\n    return y\n"
    fix = "def f(x):\n    # a note about x\n    return x\n\n\ndef g(y):\n    return int(y)\n"
    scope, found = mutants(fix_repo, base, fix)
    (file_scope,) = scope.files
    assert file_scope.lines == {7}  # the comment on line 2 is not a fix line
    assert file_scope.tokens is not None
    assert {col for line, col in file_scope.tokens} == {11, 14, 16}  # `int`, `(`, `)`
    reverts = [m for m in found if m.family is Family.HUNK_REVERT]
    assert [m.line for m in reverts] == [7]  # the comment-only hunk has nothing to revert
    assert reverts[0].reverting
    assert "-    return int(y)\n+    return y\n" in reverts[0].diff
    source = git.show(scope.repo, scope.rev, "pkg/m.py") or ""
    assert reverted_source(source, file_scope.hunks[:1]).endswith("    return y\n")


def test_docstring_and_formatting_hunks_get_no_revert(fix_repo) -> None:
    base = (
        'def f(a, b):\n    """Add."""\n    return g(a,\n             b)\n\n\n'
        "def g(a, b):\n    return a + b\n\n\ndef h(x):\n    return x\n"
    )
    fix = (
        'def f(a, b):\n    """Add a and b."""\n    return g(a, b)\n\n\n'
        "def g(a, b):\n    return a - b\n\n\ndef h(x):\n    return (x)\n"
    )
    repo = fix_repo({"pkg/m.py": base}, {"pkg/m.py": fix})
    scope = scope_from_diff(repo.path, repo.base, repo.head)
    found = discover(scope, lambda p: git.show(repo.path, repo.head, p))
    # Only `a - b` changes what runs: not the docstring, the re-wrapped call, nor `(x)`.
    assert not [m for m in found.mutants if m.family is Family.HUNK_REVERT]
    assert {m.line for m in found.mutants} == {7}
    # Its revert is mutmut's `-` → `+`, which is therefore a reverting mutant, not a weak spot.
    (swap,) = [m for m in found.mutants if m.operator == "swap_op"]
    assert swap.reverting and "+    return a + b" in swap.diff
    assert found.skipped["arid: hunk revert changes only docstrings"] == 1
    assert found.skipped["equivalent: hunk revert changes no code (formatting)"] == 1


def test_an_exception_type_the_fix_catches_can_be_dropped(fix_repo) -> None:
    _scope, found = mutants(
        fix_repo,
        "def stamp(value):\n    return make(value)\n",
        (
            "def stamp(value):\n    try:\n        return make(value)\n"
            "    except (ValueError, OSError) as exc:\n        raise Expired(value) from exc\n"
        ),
    )
    drops = sorted(
        m.source.splitlines()[3].strip() for m in found if m.operator == "except-type-removal"
    )
    assert drops == ["except OSError as exc:", "except ValueError as exc:"]
    assert all(m.reverting for m in found if m.operator == "except-type-removal")


def test_hunks_tied_by_a_name_the_fix_binds_are_reverted_together(fix_repo) -> None:
    base = 'def check(payload):\n    try:\n        int(payload["iat"])\n    except ValueError:\n        raise Bad()\n'
    fix = (
        'def check(payload):\n    iat = payload["iat"]\n    try:\n        int(iat)\n'
        "    except ValueError:\n        raise Bad()\n    if iat > 5:\n        raise Future()\n"
    )
    reverts = hunk_reverts(fix_repo, base, fix)
    # `int(iat)` → `int(payload["iat"])` alone would change nothing: one revert puts all back.
    assert len(reverts) == 1
    assert reverts[0].source == base


def test_a_call_site_that_starts_using_a_new_name_keeps_its_own_revert(fix_repo) -> None:
    base = "def unpack(tf):\n    tf.extractall(filter=strip)\n\n\ndef strip(m, p):\n    return m\n"
    # The call site switches to a name the fix defines further down.
    fix = base.replace("=strip", "=default") + "\n\ndefault = compose(data_filter, strip)\n"
    reverts = hunk_reverts(fix_repo, base, fix)
    # The call site's revert (back to `filter=strip`) stands alone: it undoes the fix by itself.
    assert any(
        "+    tf.extractall(filter=strip)" in m.diff and "compose" not in m.diff for m in reverts
    )


def test_putting_back_imports_the_fix_removed_is_no_mutant(fix_repo) -> None:
    base = "import os\nimport sys\n\n\ndef info():\n    return {'cwd': os.getcwd(), 'v': sys.version}\n"
    fix = "def info():\n    return {}\n"
    repo = fix_repo({"pkg/m.py": base}, {"pkg/m.py": fix})
    scope = scope_from_diff(repo.path, repo.base, repo.head)
    found = discover(scope, lambda p: git.show(repo.path, repo.head, p))
    reverts = [m for m in found.mutants if m.family is Family.HUNK_REVERT]
    assert len(reverts) == 1 and "+    return {'cwd'" in reverts[0].diff
    assert found.skipped["equivalent: hunk revert only puts back imports the fix removed"] == 1
