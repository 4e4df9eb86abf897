"""The gate on the sample: red with the incomplete and untested fixes, green once corrected."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.cli.main import main
from harness.sample import materialise

pytestmark = pytest.mark.xdist_group("e2e")


@pytest.fixture(autouse=True)
def _share_the_demo_store(shared_store: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The default history's claim mutants were already run by the demo test (same content).
    monkeypatch.setenv("FIXGUARD_CACHE_DIR", str(shared_store))


def gate(repo: Path, base: str, out: Path, *extra: str) -> int:
    return main(["gate", "--repo", str(repo), "--base", base, "--head", "HEAD", "--all", "--out", str(out), *extra])


def test_gate_fails_on_the_history_with_broken_fixes(tmp_path: Path) -> None:
    repo = materialise(tmp_path / "shop")
    code = gate(repo.path, repo.base, tmp_path / "out", "--no-diff-mutation")
    assert code == 1
    summary = (tmp_path / "out" / "summary.md").read_text()
    for claim_id in ("backup-idempotency", "export-traversal", "health-leak"):
        assert f"- {claim_id}:" in summary
    assert "- schema-unique:" not in summary  # NO_MUTANTS is allowed by the policy, with a reason


def test_gate_passes_once_the_fixes_are_corrected(tmp_path: Path) -> None:
    repo = materialise(tmp_path / "shop", corrected=True)
    code = gate(repo.path, repo.base, tmp_path / "out")
    summary = (tmp_path / "out" / "summary.md").read_text()
    assert code == 0, summary
    assert "### Gate" not in summary
