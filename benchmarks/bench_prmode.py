"""Zero-config PR mode on the squashed sample history against the manifest demo.

The sample's fix commits are squashed into one PR commit over the buggy base, with the
manifest removed, and `harness verify --base BASE --head PR` runs in PR mode: no harness.toml,
no --tests, only the tests the diff adds. Baseline in the same run: `harness demo`, which
verifies the same fixes one commit each with the manifest's claims. Each run gets a cold
mutation cache, so neither reuses the other's finished mutants.

Prints both wall times and their ratio, the PR's tests by class, then one row per manifest
claim: its designed verdict, the demo's verdict, its fix commit's lines, the auto-claim(s)
whose hunks overlap those lines with their verdict and F2P tests (or why there is none), and
whether the two verdicts agree. Exit 0 whatever the verdicts: this is a measurement.

    python benchmarks/bench_prmode.py [--workers 2] [--keep DIR]
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.demo import expected_verdict
from harness.sample import (
    SAMPLE_DIR,
    SampleRepo,
    commit_env,
    load_claims,
    materialise,
)

print = functools.partial(print, flush=True)

_HUNK = re.compile(r"^@@ -\d+(?:,\d+)? \+(\d+)(?:,(\d+))? @@", re.M)


@dataclass(frozen=True)
class Span:
    """Head lines of one file (1-based, inclusive)."""

    file: str
    start: int
    end: int

    def overlaps(self, other: Span) -> bool:
        return self.file == other.file and self.start <= other.end and other.start <= self.end

    def __str__(self) -> str:
        return f"{self.file}:{self.start}" + (f"-{self.end}" if self.end != self.start else "")


def git(repo: Path, *args: str) -> str:
    # A fixed identity and date, as the sample's own commits have, so the squashed sha is stable.
    env = commit_env(100)
    proc = subprocess.run(["git", *args], cwd=repo, env=env, capture_output=True, text=True)
    if proc.returncode:
        raise SystemExit(f"git {' '.join(args)} failed: {proc.stderr.strip()}")
    return proc.stdout.strip()


def squash(repo: Path, base: str, head: str) -> str:
    """One commit over `base` with every fix of base..head and no manifest; checked out, so
    `find_manifest` sees no harness.toml in the work tree either."""
    git(repo, "checkout", "--quiet", "-b", "pr", head)
    git(repo, "reset", "--quiet", "--soft", base)
    git(repo, "rm", "--quiet", "harness.toml")
    git(repo, "commit", "--quiet", "-m", "Fix the review findings (squashed PR)")
    return git(repo, "rev-parse", "HEAD")


def fix_spans(repo: Path, commit: str, files: list[str]) -> list[Span]:
    """The head lines a fix commit adds or changes in its claim's fix files.

    The fix commits touch disjoint files, so these are also the squashed head's line numbers.
    A pure deletion is the two lines around the gap, as PR mode's hunks count it.
    """
    spans: list[Span] = []
    for file in files:
        diff = git(repo, "diff", "-U0", "--no-color", f"{commit}^", commit, "--", file)
        for match in _HUNK.finditer(diff):
            start, count = int(match[1]), int(match[2] if match[2] is not None else 1)
            if count:
                spans.append(Span(file, start, start + count - 1))
            else:
                spans.append(Span(file, max(start, 1), start + 1))
    return spans


def user_env(cache: Path) -> dict[str, str]:
    # As a user runs it: pytest plugins autoload; a cold mutation store per run.
    env = {k: v for k, v in os.environ.items() if k != "PYTEST_DISABLE_PLUGIN_AUTOLOAD"}
    env["FIXGUARD_CACHE_DIR"] = str(cache)
    return env


def timed(command: list[str], env: dict[str, str], log: Path, cwd: Path) -> tuple[float, int]:
    t0 = time.monotonic()
    with log.open("wb") as fh:
        code = subprocess.call(command, env=env, stdout=fh, stderr=subprocess.STDOUT, cwd=cwd)
    return time.monotonic() - t0, code


def load_results(out: Path, log: Path) -> dict[str, Any]:
    path = out / "results.json"
    if not path.is_file():
        tail = log.read_text(errors="replace").splitlines()[-15:]
        raise SystemExit(f"no {path}; log tail:\n  " + "\n  ".join(tail))
    doc: dict[str, Any] = json.loads(path.read_text())
    return doc


def stages(doc: dict[str, Any]) -> str:
    return " · ".join(f"{k} {v:.1f}s" for k, v in doc["run"]["stages"].items())


def fails(doc: dict[str, Any]) -> set[str]:
    """The claim ids (manifest or auto) the run's policy failed on."""
    return {line.split(":", 1)[0] for line in doc["run"].get("policy_failures", [])}


def pr_verdict(got: list[str], unproven: bool, spans: list[Span]) -> str:
    """One manifest claim's outcome in PR mode, from the auto-claims covering its fix.

    A fix split over several auto-claims is VERIFIED only when each part is, as a claim is
    VERIFIED only when every mutant of its fix is killed; otherwise the parts that are not.
    """
    if not got:
        if unproven:
            return "unproven"
        if spans and not any(s.file.endswith(".py") for s in spans):
            return "no Python hunk"
        return "not reproduced"
    worse = sorted({v for v in got if v != "VERIFIED"})
    if unproven:
        worse.append("unproven")
    return "+".join(worse) or "VERIFIED"


def tests_text(f2p: list[str], own: list[str]) -> str:
    """The claim's own tests by name, the F2P tests of other fixes as a count."""
    mine = [t.split("::")[-1] for t in f2p if t in own]
    rest = len(f2p) - len(mine)
    parts = mine + ([f"{rest} test(s) of other fixes"] if rest else [])
    return " + ".join(parts) or "-"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--workers", type=int, default=2, help="as `harness demo` (default 2)")
    parser.add_argument("--keep", type=Path, help="keep the repo, reports and logs here")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="fixguard-bench-pr-"))
    where = args.keep.resolve() if args.keep else tmp
    where.mkdir(parents=True, exist_ok=True)
    try:
        return measure(where, tmp, args.workers)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def measure(where: Path, tmp: Path, workers: int) -> int:
    repo = materialise(where / "shop")
    pr = squash(repo.path, repo.base, repo.head)
    cli = [sys.executable, "-m", "harness.cli"]
    workers_arg = ["--workers", str(workers)]

    pr_out, pr_log = where / "pr-reports", where / "pr.log"
    verify = [*cli, "verify", "--repo", str(repo.path), "--base", repo.base, "--head", pr]
    pr_wall, pr_code = timed(
        [*verify, *workers_arg, "--out", str(pr_out)], user_env(tmp / "cache-pr"), pr_log, where
    )
    demo_out, demo_log = where / "demo-reports", where / "demo.log"
    demo_wall, demo_code = timed(
        [*cli, "demo", *workers_arg, "--out", str(demo_out)],
        user_env(tmp / "cache-demo"),
        demo_log,
        where,
    )
    pr_doc, demo_doc = load_results(pr_out, pr_log), load_results(demo_out, demo_log)
    report(repo, pr, (pr_wall, pr_code, pr_doc), (demo_wall, demo_code, demo_doc))
    return 0


def report(
    repo: SampleRepo,
    pr: str,
    pr_side: tuple[float, int, dict[str, Any]],
    demo_side: tuple[float, int, dict[str, Any]],
) -> None:
    """Print the times, the PR's tests by class and the claim-by-claim table."""
    pr_wall, pr_code, pr_doc = pr_side
    demo_wall, demo_code, demo_doc = demo_side
    materialise_s = demo_doc["run"]["stages"].get("materialise", 0.0)

    print(
        f"sample PR: {len(repo.commits)} fix commits squashed into {pr[:10]} over "
        f"{repo.base[:10]}, no manifest"
    )
    print(f"  PR mode (zero config)  {pr_wall:7.1f}s  exit {pr_code}  ({stages(pr_doc)})")
    print(f"  manifest demo          {demo_wall:7.1f}s  exit {demo_code}  ({stages(demo_doc)})")
    print(f"ratio PR-mode / manifest-demo: {pr_wall / demo_wall:.2f}")
    print(
        f"ratio PR-mode / manifest-demo without the demo's materialise: "
        f"{pr_wall / max(demo_wall - materialise_s, 1e-9):.2f}"
    )

    run = pr_doc["run"]
    evidence = run.get("pr") or {}
    tests = evidence.get("tests", [])
    klass = {t["nodeid"]: t["klass"] for t in tests}
    counts = {k: sum(1 for t in tests if t["klass"] == k) for k in ("F2P", "P2P", "P2F", "F2F")}
    counts["NEW_API"] = sum(1 for t in tests if t["klass"] == "new_api")
    print("PR tests: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    for t in tests:
        if t["klass"] != "F2P":
            note = f"  ({t['note']})" if t.get("note") else ""
            print(f"  {t['klass']:<7} {t['nodeid']}{note}")

    verdicts: dict[str, str] = pr_doc["verdicts"]
    autos = [
        (
            a["id"],
            [Span(h["file"], h["start"], h["end"]) for h in a["hunks"]],
            a["tests"],
        )
        for a in evidence.get("auto_claims", [])
    ]
    unproven = [
        (Span(h["file"], h["start"], h["end"]), h.get("why", ""))
        for h in evidence.get("unproven", [])
    ]
    demo_verdicts: dict[str, str] = demo_doc["verdicts"]
    demo_failing = fails(demo_doc)
    pr_failing = fails(pr_doc)
    used: set[str] = set()
    agree = same_policy = 0
    claims = load_claims(SAMPLE_DIR / "harness.toml")
    print()
    print(
        f"{'claim':<22} {'designed':<15} {'demo':<15} {'PR tests':<9} {'PR verdict':<22} "
        f"{'agree':<6} policy demo/PR"
    )
    for claim in claims:
        cid = claim["id"]
        spans = fix_spans(repo.path, repo.commits[cid], list(claim.get("fix", [])))
        own = sorted({klass.get(t, "absent") for t in claim["tests"]})
        hits = [a for a in autos if any(h.overlaps(s) for h in a[1] for s in spans)]
        loose = [(h, why) for h, why in unproven if any(h.overlaps(s) for s in spans)]
        used.update(a[0] for a in hits)
        demo = demo_verdicts.get(cid, "?")
        got = pr_verdict([verdicts.get(a[0], "?") for a in hits], bool(loose), spans)
        agree += got == demo
        demo_fails = cid in demo_failing
        pr_fails = bool(loose) or any(a[0] in pr_failing for a in hits)
        same_policy += demo_fails == pr_fails
        print(
            f"{cid:<22} {expected_verdict(cid, False).value:<15} {demo:<15} {'/'.join(own):<9} "
            f"{got:<22} {'yes' if got == demo else 'NO':<6} "
            f"{'fail' if demo_fails else 'pass'}/{'fail' if pr_fails else 'pass'}"
        )
        print(f"    fix lines: {', '.join(map(str, spans)) or '-'}")
        for auto_id, hunks, f2p in hits:
            mine = [h for h in hunks if any(h.overlaps(s) for s in spans)]
            others = sorted({h.file for h in hunks} - {h.file for h in mine})
            extra = f" (+ hunks of {', '.join(others)})" if others else ""
            print(
                f"    {auto_id} {verdicts.get(auto_id, '?')}: {', '.join(map(str, mine))}{extra}; "
                f"F2P {tests_text(f2p, claim['tests'])}"
            )
        for hunk, why in loose:
            print(f"    unproven {hunk}: {why}")
        if got == "no Python hunk":
            print("    no auto-claim: line coverage cannot prove a change to a non-Python file")
        elif not hits and not loose:
            print("    not reproduced by the squashed PR: no auto-claim, no unproven hunk")
    print(f"PR verdicts agreeing with the demo's: {agree} of {len(claims)}")
    print(f"policy outcome (fail/pass) agreeing with the demo's: {same_policy} of {len(claims)}")
    for auto_id, hunks, _ in autos:
        if auto_id not in used:
            print(
                f"auto-claim matching no manifest claim: {auto_id} {verdicts.get(auto_id)} {hunks}"
            )
    print(f"auto-claims {len(autos)}; unproven hunks {len(unproven)}")
    for hunk, why in unproven:
        print(f"  unproven {hunk}: {why}")
    failures = run.get("policy_failures", [])
    print(f"PR-mode policy failures: {len(failures)}")
    for line in failures:
        print(f"  {line}")


if __name__ == "__main__":
    sys.exit(main())
