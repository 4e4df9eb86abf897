"""The demo end to end: every claim of the sample history gets exactly its designed verdict."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.claims.load import load_manifest
from harness.demo import EXPECTED_SPECIAL, run_demo
from harness.outcomes import Verdict
from harness.report.writer import write_reports
from harness.sample import SAMPLE_DIR

pytestmark = pytest.mark.xdist_group("e2e")

ALL_CLAIMS = [c.id for c in load_manifest(SAMPLE_DIR / "harness.toml").claims]


def test_demo_gives_every_claim_its_designed_verdict(
    tmp_path: Path, shared_store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FIXGUARD_CACHE_DIR", str(shared_store))
    result = run_demo()
    got = {c.claim_id: c.verdict for c in result.run.claims}
    assert sorted(got) == sorted(ALL_CLAIMS)
    expected = {claim_id: EXPECTED_SPECIAL.get(claim_id, Verdict.VERIFIED) for claim_id in ALL_CLAIMS}
    assert got == expected, {k: (expected[k].value, got[k].value) for k in got if got[k] != expected[k]}
    assert result.mismatches == []
    # Every verdict kind the history was built for shows up.
    assert {Verdict.VERIFIED, Verdict.UNGUARDED, Verdict.STILL_FAILING, Verdict.NOT_REPRODUCED, Verdict.NO_MUTANTS} <= set(got.values())

    by_id = {c.claim_id: c for c in result.run.claims}
    unguarded = by_id["backup-idempotency"]
    assert unguarded.survivors, "UNGUARDED must show its surviving mutant"
    assert any("255" in m.diff for m in unguarded.survivors), [m.diff for m in unguarded.survivors]
    still = by_id["export-traversal"]
    assert still.head_runs and all(r.outcome.value == "failed" for r in still.head_runs)
    verified = by_id["ticket-cap"]
    assert any(m.family == "sync removal" and m.status.is_detected for m in verified.mutants)
    assert by_id["schema-unique"].excused  # allowed by the manifest's policy

    written = write_reports(result.run, tmp_path / "reports")
    doc = json.loads(written["json"].read_text())
    assert doc["verdicts"] == {k: v.value for k, v in got.items()}
    assert "backup-idempotency" in written["md"].read_text()
