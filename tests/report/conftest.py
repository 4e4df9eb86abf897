"""A synthetic but complete RunResult covering every verdict, for the report renderers."""

from __future__ import annotations

import pytest

from harness.outcomes import MutantStatus, RunOutcome, Verdict
from harness.verify.results import ClaimResult, MutantRecord, RunRecord, RunResult

SOURCE = "import threading\n\nclass Store:\n    def add(self, x):\n        with self._lock:\n            self.items.append(x)\n"


def _claim(
    claim_id: str, verdict: Verdict, mutants: list[MutantRecord], excused: str | None = None
) -> ClaimResult:
    return ClaimResult(
        claim_id=claim_id,
        title=f"Finding {claim_id} <script>alert(1)</script>",
        severity="critical",
        source="seeds/001:42",
        verdict=verdict,
        reason=f"reason for {verdict.value}",
        tests=("tests/test_x.py::test_y",),
        fix=("shop/store.py",),
        repeats=3,
        min_failures=1,
        base_runs=[
            RunRecord(
                "base", 0, RunOutcome.FAILED, 0.5, ("tests/test_x.py::test_y",), "E assert 3 <= 2"
            )
        ],
        head_runs=[RunRecord("head", i, RunOutcome.PASSED, 0.4) for i in range(3)],
        mutants=mutants,
        skipped={"logging": 2},
        repro="python -m pytest tests/test_x.py::test_y",
        excused=excused,
        timings={"base": 0.5, "head": 1.2, "mutate": 3.0},
    )


def _mutant(n: int, status: MutantStatus, *, reverting: bool = True) -> MutantRecord:
    return MutantRecord(
        id=f"M{n:03d}",
        family="sync_removal",
        operator="with_lock",
        file="shop/store.py",
        line=5,
        diff="--- a/shop/store.py\n+++ b/shop/store.py\n@@ -5,2 +5,1 @@\n-        with self._lock:\n-            self.items.append(x)\n+        self.items.append(x)\n",
        status=status,
        killing_test="tests/test_x.py::test_y" if status.is_detected else None,
        kills=3 if status.is_detected else 0,
        runs=3,
        duration=1.5,
        column=8,
        reverting=reverting,
        killed_by="claim" if status.is_detected else None,
    )


@pytest.fixture
def sample_run() -> RunResult:
    claims = [
        _claim(
            "ticket-cap",
            Verdict.VERIFIED,
            [
                _mutant(1, MutantStatus.KILLED),
                _mutant(2, MutantStatus.TIMEOUT),
                _mutant(5, MutantStatus.SURVIVED, reverting=False),
            ],
        ),
        _claim(
            "backup-key",
            Verdict.UNGUARDED,
            [_mutant(3, MutantStatus.KILLED), _mutant(4, MutantStatus.SURVIVED)],
        ),
        _claim("health", Verdict.NOT_REPRODUCED, []),
        _claim("export", Verdict.STILL_FAILING, []),
        _claim("flaky", Verdict.FLAKY, []),
        _claim("schema", Verdict.NO_MUTANTS, [], excused="SQL-only fix"),
        _claim("broken", Verdict.ERROR, []),
    ]
    return RunResult(
        run_id="20261121-000000-abcdef",
        repo="/tmp/repo",
        base="a" * 40,
        head="b" * 40,
        claims=claims,
        started="2026-11-21T00:00:00+00:00",
        duration=42.0,
        stages={"checkout": 0.5, "reproduce+fixed": 10.0, "mutate": 31.5},
        sources={"shop/store.py": SOURCE},
        policy_failures=["backup-key: UNGUARDED"],
    )
