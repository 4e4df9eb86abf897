"""The verify pipeline's data: per-claim evidence and the run as a whole. Serialisable, no I/O."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from enum import Enum
from typing import Any

from ..findings import REPRO_SEPARATOR
from ..mutation.options import MutantOutcome
from ..outcomes import MutantStatus, RunOutcome, Verdict
from ..perturb_plugin import Spec
from .prmode import (
    AutoClaim,
    FindingOutcome,
    FindingState,
    PrEvidence,
    PrHunk,
    TestClass,
    TestEvidence,
)

SCHEMA_VERSION = 1


@dataclass(frozen=True)
class RunRecord:
    """One run of a claim's tests on one side (base or head)."""

    side: str
    index: int
    outcome: RunOutcome
    duration: float
    failed: tuple[str, ...] = ()
    log_tail: str = ""
    command: str = ""
    #: pytest's own first error line when the run could not judge the tests.
    error_line: str = ""
    #: Findings its scenario checks reported (`str(harness.findings.Finding)`), each once.
    findings: tuple[str, ...] = ()
    #: The run's `--harness-perturb` spec ("" for a plain run), what ran per test, and a
    #: replay command per failing perturbed test.
    perturb: str = ""
    perturbed: tuple[str, ...] = ()
    replays: tuple[str, ...] = ()
    #: True when the run was not made again: an earlier run with the same inputs is shown.
    reused: bool = False


@dataclass(frozen=True)
class ClaimFinding:
    """A finding of a claim's check, with the side whose runs reported it.

    Derived from the runs (`ClaimResult.findings`): results.json lists it for its readers, and
    loading rebuilds it from the runs.
    """

    #: "head", or "base" for a finding no head run reported.
    side: str
    #: As the check reported it: "check: problem", then "\n  repro: command" when it has one.
    text: str

    @property
    def headline(self) -> str:
        return self.text.partition(REPRO_SEPARATOR)[0]

    @property
    def repro(self) -> str:
        return self.text.partition(REPRO_SEPARATOR)[2]


@dataclass(frozen=True)
class MutantRecord(MutantOutcome):
    """A mutant as the reports keep it: the engine's outcome, where it sits, and whether it was
    reused."""

    replacement: str = ""
    original: str = ""
    column: int = 0
    #: True when every run behind it was stored from an earlier run with the same inputs.
    reused: bool = False

    @property
    def undetected(self) -> bool:
        return self.status in (MutantStatus.SURVIVED, MutantStatus.NO_COVERAGE)

    @property
    def weak_spot(self) -> bool:
        """A surviving mutant that only tweaks the fix (a boundary, a literal, a message)."""
        return self.undetected and not self.reverting


@dataclass
class ClaimResult:
    claim_id: str
    title: str
    severity: str
    source: str | None
    verdict: Verdict
    reason: str
    tests: tuple[str, ...]
    fix: tuple[str, ...]
    repeats: int
    min_failures: int
    base_runs: list[RunRecord] = field(default_factory=list)
    head_runs: list[RunRecord] = field(default_factory=list)
    mutants: list[MutantRecord] = field(default_factory=list)
    skipped: dict[str, int] = field(default_factory=dict)
    repro: str = ""
    excused: str | None = None
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def base_failures(self) -> int:
        return sum(1 for r in self.base_runs if r.outcome in FAILING_OUTCOMES)

    @property
    def head_passes(self) -> int:
        return sum(1 for r in self.head_runs if r.outcome is RunOutcome.PASSED)

    @property
    def findings(self) -> list[ClaimFinding]:
        """Each finding once: the head's first (the fixed code), then those only the base met."""
        out: dict[str, ClaimFinding] = {}
        for side, runs in (("head", self.head_runs), ("base", self.base_runs)):
            for run in runs:
                for text in run.findings:
                    out.setdefault(text, ClaimFinding(side, text))
        return list(out.values())

    @property
    def perturbation(self) -> str:
        """How the claim's runs were perturbed (`auto, seeds 1-3: quota/store.py`), or ""."""
        specs = [Spec.parse(r.perturb) for r in (*self.base_runs, *self.head_runs) if r.perturb]
        if not specs:
            return ""
        seeds = sorted({s.seed for s in specs if s.seed is not None})
        span = f"seed {seeds[0]}" if len(seeds) == 1 else f"seeds {seeds[0]}-{seeds[-1]}"
        # Each entry reads `nodeid: seed=N: preempt (sys.settrace) — 12 forced switches, ...`.
        ran = sorted(
            {
                text.rsplit(": seed=", 1)[-1].partition(": ")[2].partition(" — ")[0]
                for r in (*self.base_runs, *self.head_runs)
                for text in r.perturbed
            }
            - {""}
        )
        how = f" (ran: {' | '.join(ran)})" if ran else ""
        return f"{specs[0].mode}{how}, {span}: {', '.join(specs[0].files)}"

    @property
    def replays(self) -> list[tuple[str, str]]:
        """(which run, command) for each failing perturbed test: the base's reproductions and
        the head's failures, each rerunnable with its seed."""
        return [
            (f"{r.side} run {r.index + 1}", command)
            for r in (*self.base_runs, *self.head_runs)
            for command in r.replays
        ]

    @property
    def survivors(self) -> list[MutantRecord]:
        return [m for m in self.mutants if m.status is MutantStatus.SURVIVED]

    @property
    def gaps(self) -> list[MutantRecord]:
        """Reverting mutants no test detected: each one makes the claim UNGUARDED."""
        return [m for m in self.mutants if m.undetected and m.reverting]

    @property
    def weak_spots(self) -> list[MutantRecord]:
        return [m for m in self.mutants if m.weak_spot]

    @property
    def kill_ratio(self) -> float | None:
        scored = [m for m in self.mutants if m.status in SCORED]
        if not scored:
            return None
        return sum(1 for m in scored if m.status.is_detected) / len(scored)


#: Outcomes that count as "the test shows the bug". A hang on the base is a reproduction.
FAILING_OUTCOMES = frozenset({RunOutcome.FAILED, RunOutcome.TIMED_OUT})
SCORED = frozenset(
    {MutantStatus.KILLED, MutantStatus.TIMEOUT, MutantStatus.SURVIVED, MutantStatus.NO_COVERAGE}
)


@dataclass
class RunResult:
    """A whole verify or gate run."""

    run_id: str
    repo: str
    base: str
    head: str
    claims: list[ClaimResult]
    started: str
    duration: float
    stages: dict[str, float] = field(default_factory=dict)
    #: Whole-diff mutation by the gate: changed lines against the whole test selection.
    diff_mutants: list[MutantRecord] = field(default_factory=list)
    policy_failures: list[str] = field(default_factory=list)
    #: The manifest's [policy] as applied, so `harness merge` can re-apply it to the union.
    policy: dict[str, Any] = field(default_factory=dict)
    #: "k/n" when this run is one shard of a larger one.
    shard: str | None = None
    #: Head source of every file with a mutant, for the mutation-testing-elements report.
    sources: dict[str, str] = field(default_factory=dict)
    tool: str = "fixguard"
    #: PR mode (no manifest): the tests the diff adds by class, its auto-claims, unproven hunks.
    pr: PrEvidence | None = None
    #: PR mode with a review: each review finding and what it came to.
    findings: list[FindingOutcome] = field(default_factory=list)

    def reuse_line(self) -> str:
        """`reused 40 of 54 claim runs, 300 of 312 mutants`, or "" when nothing was reused."""
        runs = [r for c in self.claims for r in (*c.base_runs, *c.head_runs)]
        mutants = [m for c in self.claims for m in c.mutants] + list(self.diff_mutants)
        reused_runs = sum(1 for r in runs if r.reused)
        reused_mutants = sum(1 for m in mutants if m.reused)
        if not reused_runs and not reused_mutants:
            return ""
        return (
            f"reused {reused_runs} of {len(runs)} claim runs, {reused_mutants} of "
            f"{len(mutants)} mutants: their inputs are unchanged since an earlier run"
        )

    def counts(self) -> dict[str, int]:
        out = {v.value: 0 for v in Verdict}
        for claim in self.claims:
            out[claim.verdict.value] += 1
        return out


def to_jsonable(obj: Any) -> Any:
    """Dataclasses and enums to plain JSON types."""
    if isinstance(obj, Enum):
        return obj.value
    if hasattr(obj, "__dataclass_fields__"):
        return {f.name: to_jsonable(getattr(obj, f.name)) for f in fields(obj)}
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [to_jsonable(v) for v in obj]
    return obj


def run_record_from_jsonable(data: dict[str, Any]) -> RunRecord:
    return RunRecord(
        **{
            **data,
            "outcome": RunOutcome(data["outcome"]),
            "failed": tuple(data["failed"]),
            # Absent from a results.json written before findings were recorded.
            "findings": tuple(data.get("findings", ())),
            # Absent from one written before runs were perturbed.
            "perturbed": tuple(data.get("perturbed", ())),
            "replays": tuple(data.get("replays", ())),
        }
    )


def _mutant(data: dict[str, Any]) -> MutantRecord:
    # `tests` is absent from a results.json written before mutation.json listed them.
    return MutantRecord(
        **{**data, "status": MutantStatus(data["status"]), "tests": tuple(data.get("tests", ()))}
    )


#: Keys results.json adds to a claim for its readers, derived from the claim's other fields.
DERIVED_CLAIM_KEYS = frozenset({"findings"})


def claim_from_jsonable(data: dict[str, Any]) -> ClaimResult:
    return ClaimResult(
        **{
            **{k: v for k, v in data.items() if k not in DERIVED_CLAIM_KEYS},
            "verdict": Verdict(data["verdict"]),
            "tests": tuple(data["tests"]),
            "fix": tuple(data["fix"]),
            "base_runs": [run_record_from_jsonable(r) for r in data["base_runs"]],
            "head_runs": [run_record_from_jsonable(r) for r in data["head_runs"]],
            "mutants": [_mutant(m) for m in data["mutants"]],
        }
    )


def _hunk(data: dict[str, Any]) -> PrHunk:
    return PrHunk(**data)


def _test_evidence(data: dict[str, Any]) -> TestEvidence:
    return TestEvidence(
        **{
            **data,
            "klass": TestClass(data["klass"]),
            "base": tuple(data.get("base", ())),
            "head": tuple(data.get("head", ())),
        }
    )


def pr_from_jsonable(data: dict[str, Any]) -> PrEvidence:
    return PrEvidence(
        **{
            **data,
            "tests": [_test_evidence(t) for t in data.get("tests", [])],
            "auto_claims": [
                AutoClaim(
                    **{
                        **c,
                        "hunks": tuple(_hunk(h) for h in c["hunks"]),
                        "tests": tuple(c["tests"]),
                    }
                )
                for c in data.get("auto_claims", [])
            ],
            "unproven": [_hunk(h) for h in data.get("unproven", [])],
        }
    )


#: Keys results.json adds to a review finding for its readers, derived from its other fields.
DERIVED_FINDING_KEYS = frozenset({"flagged"})


def finding_from_jsonable(data: dict[str, Any]) -> FindingOutcome:
    return FindingOutcome(
        **{
            **{k: v for k, v in data.items() if k not in DERIVED_FINDING_KEYS},
            "state": FindingState(data["state"]),
        }
    )


def run_from_jsonable(data: dict[str, Any]) -> RunResult:
    """Rebuild a RunResult from results.json's `run` object (for `harness report`).

    `pr` and `findings` are absent from a results.json written before PR mode: the defaults.
    """
    pr = data.get("pr")
    return RunResult(
        **{
            **data,
            "claims": [claim_from_jsonable(c) for c in data["claims"]],
            "diff_mutants": [_mutant(m) for m in data.get("diff_mutants", [])],
            "pr": pr_from_jsonable(pr) if pr is not None else None,
            "findings": [finding_from_jsonable(f) for f in data.get("findings", [])],
        }
    )
