"""What the stability_*.py benchmarks share: the sample's trees and targets, the tally of one
check run many times on a variant, and the loop that runs each case on its buggy and its fixed
variant and prints how often each did what it should.

Imported as `benchmarks.stability` by the scripts, which put the checkout first on sys.path.
The sample's trees, specs and module loading are the pack self-tests' (`tests.packs.support`).
"""

from __future__ import annotations

import argparse
import json
import secrets
import statistics
import tempfile
import time
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.sample import materialise
from harness.scenario import run
from harness.targets import TargetSpec
from harness.targets.base import Target
from tests.packs.support import export_tree, launch_in, sample_modules, sample_spec


class Sample:
    """The sample repo (corrected history), trees of its revs, and fresh folders, under `root`."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.repo = materialise(root / "repo", corrected=True)
        self.trees: dict[str, Path] = {}

    def tree(self, rev: str) -> Path:
        """The tree of "base", "head" or a finding's fix commit, exported once."""
        if rev not in self.trees:
            self.trees[rev] = export_tree(self.repo, rev, self.root / f"tree-{rev}")
        return self.trees[rev]

    def dir(self, name: str) -> Path:
        path = self.root / f"{name}-{secrets.token_hex(3)}"
        path.mkdir()
        return path

    def spec(
        self, rev: str, data: Path, *, trace: Path | None = None, **env: str
    ) -> dict[str, Any]:
        """A uvicorn `process` spec of the sample at `rev` (`sample_spec`); it may start slowly
        on a busy box."""
        return {**sample_spec(self.tree(rev), data, trace=trace, **env), "startup_timeout": 60}

    def modules(self, rev: str) -> AbstractContextManager[None]:
        """Within the block, `import shopapp` loads from the tree of `rev`."""
        return sample_modules(self.tree(rev))

    def target(
        self, rev: str, spec: dict[str, Any] | TargetSpec | str
    ) -> AbstractContextManager[Target]:
        """An in-process target with `shopapp` from `rev`; a str names the module it is."""
        return launch_in(self.tree(rev), spec)


@dataclass
class Tally:
    """The outcomes of one check run again and again on one variant."""

    passed: int = 0
    failed: int = 0
    errors: int = 0
    seconds: list[float] = field(default_factory=list)
    first_error: str = ""
    first_surprise: str = ""

    def once(self, check: str, binding: dict[str, Any], target: Target, expect_fail: bool) -> None:
        started = time.perf_counter()
        try:
            run(check, binding, target)
        except AssertionError as exc:
            self.seconds.append(time.perf_counter() - started)
            self.failed += 1
            if not expect_fail and not self.first_surprise:
                self.first_surprise = str(exc).splitlines()[0][:300]
        except Exception as exc:  # an error is neither a pass nor a fail; report it
            self.seconds.append(time.perf_counter() - started)
            self.errors += 1
            self.first_error = self.first_error or f"{type(exc).__name__}: {exc}"[:300]
        else:
            self.seconds.append(time.perf_counter() - started)
            self.passed += 1
            if expect_fail and not self.first_surprise:
                self.first_surprise = "passed on the buggy variant"

    def median_max(self) -> str:
        if not self.seconds:
            return "-"
        return f"median {statistics.median(self.seconds):.2f}s max {max(self.seconds):.2f}s"

    def mean_p95(self) -> str:
        if not self.seconds:
            return "-"
        ordered = sorted(self.seconds)
        p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
        return f"mean {statistics.fmean(ordered):.2f}s p95 {p95:.2f}s"


def met(buggy: Tally, fixed: Tally, runs: int) -> bool:
    """The goal: the fixed variant passes every run, the buggy one fails all but one at most."""
    return fixed.passed == runs and buggy.failed >= runs - 1


#: `variant(sample, role)` -> a context manager of (target, binding) or (target, binding,
#: between): the binding a dict or `binding(i)` for run i, `between()` run after each run.
Variant = Callable[[Sample, str], Any]
#: (label, check, finding, variant).
Case = tuple[str, str, str, Variant]


@dataclass
class Layout:
    """How a script names its cases and times them in its table."""

    noun: str  # "check" or "case": the table's wording and the JSON's key
    width: int  # of the label column
    timing: Callable[[Tally], str]
    roles: tuple[str, str] = ("buggy", "fixed")  # what each variant is called, buggy first


def _run_case(
    sample: Sample, check: str, variant: Variant, layout: Layout, runs: int
) -> list[Tally]:
    tallies = []
    for role in layout.roles:
        tally = Tally()
        with variant(sample, role) as (target, binding, *rest):
            for i in range(runs):
                tally.once(
                    check,
                    binding(i) if callable(binding) else binding,
                    target,
                    role == layout.roles[0],
                )
                for between in rest:
                    between()
        tallies.append(tally)
    return tallies


def run_cases(
    sample: Sample, cases: Iterable[Case], layout: Layout, runs: int
) -> tuple[int, list[dict[str, Any]]]:
    """Run each case `runs` times per variant, print its line; (how many missed, JSON rows)."""
    bad, rows = 0, []
    for label, check, finding, variant in cases:
        try:
            buggy, fixed = _run_case(sample, check, variant, layout, runs)
        except Exception as exc:  # e.g. PostgreSQL down: say so, go on with the rest
            print(
                f"ERR {label:{layout.width}} [{finding}] could not run: {type(exc).__name__}: "
                f"{exc}"[:300],
                flush=True,
            )
            bad += 1
            continue
        ok = met(buggy, fixed, runs)
        bad += not ok
        note = (
            buggy.first_surprise or fixed.first_surprise or buggy.first_error or fixed.first_error
        )
        print(
            f"{'OK ' if ok else 'BAD'} {label:{layout.width}} [{finding}] buggy fails "
            f"{buggy.failed:2}/{runs} ({layout.timing(buggy)})  fixed passes {fixed.passed:2}/"
            f"{runs} ({layout.timing(fixed)})" + (f"\n    first surprise: {note}" if note else ""),
            flush=True,
        )
        rows.append(
            {
                **({"case": label} if layout.noun == "case" else {}),
                "check": check,
                "finding": finding,
                "runs": runs,
                "buggy_failed": buggy.failed,
                "buggy_errors": buggy.errors,
                "fixed_passed": fixed.passed,
                "fixed_errors": fixed.errors,
                "buggy_seconds": buggy.seconds,
                "fixed_seconds": fixed.seconds,
            }
        )
    return bad, rows


def main(argv: list[str] | None, doc: str, cases: list[Case], layout: Layout) -> int:
    """The command line of a stability script: --runs, --only (a label prefix) and --json."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument(
        "--only", default="", help=f"run the {layout.noun}s whose name starts with this"
    )
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="stability-") as tmp:
        chosen = [case for case in cases if case[0].startswith(args.only)]
        bad, rows = run_cases(Sample(Path(tmp)), chosen, layout, args.runs)
    total = time.perf_counter() - started
    print(
        f"\n{bad} {layout.noun}(s) missed the goal; {total:.0f}s in all (2 busy cores: timings "
        "are noisy, the counts are what this script proves)."
    )
    if args.json:
        figures = {"runs": args.runs, "seconds": total, f"{layout.noun}s": rows}
        args.json.write_text(json.dumps(figures, indent=2))
    return 1 if bad else 0
