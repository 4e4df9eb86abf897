"""PR mode's data: what a pull request's own tests prove, with no manifest.

`harness verify --base B` on a repo without a manifest finds the tests the diff adds or
changes, runs them on the head and on the base (with the head's tests laid over), and sorts
each one:

- F2P: fails on the base, passes on the head: the evidence of a fix;
- P2P: passes on both;
- P2F: passes on the base, fails on the head: a regression, which fails the policy;
- F2F: fails on both;
- NEW_API: cannot be collected on the base, because it imports a name the fix adds. It is
  reported but never reproduces a bug: failing to import a name is not the bug.

The F2P tests are then run on the head with per-test coverage, and each non-test hunk of the
diff gets the F2P tests that execute it. Hunks proven by the same tests form one auto-claim,
verified like any manifest claim; a hunk no F2P test executes is unproven.

This module holds the values only (no I/O), shared by discovery, the pipeline and the reports,
and turns them into the claims the pipeline verifies.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from ..claims.model import Claim, FixRange, Manifest

#: The last line of a fix entry that names a whole file (`fix = ["pkg/mod.py"]`).
WHOLE_FILE = 10**9


class TestClass(StrEnum):
    F2P = "F2P"
    P2P = "P2P"
    P2F = "P2F"
    F2F = "F2F"
    NEW_API = "new_api"


@dataclass(frozen=True)
class TestEvidence:
    """One test the diff adds or changes, and how it ran on each side."""

    nodeid: str
    klass: TestClass
    #: Outcomes as words ("passed", "failed", "not collected", "timed out", ...), one per run.
    base: tuple[str, ...] = ()
    head: tuple[str, ...] = ()
    #: Why the base could not collect it (NEW_API), or pytest's first error line.
    note: str = ""


@dataclass(frozen=True)
class PrHunk:
    """One changed region of a non-test file, as lines of the head (1-based, inclusive).

    A hunk that only deletes lines has start == end == the head line next to the deletion.
    """

    file: str
    start: int
    end: int
    #: The hunk's unified diff text, for the report of an unproven hunk.
    diff: str = ""
    #: Why no F2P test proves it (unproven hunks only; harness.verify.proofs), for the report.
    why: str = field(default="", compare=False)

    def __str__(self) -> str:
        return f"{self.file}:{self.start}-{self.end}"

    def near(self, line: int, slack: int) -> bool:
        """True when `line` lies in the hunk or within `slack` lines of it."""
        return self.start - slack <= line <= self.end + slack


@dataclass(frozen=True)
class AutoClaim:
    """Hunks proven by the same F2P tests: verified as one claim, id ``auto-N``."""

    id: str
    hunks: tuple[PrHunk, ...]
    tests: tuple[str, ...]

    @property
    def title(self) -> str:
        files = sorted({h.file for h in self.hunks})
        return f"Fix in {', '.join(files)} proven by {len(self.tests)} test(s)"


@dataclass
class PrEvidence:
    """Everything PR mode found before any verdict: tests by class, auto-claims, the rest."""

    tests: list[TestEvidence] = field(default_factory=list)
    auto_claims: list[AutoClaim] = field(default_factory=list)
    #: Non-test hunks no F2P test executes.
    unproven: list[PrHunk] = field(default_factory=list)
    #: Changed non-test files that are not Python (SQL, config): no line proof reaches them.
    unjudged: list[str] = field(default_factory=list)

    def of(self, klass: TestClass) -> list[TestEvidence]:
        return [t for t in self.tests if t.klass is klass]


class FindingState(StrEnum):
    """What a review finding came to in PR mode."""

    #: Matched to an auto-claim: the claim's verdict is the finding's.
    JUDGED = "judged"
    #: No hunk of the PR covers or neighbours the finding's line.
    NO_FIX = "no fix found in this PR"
    #: A hunk is there, but no F2P test executes it.
    UNPROVEN = "fixed but no test proves it"
    #: The finding names no file (or no line), so nothing can be matched.
    UNLOCATED = "no file:line to match"
    #: The PR changed the finding's file, but no line proof reaches it (a test file, SQL,
    #: config): neither a verdict nor a missing fix.
    UNJUDGED = "changed here, not judged by a test"


@dataclass(frozen=True)
class FindingOutcome:
    """One review finding and what PR mode made of it."""

    title: str
    severity: str
    file: str | None
    line: int | None
    state: FindingState
    #: The auto-claim whose verdict this finding takes (JUDGED only).
    claim_id: str | None = None
    #: The review or the PR description marks it fixed, yet no hunk matches: flagged.
    claimed_fixed: bool = False
    source: str = ""
    #: The hunk the finding matched ("file:start-end", JUDGED and UNPROVEN), "" otherwise.
    hunk: str = ""

    @property
    def flagged(self) -> bool:
        """A "✅ Fixed" with nothing behind it."""
        return self.claimed_fixed and self.state in (FindingState.NO_FIX, FindingState.UNPROVEN)


def pr_manifest(manifest: Manifest, evidence: PrEvidence) -> Manifest:
    """The claims PR mode verifies: one per auto-claim, with the manifest's run and policy."""
    claims = tuple(
        Claim(
            id=auto.id,
            title=auto.title,
            tests=auto.tests,
            fix=tuple(
                FixRange(file=h.file)
                if h.end == WHOLE_FILE
                else FixRange(file=h.file, start=h.start, end=h.end)
                for h in auto.hunks
            ),
        )
        for auto in evidence.auto_claims
    )
    return manifest.model_copy(update={"claims": claims})


def manifest_evidence(manifest: Manifest) -> PrEvidence:
    """A manifest's claims seen as auto-claims, so review findings can be matched to them.

    A claim's fix ranges are its hunks (a whole-file entry covers every line); a claim with
    no fix entry cannot be located, and no finding matches it.
    """
    autos = [
        AutoClaim(
            id=claim.id,
            hunks=tuple(PrHunk(f.file, f.start or 1, f.end or WHOLE_FILE) for f in claim.fix),
            tests=claim.tests,
        )
        for claim in manifest.claims
        if claim.fix
    ]
    return PrEvidence(auto_claims=autos)
