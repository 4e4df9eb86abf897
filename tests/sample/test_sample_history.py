"""Every finding of the sample service: its regression test fails on the base, passes after the fix.

Pytest subprocesses, started together, cover all 21 claims at once: the base with the head's
tests laid over it (as the verify pipeline does), the head, the corrected head, and the base
with the corrected tests of the claims that have a fix-up. One more run shows the UNGUARDED
claim's gap: a mutant without the key-length bound survives the head's test and is killed by
the fix-up's.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from harness.sample import SAMPLE_DIR, SampleRepo, load_claims

from .conftest import Checkout, git, regression_tests, start_pytest, worktree

CLAIM_IDS = [c["id"] for c in load_claims(SAMPLE_DIR / "harness.toml")]
# Claims whose uncorrected history is built to produce another verdict than VERIFIED.
NOT_REPRODUCED = {"health-leak"}  # its test passes on the base too
STILL_FAILING = {"export-traversal"}  # the prefix check misses the exports-evil sibling
BACKUP_TEST = "tests/test_fix_backup_idempotency.py::test_idempotency_key_contract"
FIXUP_COPY = "tests/test_fix_backup_idempotency_fixup.py"
LENGTH_GUARD = (
    "        if len(key) > MAX_KEY_LENGTH:\n"
    '            raise HTTPException(400, "Idempotency-Key is too long")\n'
)


@pytest.fixture(scope="session")
def runs(
    sample_repo: SampleRepo, corrected_repo: SampleRepo, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, dict[str, str]]:
    """Start every pytest run at once (they are mostly waiting on barriers and timeouts)."""
    data = tmp_path_factory.mktemp("shopapp-data")
    nodes = [n for ids in regression_tests(sample_repo).values() for n in ids]
    fixed_up = [
        n for claim in corrected_repo.fixups for n in regression_tests(corrected_repo)[claim]
    ]

    mutant = worktree(sample_repo, "head-without-length-bound", sample_repo.head)
    backups = mutant / "shopapp" / "backups.py"
    source = backups.read_text()
    assert LENGTH_GUARD in source
    backups.write_text(source.replace(LENGTH_GUARD, ""))
    shutil.copyfile(corrected_repo.path / BACKUP_TEST.split("::")[0], mutant / FIXUP_COPY)

    started: dict[str, Checkout] = {
        "base": start_pytest(
            worktree(
                sample_repo, "base-with-head-tests", sample_repo.base, tests_from=sample_repo.head
            ),
            nodes,
            data,
        ),
        "head": start_pytest(worktree(sample_repo, "head", sample_repo.head), nodes, data),
        "corrected-base": start_pytest(
            worktree(
                corrected_repo,
                "base-with-corrected-tests",
                corrected_repo.base,
                tests_from=corrected_repo.head,
            ),
            fixed_up,
            data,
        ),
        "corrected-head": start_pytest(
            worktree(corrected_repo, "head", corrected_repo.head), nodes, data
        ),
        "mutant": start_pytest(mutant, [BACKUP_TEST, FIXUP_COPY], data),
    }
    return {name: checkout.outcomes() for name, checkout in started.items()}


def _claim_outcomes(repo: SampleRepo, outcomes: dict[str, str], claim: str) -> dict[str, str]:
    nodes = regression_tests(repo)[claim]
    missing = [n for n in nodes if n not in outcomes]
    assert not missing, f"{claim}: tests not run: {missing}"
    return {n: outcomes[n] for n in nodes}


@pytest.mark.parametrize("claim", CLAIM_IDS)
@pytest.mark.parametrize("side", ["base", "head"])
def test_regression_test_fails_on_the_base_and_passes_at_the_head(
    side: str, claim: str, sample_repo: SampleRepo, runs: dict[str, dict[str, str]]
) -> None:
    outcomes = _claim_outcomes(sample_repo, runs[side], claim)
    # Save the claims the sample does not reproduce, and those its head leaves failing.
    fails = claim not in NOT_REPRODUCED if side == "base" else claim in STILL_FAILING
    if fails:
        assert "failed" in outcomes.values(), f"{claim} should fail on the {side}: {outcomes}"
    else:
        assert set(outcomes.values()) == {"passed"}, outcomes


@pytest.mark.parametrize("claim", CLAIM_IDS)
def test_corrected_history_reproduces_and_passes(
    claim: str, corrected_repo: SampleRepo, runs: dict[str, dict[str, str]]
) -> None:
    # A claim without a fix-up has the same test file as in the uncorrected history.
    base_run = runs["corrected-base"] if claim in corrected_repo.fixups else runs["base"]
    on_base = _claim_outcomes(corrected_repo, base_run, claim)
    at_head = _claim_outcomes(corrected_repo, runs["corrected-head"], claim)
    assert "failed" in on_base.values(), f"{claim} does not reproduce: {on_base}"
    assert set(at_head.values()) == {"passed"}, at_head


def test_unguarded_length_bound_survives_the_head_test_only(
    runs: dict[str, dict[str, str]],
) -> None:
    mutant = runs["mutant"]
    assert mutant[BACKUP_TEST] == "passed", "the head's test should miss the >255 bound"
    fixup_node = f"{FIXUP_COPY}::test_idempotency_key_contract"
    assert mutant[fixup_node] == "failed", "the fix-up's test should kill the mutant"


def test_each_fix_commit_touches_only_its_claimed_files_and_tests(sample_repo: SampleRepo) -> None:
    claims = {c["id"]: c for c in load_claims(sample_repo.manifest)}
    assert list(sample_repo.commits) == list(claims), "fix patches and claims differ"
    for claim_id, sha in sample_repo.commits.items():
        changed = set(git(sample_repo.path, "show", "--name-only", "--format=", sha).split())
        tests = {node.split("::")[0] for node in claims[claim_id]["tests"]}
        assert changed - tests == set(claims[claim_id]["fix"]), claim_id
        added = set(
            git(
                sample_repo.path, "show", "--name-only", "--diff-filter=A", "--format=", sha
            ).split()
        )
        assert tests <= added, f"{claim_id}: the fix commit does not add its test"


def test_sql_only_fix_is_an_allowed_no_mutants_exception(sample_repo: SampleRepo) -> None:
    import tomllib

    manifest = tomllib.loads(Path(sample_repo.manifest).read_text())
    exceptions = {(e["claim"], e["verdict"]) for e in manifest["policy"]["exceptions"]}
    assert ("schema-unique", "NO_MUTANTS") in exceptions
    sha = sample_repo.commits["schema-unique"]
    changed = git(sample_repo.path, "show", "--name-only", "--format=", sha).split()
    assert [f for f in changed if f.endswith(".py") and not f.startswith("tests/")] == []
