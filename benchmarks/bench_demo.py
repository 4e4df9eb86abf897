"""The demo's wall time per stage, against the 3-minute target on 2 cores.

Baseline in the same run: the same claims verified without the mutation step, so the ratio
shows what guarding costs on top of reproducing and confirming.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time

from harness.demo import run_demo

TARGET_SECONDS = 180.0


def main() -> int:
    with tempfile.TemporaryDirectory() as cache:
        os.environ["FIXGUARD_CACHE_DIR"] = cache  # cold: no finished mutants to reuse
        t0 = time.monotonic()
        result = run_demo()
        total = time.monotonic() - t0
    stages = dict(result.run.stages)
    print(f"demo: {len(result.run.claims)} claims in {total:.1f}s (target {TARGET_SECONDS:.0f}s)")
    for stage, seconds in stages.items():
        print(f"  {stage:<18} {seconds:6.1f}s  {seconds / total:5.1%}")
    slowest = sorted(result.run.claims, key=lambda c: -sum(c.timings.values()))[:5]
    for claim in slowest:
        parts = ", ".join(f"{k} {v:.1f}s" for k, v in claim.timings.items())
        print(f"  slowest: {claim.claim_id:<22} {parts}  mutants={len(claim.mutants)}")
    for claim_id, expected, got in result.mismatches:
        print(f"  unexpected verdict: {claim_id}: expected {expected.value}, got {got.value}")
    mutants = sum(len(c.mutants) for c in result.run.claims)
    print(f"mutants run: {mutants}; mismatched verdicts: {len(result.mismatches)}")
    print(f"ratio demo/target: {total / TARGET_SECONDS:.2f}")
    mutate = stages.get("mutate", 0.0)
    print(f"ratio total/without-mutation: {total / max(total - mutate, 1e-9):.2f}")
    return 0 if not result.mismatches else 1


if __name__ == "__main__":
    sys.exit(main())
