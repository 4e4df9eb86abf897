"""The demo run again: with nothing changed (target 15 s), then after one claim's test is edited.

Three runs of the sample's claims, with one result store, in this one process:

1. cold: an empty store (the baseline of the ratio);
2. warm: the same revisions again; every run and mutant should come from the store;
3. edited: a new head commit that adds one test to one claim's test file; only that claim's runs
   and mutants should run again, and another claim's mutants only where their suite phase runs
   the edited file (a survivor of its own claim's tests that the whole suite reaches).

It prints each run's wall time, how many claim runs and mutants ran (not reused), per claim for
the edited run, and the ratios warm/cold and edited/cold. Verdicts must match the sample's design
in all three; exit 1 otherwise.

    python benchmarks/bench_reuse.py [--claim ticket-cap ...] [--edit CLAIM]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from harness.claims.load import load_manifest
from harness.demo import expected_verdict, run_demo
from harness.verify.job import VerifyOptions
from harness.verify.pipeline import verify
from harness.verify.results import RunResult

TARGET_WARM_SECONDS = 15.0


def ran(run: RunResult) -> tuple[int, int, int, int]:
    """(claim runs made, claim runs in all, mutants run, mutants in all)."""
    runs = [r for c in run.claims for r in (*c.base_runs, *c.head_runs)]
    mutants = [m for c in run.claims for m in c.mutants]
    return (
        sum(1 for r in runs if not r.reused),
        len(runs),
        sum(1 for m in mutants if not m.reused),
        len(mutants),
    )


def report(label: str, run: RunResult, seconds: float) -> None:
    made, runs, mutated, mutants = ran(run)
    print(
        f"{label:<7} {seconds:7.1f}s  claim runs made {made}/{runs}  mutants run {mutated}/{mutants}",
        flush=True,
    )


def wrong_verdicts(run: RunResult) -> list[str]:
    return [
        f"{c.claim_id}: {c.verdict.value}"
        for c in run.claims
        if c.verdict is not expected_verdict(c.claim_id, corrected=False)
    ]


def edit_test(repo: Path, nodeid: str) -> str:
    """Commit one more assertion at the end of the claim's test file; return the new head."""
    path = repo / nodeid.split("::", 1)[0]
    path.write_text(path.read_text() + "\n\ndef test_bench_reuse_edit():\n    assert True\n")
    env = {**os.environ, "GIT_AUTHOR_NAME": "b", "GIT_AUTHOR_EMAIL": "b@example.invalid"}
    env |= {"GIT_COMMITTER_NAME": "b", "GIT_COMMITTER_EMAIL": "b@example.invalid"}
    for args in (["add", "-A"], ["commit", "-qm", "bench: edit one claim's test"]):
        subprocess.run(["git", *args], cwd=repo, check=True, env=env)
    out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True)
    return out.stdout.strip()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--claim", action="append", help="only these claims (default: all)")
    parser.add_argument("--edit", default="ticket-cap", help="the claim whose test is edited")
    args = parser.parse_args()
    failures: list[str] = []
    with tempfile.TemporaryDirectory() as cache, tempfile.TemporaryDirectory() as work:
        os.environ["FIXGUARD_CACHE_DIR"] = cache
        repo_dir = Path(work) / "shopapp"
        t0 = time.monotonic()
        cold = run_demo(workdir=repo_dir, only=args.claim)
        cold_s = time.monotonic() - t0
        report("cold", cold.run, cold_s)
        t0 = time.monotonic()
        # Another clone, as a CI job makes: the store is keyed by content, not by path.
        warm = run_demo(workdir=Path(work) / "again" / "shopapp", only=args.claim)
        warm_s = time.monotonic() - t0
        report("warm", warm.run, warm_s)

        manifest = load_manifest(cold.repo.manifest)
        claim = manifest.claim(args.edit)
        head = edit_test(repo_dir, claim.tests[0])
        t0 = time.monotonic()
        edited = verify(
            VerifyOptions(
                repo=repo_dir,
                base=cold.repo.base,
                head=head,
                manifest=manifest,
                only=args.claim,
                workers=2,
            )
        )
        edited_s = time.monotonic() - t0
        report("edited", edited, edited_s)
        for c in edited.claims:
            made = sum(1 for r in (*c.base_runs, *c.head_runs) if not r.reused)
            mutated = [m for m in c.mutants if not m.reused]
            if made or mutated:
                print(
                    f"  re-ran: {c.claim_id}: {made} claim runs, {len(mutated)} mutants", flush=True
                )
            if c.claim_id == args.edit:
                continue
            # Another claim's own runs, and its mutants its own tests killed, read nothing the
            # edit changed. A mutant that went on to the project's other tests (the suite phase)
            # was run against the edited test too when the suite reaches it: it runs again.
            if made:
                failures.append(f"{c.claim_id}: {made} claim runs re-ran; its tests are unchanged")
            for m in mutated:
                suite = m.killed_by == "suite" or m.undetected
                where = (
                    "suite phase: the edited test is among its tests" if suite else "claim phase"
                )
                print(f"    {m.id} {m.file}:{m.line} {m.operator} ({where})", flush=True)
                if not suite:
                    failures.append(
                        f"{c.claim_id}: {m.id} re-ran, but its claim's tests are unchanged"
                    )
        for label, run in (("cold", cold.run), ("warm", warm.run), ("edited", edited)):
            failures += [f"{label}: unexpected verdict {w}" for w in wrong_verdicts(run)]
    print(f"ratio warm/cold: {warm_s / cold_s:.3f}  (warm target {TARGET_WARM_SECONDS:.0f}s)")
    print(f"ratio edited/cold: {edited_s / cold_s:.3f}")
    for failure in failures:
        print(f"FAIL {failure}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
