"""The mutation run's input (MutationOptions) and output (MutantResult, MutationResult) values."""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..outcomes import MutantStatus
from .scope import Scope

if TYPE_CHECKING:
    from .copies import CopyPool


@dataclass(frozen=True)
class MutationOptions:
    """Everything `run_mutation` needs. Defaults suit a CI run of one claim."""

    repo: Path
    rev: str
    scope: Scope
    #: Node ids to run (the claim's tests); None runs the project's whole suite for the baseline
    #: and, per mutant, only the tests that reach its lines.
    tests: Sequence[str] | None = None
    python: str = sys.executable
    pytest_args: Sequence[str] = ()
    env: Mapping[str, str] = field(default_factory=dict)
    #: Shell command run once in every isolated copy before any test (e.g. building an extension).
    setup: str | None = None
    workers: int = 2
    #: n for k-of-n: how many perturbed runs a concurrency mutant gets at most.
    repeats: int = 1
    #: k for k-of-n: failing runs needed to count a concurrency mutant as killed.
    min_kills: int = 1
    #: Run every mutant k-of-n, not just concurrency families and `harness_concurrency` tests.
    concurrency: bool = False
    #: Also mutate arid code (logging, docstrings, exception messages, sleep/timeout numbers).
    strict: bool = False
    #: SQLite results store; None keeps results in memory only (no resume).
    store: Path | None = None
    #: A mutant's test run times out after max(min_timeout, timeout_factor × what its tests took
    #: in the baseline, with start-up and their files' fixtures).
    timeout_factor: float = 3.0
    min_timeout: float = 10.0
    #: Baseline ceiling in seconds.
    baseline_timeout: float = 600.0
    #: "k/n": run only the k-th of n interleaved slices of the mutants (0-based k).
    shard: str | None = None
    #: Parent directory of the isolated copies (default: the system temp dir).
    workdir: Path | None = None
    #: Run each mutant's test runs in a per-worker fork server (warm pytest and installed
    #: imports) instead of a fresh interpreter; each k-of-n seed has its own server, since
    #: PYTHONHASHSEED only takes effect at start-up. Falls back to subprocesses by itself.
    fork: bool = True
    #: With `fork`: a single-run mutant forks from a copy of the project collected once per
    #: worker, with the mutated function's code swapped in (mutmut's speed without its
    #: trampolines). Only where that is exact; a survivor is always confirmed by a fresh child.
    preload: bool = True
    #: Run only these mutant ids (to rerun one survivor exactly).
    mutant_ids: Sequence[str] | None = None
    #: Run a mutant that no selected test is seen to reach against every selected test anyway,
    #: instead of calling it NO_COVERAGE: a line tracer can miss lines (deep recursion turns it
    #: off), and a handful of named tests is cheap to run. Only with `tests`.
    run_unreached: bool = False
    #: Leave out the tests that fail on the unmutated revision, instead of refusing to run: for
    #: a whole-suite pass where a test needing the network, say, cannot judge any mutant. The
    #: run still stops when the baseline did not get to judge (collection error, timeout).
    exclude_red_tests: bool = False
    #: A `--harness-perturb` spec without a seed (`auto:files=pkg/store.py`): every run of a
    #: mutant perturbs scheduling in those files, run i with seed i + 1 (harness.perturb_plugin).
    perturb: str | None = None
    #: Files the coverage map records besides the mutants' own (every claim's fix files, in a
    #: verify run): one map per test set and settings then serves each claim that runs it, and
    #: one whole-suite map serves every claim's suite phase.
    map_files: Sequence[str] = ()
    #: Tests that judge no mutant here (the claim's own, which already ran): left out of the
    #: coverage map's use and deselected in every mutant run, though the map measures them.
    exclude_tests: Sequence[str] = ()
    #: The verify run's worker copies and fork servers, shared by its claims (None: this run
    #: makes its own). Decides nothing about a result, only where the runs happen.
    copies: CopyPool | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class MutantOutcome:
    """What a mutant run found: the fields the engine's result and the report's record share."""

    id: str
    family: str
    operator: str
    file: str
    line: int
    diff: str
    status: MutantStatus
    killing_test: str | None = None
    #: How many test runs were made (n), and how many of them detected the mutant (k).
    runs: int = 0
    kills: int = 0
    duration: float = 0.0
    #: Node ids that were run against this mutant: the claim's tests that reach it, then the
    #: suite's (mutation.json's `coveredBy`).
    tests: tuple[str, ...] = ()
    #: It undoes the fix (a survivor means UNGUARDED); otherwise a survivor is a weak spot.
    reverting: bool = True
    #: "claim" when the claim's own tests killed it, "suite" when another test of the project did.
    killed_by: str | None = None

    def outcome(self) -> dict[str, Any]:
        """The shared fields by name, to build the other type from."""
        return {f.name: getattr(self, f.name) for f in fields(MutantOutcome)}


@dataclass(frozen=True)
class MutantResult(MutantOutcome):
    """One mutant's outcome, as the store, the console, the JSON and the verify pipeline see it."""

    #: True when the result came from the store's cache rather than a fresh run.
    cached: bool = False

    @property
    def k_of_n(self) -> str:
        return f"{self.kills}/{self.runs}"

    def to_json(self) -> dict[str, object]:
        return {
            **self.outcome(),
            "status": self.status.value,
            "k_of_n": self.k_of_n,
            "duration": round(self.duration, 3),
            "tests": list(self.tests),
            "cached": self.cached,
        }


@dataclass(frozen=True)
class MutationResult:
    """The whole run. `no_mutants` is True when the scope held nothing to mutate: never a pass."""

    mutants: list[MutantResult]
    skipped: Mapping[str, int]
    baseline_duration: float
    scope: Scope
    no_mutants: bool
    #: Which engine mapped tests to lines: "coverage", "settrace", or "none" (no baseline run).
    coverage_engine: str = "none"
    #: The node ids the baseline ran and that reach at least one fix line.
    reaching_tests: tuple[str, ...] = ()
    #: Tests that failed on the unmutated revision and were left out (`exclude_red_tests`).
    red_tests: tuple[str, ...] = ()
    #: The coverage map came from the store: its tests' inputs were unchanged.
    baseline_reused: bool = False

    def count(self, status: MutantStatus) -> int:
        return sum(1 for m in self.mutants if m.status is status)

    @property
    def survivors(self) -> list[MutantResult]:
        return [m for m in self.mutants if m.status is MutantStatus.SURVIVED]

    @property
    def all_detected(self) -> bool:
        """Every mutant killed (or timed out): the fix lines are guarded. False on no mutants."""
        return not self.no_mutants and all(m.status.is_detected for m in self.mutants)
