"""A traversal fix and a leak fix: their fix-revert mutants are generated on the fix lines and
killed by the fix's own regression tests."""

from __future__ import annotations

from harness.mutation import run_mutation, scope_from_diff
from harness.outcomes import MutantStatus

from .conftest import options

BASE = {
    "files/__init__.py": "",
    "files/store.py": """
        from pathlib import Path


        def read_file(base: Path, name: str) -> str:
            target = base / name
            return open(target).read()
        """,
    "tests/test_store.py": """
        from files.store import read_file


        def test_reads_a_file(tmp_path):
            (tmp_path / "a.txt").write_text("hello")
            assert read_file(tmp_path, "a.txt") == "hello"
        """,
}

FIX = {
    "files/store.py": """
        from pathlib import Path


        def read_file(base: Path, name: str) -> str:
            target = (base / name).resolve()
            if not target.is_relative_to(base.resolve()):
                raise PermissionError(name)
            with open(target) as fh:
                return fh.read()
        """,
    "tests/test_store.py": """
        import builtins

        import pytest

        from files.store import read_file


        def test_reads_a_file(tmp_path):
            (tmp_path / "a.txt").write_text("hello")
            assert read_file(tmp_path, "a.txt") == "hello"


        def test_rejects_traversal(tmp_path):
            base = tmp_path / "base"
            base.mkdir()
            (tmp_path / "secret.txt").write_text("s3cret")
            with pytest.raises(PermissionError):
                read_file(base, "../secret.txt")


        def test_closes_the_file(tmp_path, monkeypatch):
            (tmp_path / "a.txt").write_text("hello")
            opened = []
            real_open = builtins.open

            def tracking_open(*args, **kwargs):
                handle = real_open(*args, **kwargs)
                opened.append(handle)
                return handle

            monkeypatch.setattr(builtins, "open", tracking_open)
            read_file(tmp_path, "a.txt")
            assert opened and all(h.closed for h in opened)
        """,
}


def test_containment_and_cleanup_mutants_are_killed(fix_repo):
    repo = fix_repo(BASE, FIX)
    scope = scope_from_diff(repo.path, repo.base, repo.head)
    assert scope.files[0].lines == {5, 6, 7, 8, 9}
    result = run_mutation(options(repo, scope))
    by_operator = {m.operator: m for m in result.mutants if m.family != "generic"}
    for operator, test in [
        ("resolve-identity", "tests/test_store.py::test_rejects_traversal"),
        ("is_relative_to-true", "tests/test_store.py::test_rejects_traversal"),
        ("guard-delete", "tests/test_store.py::test_rejects_traversal"),
        ("with-open-to-assign", "tests/test_store.py::test_closes_the_file"),
    ]:
        mutant = by_operator[operator]
        assert mutant.status is MutantStatus.KILLED, (operator, mutant)
        assert mutant.killing_test == test, (operator, mutant.killing_test)
    assert by_operator["is_relative_to-true"].family == "containment no-op"
    assert by_operator["with-open-to-assign"].family == "cleanup removal"
    # the raise line is mutated by statement deletion, not by its (arid) message argument
    assert result.skipped.get("arid: exception message", 0) >= 1
    assert all(m.line in {5, 6, 7, 8, 9} for m in result.mutants)
