"""Acceptance on the sample service's fix commits, with the sample's own regression tests.

- ticket-cap: the lock-removal mutant is killed k-of-n (k/n shown);
- export-traversal: the containment no-op mutants are killed (on the corrected history: the first
  fix commit is deliberately incomplete, so its baseline is red; the fix-up completes it);
- settings-file-leak: the cleanup-removal mutant is killed;
- no fix commit gets a mutant on a line outside its diff.

To keep the CPU bill small, the traversal and leak runs execute only the fix-revert mutants the
acceptance is about (`mutant_ids`); discovery, and so the scope check, covers all of them.
"""

from __future__ import annotations

import sys
from functools import partial
from pathlib import Path

import pytest

from harness import git
from harness.mutation import MutationOptions, run_mutation, scope_from_diff
from harness.mutation.families import Family
from harness.mutation.mutant import changed_lines
from harness.mutation.visit import discover
from harness.outcomes import MutantStatus
from harness.sample import SampleRepo, load_claims, materialise

from .conftest import FAST_PYTEST


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> SampleRepo:
    return materialise(tmp_path_factory.mktemp("mutation-sample") / "repo", corrected=True)


def claim(sample: SampleRepo, claim_id: str) -> dict:
    if claim_id not in sample.commits:
        pytest.fail(f"the sample has no fix commit for {claim_id!r}: {sorted(sample.commits)}")
    return next(c for c in load_claims(sample.manifest) if c["id"] == claim_id)


def fix_scope(sample: SampleRepo, claim_id: str, *, completed: bool = True):
    """The fix's lines: from the parent of its fix commit to the commit (or to its fix-up)."""
    first = sample.commits[claim_id]
    head = sample.fixups.get(claim_id, first) if completed else first
    base = git.git(sample.path, "rev-parse", f"{first}^").strip()
    return head, scope_from_diff(sample.path, base, head, files=claim(sample, claim_id)["fix"])


def options(sample: SampleRepo, claim_id: str, head: str, scope, **extra) -> MutationOptions:
    values = dict(
        repo=sample.path,
        rev=head,
        scope=scope,
        tests=claim(sample, claim_id)["tests"],
        python=sys.executable,
        pytest_args=["-q", *FAST_PYTEST],
        workers=2,
    )
    values.update(extra)
    return MutationOptions(**values)


def test_no_sample_fix_gets_a_mutant_outside_its_diff(sample: SampleRepo):
    checked = 0
    for claim_id, head in sample.commits.items():
        _, scope = fix_scope(sample, claim_id, completed=False)
        found = discover(scope, partial(git.show, sample.path, head))
        for mutant in found.mutants:
            file_scope = scope.file(mutant.file)
            if mutant.family is Family.HUNK_REVERT:
                # A revert sits exactly on one of the fix's hunks (or where one removed lines).
                assert any(
                    mutant.line == (h.start if h.count else max(h.start, 1))
                    for h in file_scope.hunks
                ), (claim_id, mutant.diff)
                checked += 1
                continue
            fix_lines = file_scope.lines
            text = git.show(sample.path, head, mutant.file)
            assert text is not None
            source = text.splitlines()
            touched = set(changed_lines(source, mutant.source.splitlines()))
            assert mutant.line in fix_lines and touched & fix_lines, (claim_id, mutant.diff)
            checked += 1
    assert checked > 20


def test_ticket_cap_lock_removal_is_killed_k_of_n(sample: SampleRepo, tmp_path: Path):
    head, scope = fix_scope(sample, "ticket-cap")
    result = run_mutation(
        options(
            sample,
            "ticket-cap",
            head,
            scope,
            repeats=3,
            min_kills=1,
            concurrency=True,
            store=tmp_path / "s.sqlite3",
        )
    )
    lock = [m for m in result.mutants if m.operator == "with-lock-removal"]
    assert len(lock) == 1, [m.operator for m in result.mutants]
    (only,) = lock
    assert only.family == "sync removal"
    assert only.status is MutantStatus.KILLED
    assert only.killing_test == "tests/test_fix_ticket_cap.py::test_cap_holds_under_concurrency"
    assert only.kills >= 1 and only.runs >= 1 and only.k_of_n == f"{only.kills}/{only.runs}"
    assert result.all_detected, [(m.operator, m.line, m.status) for m in result.mutants]


def _run_family(sample: SampleRepo, claim_id: str, family: str):
    head, scope = fix_scope(sample, claim_id)
    found = discover(scope, lambda p: git.show(sample.path, head, p))
    wanted = [m for m in found.mutants if m.family.value == family]
    assert wanted, f"{claim_id}: no {family} mutant among {[m.operator for m in found.mutants]}"
    result = run_mutation(options(sample, claim_id, head, scope, mutant_ids=[m.id for m in wanted]))
    assert {m.id for m in result.mutants} == {m.id for m in wanted}
    return result.mutants


def test_export_traversal_containment_noop_is_killed(sample: SampleRepo):
    mutants = _run_family(sample, "export-traversal", "containment no-op")
    operators = {m.operator for m in mutants}
    assert {"is_relative_to-true", "resolve-identity"} <= operators
    for mutant in mutants:
        # `Path(export_dir).resolve()` → `Path(export_dir)` is equivalent under a resolved tmp
        # dir, so only the check and the resolve of the joined path must be killed.
        if mutant.operator == "is_relative_to-true" or "+    path = (base / name)\n" in mutant.diff:
            assert mutant.status is MutantStatus.KILLED, mutant
            assert mutant.killing_test.startswith("tests/test_fix_export_traversal.py::")


def test_settings_file_leak_cleanup_removal_is_killed(sample: SampleRepo):
    mutants = _run_family(sample, "settings-file-leak", "cleanup removal")
    (mutant,) = mutants
    assert mutant.operator == "with-open-to-assign"
    assert mutant.status is MutantStatus.KILLED, mutant
    assert (
        mutant.killing_test == "tests/test_fix_settings_file_leak.py::test_settings_file_is_closed"
    )
