"""Reuse across runs: nothing changed re-runs nothing; an edited test re-runs only its claim."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.cli.main import main
from harness.mutation.inputs import Inputs
from harness.outcomes import RunOutcome
from harness.verify.results import RunRecord
from harness.verify.reuse import RunReuse

from ..manifests import claim_table
from .conftest import BASE, FIX, commit, git

TESTS = {
    "tests/test_high.py": (
        "from pkg.calc import clamp\n\n\n"
        "def test_high():\n    assert clamp(50, 0, 10) == 10\n    assert clamp(10, 0, 10) == 10\n"
    ),
    "tests/test_bounds.py": (
        "import pytest\n\nfrom pkg.calc import clamp\n\n\n"
        "def test_bad_bounds():\n    with pytest.raises(ValueError):\n        clamp(1, 5, 0)\n"
        "    assert clamp(5, 5, 5) == 5\n"
    ),
}
MANIFEST = "".join(
    claim_table(name, title, tests=[test], fix=["pkg/calc.py"], run={"guard_tests": "claim"})
    for name, title, test in [
        ("upper", "clamp honours the upper bound", "tests/test_high.py::test_high"),
        ("bounds", "clamp rejects inverted bounds", "tests/test_bounds.py::test_bad_bounds"),
    ]
)


@pytest.fixture
def two_claims(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    commit(repo, BASE, "clamp: first version")
    commit(repo, {"pkg/calc.py": FIX["pkg/calc.py"], **TESTS}, "clamp: both bounds")
    manifest = tmp_path / "harness.toml"
    manifest.write_text(MANIFEST, encoding="utf-8")
    monkeypatch.setenv("FIXGUARD_CACHE_DIR", str(tmp_path / "cache"))
    return repo, manifest


def verify(repo: Path, manifest: Path, out: Path, *args: str) -> dict[str, dict]:
    code = main(
        [
            *("verify", "--repo", str(repo), "--base", "main~1", "--manifest", str(manifest)),
            *("--out", str(out), *args),
        ]
    )
    assert code in (0, 1)
    doc = json.loads((out / "results.json").read_text())
    return {c["claim_id"]: c for c in doc["run"]["claims"]}


def runs(claim: dict) -> list[dict]:
    return claim["base_runs"] + claim["head_runs"]


def test_nothing_changed_reuses_every_run_and_mutant_and_fresh_reuses_none(
    two_claims, tmp_path, capsys
):
    repo, manifest = two_claims
    first = verify(repo, manifest, tmp_path / "one")
    # test_high never reaches the `low > high` guard; test_bad_bounds does.
    assert {c: first[c]["verdict"] for c in first} == {"upper": "UNGUARDED", "bounds": "VERIFIED"}
    assert not any(r["reused"] for c in first.values() for r in runs(c))
    assert not any(m["reused"] for c in first.values() for m in c["mutants"])
    capsys.readouterr()

    again = verify(repo, manifest, tmp_path / "two")
    for claim_id, claim in again.items():
        assert claim["verdict"] == first[claim_id]["verdict"]
        assert claim["mutants"] and all(m["reused"] for m in claim["mutants"])
        assert all(r["reused"] for r in runs(claim))
        assert [(r["side"], r["outcome"]) for r in runs(claim)] == [
            (r["side"], r["outcome"]) for r in runs(first[claim_id])
        ]
        assert {(m["id"], m["status"]) for m in claim["mutants"]} == {
            (m["id"], m["status"]) for m in first[claim_id]["mutants"]
        }
    out = capsys.readouterr().out
    mutants = sum(len(c["mutants"]) for c in again.values())
    assert f"reused 4 of 4 claim runs, {mutants} of {mutants} mutants" in out
    assert "reused 4 of 4 claim runs" in (tmp_path / "two" / "summary.md").read_text()

    fresh = verify(repo, manifest, tmp_path / "three", "--fresh")
    assert not any(r["reused"] for c in fresh.values() for r in runs(c))
    assert not any(m["reused"] for c in fresh.values() for m in c["mutants"])
    assert {c: fresh[c]["verdict"] for c in fresh} == {c: first[c]["verdict"] for c in first}


def test_an_edited_test_re_runs_only_its_own_claim(two_claims, tmp_path):
    repo, manifest = two_claims
    first = verify(repo, manifest, tmp_path / "one")
    edited = TESTS["tests/test_bounds.py"] + "    assert clamp(0, 0, 1) == 0\n"
    commit(repo, {"tests/test_bounds.py": edited, "README.md": "# clamp\n"}, "one more check")
    second = verify(repo, manifest, tmp_path / "two", "--base", "main~2")
    upper, bounds = second["upper"], second["bounds"]
    assert all(r["reused"] for r in runs(upper))
    assert all(m["reused"] for m in upper["mutants"])
    assert not any(r["reused"] for r in runs(bounds))
    assert not any(m["reused"] for m in bounds["mutants"])
    assert upper["verdict"] == first["upper"]["verdict"]


def test_only_runs_that_judged_the_tests_are_stored(tmp_path):
    reuse = RunReuse(tmp_path / "runs.sqlite3", {"head": Inputs(files={"pkg/a.py": "1"})})
    try:
        for outcome in RunOutcome:
            key = f"k-{outcome.value}"
            reuse.put(key, RunRecord(side="head", index=0, outcome=outcome, duration=1.0))
            stored = reuse.get(key)
            if outcome in (RunOutcome.PASSED, RunOutcome.FAILED):
                assert stored is not None and stored.reused and stored.outcome is outcome
            else:
                # A timeout, a crash or a collection error may be the machine's: run it again.
                assert stored is None, outcome
    finally:
        reuse.close()
    assert RunReuse(None, {}).get("k-passed") is None
