"""The end-to-end demo: materialise the sample's history, verify every claim, compare verdicts.

The sample history was built so that every verdict kind the README promises shows up; the
expected verdicts below are that promise, and the demo fails (exit 1) when one differs.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from .claims.load import load_manifest
from .outcomes import Verdict
from .sample import SampleRepo, materialise, require_sample_stack
from .verify.job import VerifyOptions, VerifyReporter, new_run_id
from .verify.pipeline import verify
from .verify.policy import evaluate
from .verify.results import RunResult

#: Claims whose fix commits were written to be caught; every other claim is VERIFIED.
EXPECTED_SPECIAL = {
    "backup-idempotency": Verdict.UNGUARDED,  # the >255 key bound has no test
    "export-traversal": Verdict.STILL_FAILING,  # prefix check without a separator
    "health-leak": Verdict.NOT_REPRODUCED,  # its test passes on the base too
    "schema-unique": Verdict.NO_MUTANTS,  # SQL-only fix: nothing to mutate
}
#: After the fix-ups only the SQL-only fix stays special (and the policy allows it).
EXPECTED_CORRECTED = {"schema-unique": Verdict.NO_MUTANTS}


def expected_verdict(claim_id: str, corrected: bool) -> Verdict:
    table = EXPECTED_CORRECTED if corrected else EXPECTED_SPECIAL
    return table.get(claim_id, Verdict.VERIFIED)


@dataclass
class DemoResult:
    run: RunResult
    repo: SampleRepo
    #: (claim id, expected, got) for every verdict that differs from the sample's design.
    mismatches: list[tuple[str, Verdict, Verdict]]
    materialise_seconds: float


def run_demo(
    *,
    workdir: Path | None = None,
    corrected: bool = False,
    workers: int = 2,
    only: list[str] | None = None,
    reporter: VerifyReporter | None = None,
    store: Path | None = None,
    reuse: bool = True,
    fork: bool = True,
) -> DemoResult:
    """Materialise the sample repo (in `workdir` or a temp dir) and verify its claims."""
    require_sample_stack()
    owned = workdir is None
    root = Path(tempfile.mkdtemp(prefix="fixguard-demo-")) if workdir is None else workdir
    try:
        t0 = time.monotonic()
        repo = materialise(root / "shopapp" if owned else root, corrected=corrected)
        materialise_seconds = time.monotonic() - t0
        manifest = load_manifest(repo.manifest)
        options = VerifyOptions(
            repo=repo.path,
            base=repo.base,
            head=repo.head,
            manifest=manifest,
            only=only,
            workers=workers,
            run_id=new_run_id(),
            store=store,
            reuse=reuse,
            fork=fork,
        )
        run = verify(options, reporter)
        run.stages = {"materialise": materialise_seconds, **run.stages}
        run.policy = manifest.policy.model_dump(mode="json")
        run.policy_failures = evaluate(run, manifest.policy)
    finally:
        if owned:
            shutil.rmtree(root, ignore_errors=True)
    mismatches = [
        (c.claim_id, expected_verdict(c.claim_id, corrected), c.verdict)
        for c in run.claims
        if c.verdict is not expected_verdict(c.claim_id, corrected)
    ]
    return DemoResult(
        run=run, repo=repo, mismatches=mismatches, materialise_seconds=materialise_seconds
    )
