"""Review findings matched to a pull request's hunks: which auto-claim judges each one."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from harness.claims.draft import DraftClaim
from harness.claims.importer import import_findings
from harness.sample import materialise
from harness.verify.prmode import AutoClaim, FindingState, PrEvidence, PrHunk
from harness.verify.review_match import (
    DEFAULT_SLACK,
    described_fixed,
    is_fixed_status,
    match_findings,
    shared_suffix,
)

FIXTURE = Path(__file__).resolve().parents[1] / "data" / "seed000_sample_review.md"


def draft(
    file: str | None,
    line: int | None = None,
    *,
    title: str = "Path traversal in export download",
    status: str | None = None,
    end_line: int | None = None,
    more_files: tuple[str, ...] = (),
) -> DraftClaim:
    # In DraftClaim's order: id, title, severity, source, file, line, reported_status, bug_class.
    return DraftClaim(
        "f", title, "critical", "review.md:7", file, line, status, None, end_line, more_files
    )


@pytest.fixture
def evidence() -> PrEvidence:
    """Two proven claims and one unproven hunk, in two packages with the same file name."""
    return PrEvidence(
        auto_claims=[
            AutoClaim(
                "auto-1",
                (PrHunk("shop/exports.py", 15, 18), PrHunk("shop/util.py", 40, 40)),
                ("tests/test_exports.py::test_stays_inside",),
            ),
            AutoClaim(
                "auto-2", (PrHunk("shop/cache.py", 30, 34),), ("tests/test_cache.py::test_lock",)
            ),
        ],
        unproven=[
            PrHunk("shop/exports.py", 40, 42, diff="+    log(name)\n"),
            PrHunk("admin/util.py", 10, 12),
        ],
    )


def one(d: DraftClaim, evidence: PrEvidence, **kw: object):
    [outcome] = match_findings([d], evidence, **kw)  # type: ignore[arg-type]
    return outcome


def test_a_line_inside_a_hunk_takes_its_auto_claim(evidence: PrEvidence) -> None:
    outcome = one(draft("shop/exports.py", 16), evidence)
    assert outcome.state is FindingState.JUDGED
    assert outcome.claim_id == "auto-1"
    assert outcome.hunk == "shop/exports.py:15-18"
    assert (outcome.title, outcome.severity, outcome.file, outcome.line) == (
        "Path traversal in export download",
        "critical",
        "shop/exports.py",
        16,
    )
    assert outcome.source == "review.md:7"


def test_a_line_just_outside_a_hunk_neighbours_it(evidence: PrEvidence) -> None:
    # The review points at the call two lines below the changed guard.
    assert one(draft("shop/exports.py", 18 + DEFAULT_SLACK), evidence).claim_id == "auto-1"
    assert one(draft("shop/exports.py", 15 - DEFAULT_SLACK), evidence).claim_id == "auto-1"
    assert (
        one(draft("shop/exports.py", 18 + DEFAULT_SLACK + 1), evidence).state is FindingState.NO_FIX
    )


def test_slack_can_be_narrowed_and_widened(evidence: PrEvidence) -> None:
    assert one(draft("shop/exports.py", 19), evidence, slack=0).state is FindingState.NO_FIX
    assert one(draft("shop/exports.py", 28), evidence, slack=10).claim_id == "auto-1"


def test_covering_beats_a_nearer_neighbour_and_the_nearest_hunk_wins() -> None:
    evidence = PrEvidence(
        auto_claims=[
            AutoClaim("auto-1", (PrHunk("a.py", 10, 20),), ("t1",)),
            AutoClaim("auto-2", (PrHunk("a.py", 21, 21),), ("t2",)),
            AutoClaim("auto-3", (PrHunk("a.py", 24, 24),), ("t3",)),
        ]
    )
    # Line 20 is inside auto-1's hunk and one line from auto-2's: inside wins.
    assert one(draft("a.py", 20), evidence).claim_id == "auto-1"
    # Line 23 neighbours auto-2 (2 lines) and auto-3 (1 line): the nearer wins.
    assert one(draft("a.py", 23), evidence).claim_id == "auto-3"


def test_a_range_matches_a_hunk_it_overlaps(evidence: PrEvidence) -> None:
    assert one(draft("shop/cache.py", 20, end_line=31), evidence).claim_id == "auto-2"


def test_a_line_in_an_unproven_hunk_is_unproven(evidence: PrEvidence) -> None:
    outcome = one(draft("shop/exports.py", 41), evidence)
    assert outcome.state is FindingState.UNPROVEN
    assert outcome.state.value == "fixed but no test proves it"
    assert outcome.claim_id is None and outcome.hunk == "shop/exports.py:40-42"


def test_a_line_no_hunk_comes_near_has_no_fix(evidence: PrEvidence) -> None:
    for d in (draft("shop/exports.py", 100), draft("shop/orders.py", 16)):
        outcome = one(d, evidence)
        assert outcome.state is FindingState.NO_FIX
        assert outcome.state.value == "no fix found in this PR"
        assert outcome.claim_id is None and outcome.hunk == ""


def test_a_finding_without_a_file_is_unlocated(evidence: PrEvidence) -> None:
    outcome = one(draft(None, 16, status="✅ Fixed"), evidence)
    assert outcome.state is FindingState.UNLOCATED
    # Claimed fixed, but with nothing to match it is not held against the PR.
    assert outcome.claimed_fixed and not outcome.flagged


def test_a_file_without_a_line_takes_a_claim_with_a_hunk_in_that_file(evidence: PrEvidence) -> None:
    assert one(draft("shop/cache.py"), evidence).claim_id == "auto-2"
    # A proven hunk in the file is preferred to an unproven one.
    assert one(draft("shop/exports.py"), evidence).claim_id == "auto-1"
    assert one(draft("shop/orders.py"), evidence).state is FindingState.NO_FIX


def test_further_files_of_a_finding_match_when_the_first_has_no_hunk(evidence: PrEvidence) -> None:
    outcome = one(draft("shop/orders.py", 5, more_files=("shop/cache.py",)), evidence)
    assert outcome.claim_id == "auto-2"


@pytest.mark.parametrize(
    "path",
    [
        "shop/exports.py",
        "./shop/exports.py",
        "exports.py",
        "`shop/exports.py`",
        "shop\\exports.py",
        "repo/shop/exports.py",
    ],
)
def test_paths_match_by_whole_trailing_components(evidence: PrEvidence, path: str) -> None:
    assert one(draft(path, 16), evidence).claim_id == "auto-1"


def test_a_partial_file_name_does_not_match() -> None:
    assert shared_suffix("ports.py", "shop/exports.py") == 0
    assert shared_suffix("other/exports.py", "shop/exports.py") == 0
    assert shared_suffix("app/x.py", "backend/app/x.py") == 2


def test_a_bare_name_in_two_packages_takes_the_nearest_hunk(evidence: PrEvidence) -> None:
    # util.py is changed in shop/ (proven, line 40) and admin/ (unproven, lines 10-12).
    assert one(draft("util.py", 11), evidence).state is FindingState.UNPROVEN
    assert one(draft("util.py", 40), evidence).claim_id == "auto-1"
    # The more specific path decides between the two.
    assert one(draft("shop/util.py", 12), evidence).state is FindingState.NO_FIX


@pytest.mark.parametrize(
    "status",
    [
        "✅ Fixed",
        "fixed",
        "FIXED in 3f2a",
        "Resolved",
        "Done",
        "✔️",
        "Исправлено",
        "исправлен",
        "Решено",
        "✅ fixed: no handle left open",
    ],
)
def test_statuses_that_say_fixed(status: str) -> None:
    assert is_fixed_status(status)


@pytest.mark.parametrize(
    "status",
    [
        None,
        "",
        "Open",
        "⚠️ Partially addressed",
        "Not fixed",
        "not yet resolved",
        "❌ Not Fixed",
        "Unresolved",
        "Не исправлено",
        "Fix needed",
        "TODO: fixed in the next PR",
    ],
)
def test_statuses_that_do_not(status: str | None) -> None:
    assert not is_fixed_status(status)


def test_a_finding_marked_fixed_with_no_hunk_is_flagged(evidence: PrEvidence) -> None:
    flagged = one(draft("shop/orders.py", 16, status="✅ Fixed"), evidence)
    assert flagged.claimed_fixed and flagged.flagged
    unproven = one(draft("shop/exports.py", 41, status="Resolved"), evidence)
    assert unproven.state is FindingState.UNPROVEN and unproven.flagged
    judged = one(draft("shop/exports.py", 16, status="✅ Fixed"), evidence)
    assert judged.claimed_fixed and not judged.flagged
    open_ = one(draft("shop/orders.py", 16, status="Open"), evidence)
    assert not open_.claimed_fixed and not open_.flagged


DESCRIPTION = """\
exports: resolve export paths and keep them under the export dir

- ✅ fixed path traversal in the export download
- cache lookups without a lock: not fixed yet, see #12
- Resolves shop/orders.py:16
"""


def test_the_pr_description_can_mark_a_finding_fixed_by_its_title_words() -> None:
    assert described_fixed(draft("shop/x.py", 3), DESCRIPTION)
    terse = "- ✅ Fixed datetime import in the publisher"
    assert described_fixed(
        draft("publisher.py", 5, title="Missing datetime import causes runtime error"), terse
    )
    # One telling word of three is not naming it.
    assert not described_fixed(
        draft("shop/x.py", 3, title="Traversal of cached orders by id"), DESCRIPTION
    )


def test_the_pr_description_can_mark_a_finding_fixed_by_its_file_and_line(
    evidence: PrEvidence,
) -> None:
    other = "Unbounded order listing"
    assert described_fixed(draft("orders.py", 16, title=other), DESCRIPTION)
    assert described_fixed(draft("shop/orders.py", 10, end_line=20, title=other), DESCRIPTION)
    assert not described_fixed(draft("shop/orders.py", 17, title=other), DESCRIPTION)
    outcome = one(draft("shop/orders.py", 16, title=other), evidence, description=DESCRIPTION)
    assert outcome.state is FindingState.NO_FIX and outcome.flagged


def test_a_negated_line_of_the_description_does_not_mark_it_fixed() -> None:
    # The line names the finding (three of its words) but says it is not fixed.
    assert not described_fixed(
        draft("shop/cache.py", 30, title="Cache lookups without lock"), DESCRIPTION
    )
    assert not described_fixed(
        draft("shop/x.py", 3), "path traversal in the export download: not fixed"
    )


def test_findings_keep_the_reviews_order(evidence: PrEvidence) -> None:
    drafts = [draft("shop/cache.py", 31), draft(None), draft("shop/exports.py", 16)]
    assert [o.state for o in match_findings(drafts, evidence)] == [
        FindingState.JUDGED,
        FindingState.UNLOCATED,
        FindingState.JUDGED,
    ]


def test_the_sample_review_fixture_is_read_by_the_importer() -> None:
    drafts = import_findings(FIXTURE)
    assert len(drafts) == 9
    assert [(d.file, d.line) for d in drafts] == [
        ("shopapp/publisher.py", 5),
        ("shopapp/exports.py", 16),
        ("stats.py", 13),
        ("./shopapp/avatars.py", 23),
        ("shopapp/inventory.py", 22),
        ("shopapp/settings.py", 11),
        ("shopapp/upstream.py", None),
        ("shopapp/app.py", 140),
        ("shopapp/app.py", 124),
    ]
    assert [d.severity for d in drafts] == ["critical"] * 2 + ["major"] * 3 + ["minor"] * 4
    assert sum(is_fixed_status(d.reported_status) for d in drafts) == 4


_HUNK = re.compile(r"^@@ -\S+ \+(\d+)(?:,(\d+))? @@", re.M)


def _head_hunks(repo: Path, base: str, head: str) -> list[PrHunk]:
    """Non-test hunks of base..head as head lines (a deletion: the line next to it)."""
    names = subprocess.run(
        ["git", "diff", "--name-only", base, head],
        cwd=repo,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    hunks = []
    for name in (n for n in names if not n.startswith("tests/")):
        diff = subprocess.run(
            ["git", "diff", "-U0", base, head, "--", name],
            cwd=repo,
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        for start, count in _HUNK.findall(diff):
            first = max(int(start), 1)
            hunks.append(PrHunk(name, first, first + max(int(count or 1), 1) - 1))
    return hunks


def test_the_sample_review_fixture_points_at_the_samples_real_fixes(tmp_path: Path) -> None:
    sample = materialise(tmp_path / "shop")
    by_file: dict[str, list[PrHunk]] = {}
    for hunk in _head_hunks(sample.path, sample.base, sample.head):
        by_file.setdefault(hunk.file, []).append(hunk)
    evidence = PrEvidence(
        auto_claims=[
            AutoClaim(f"auto-{n}", tuple(hunks), (f"tests/test_{n}.py::t",))
            for n, hunks in enumerate(by_file.values(), 1)
        ]
    )
    outcomes = match_findings(import_findings(FIXTURE), evidence, slack=0)
    matched = [o.hunk.split(":")[0] for o in outcomes if o.state is FindingState.JUDGED]
    assert matched == [
        "shopapp/publisher.py",
        "shopapp/exports.py",
        "shopapp/stats.py",
        "shopapp/avatars.py",
        "shopapp/inventory.py",
        "shopapp/settings.py",
        "shopapp/upstream.py",
    ]
    unfixed = outcomes[-2:]
    assert [o.state for o in unfixed] == [FindingState.NO_FIX, FindingState.NO_FIX]
    assert [o.flagged for o in outcomes] == [False] * 8 + [True]


def test_a_fixed_finding_in_a_file_no_hunk_can_judge_is_not_flagged() -> None:
    # The PR changed a test file and a SQL file: a review that says "fixed" there is not
    # contradicted, though no line proof reaches them.
    from harness.verify.prmode import TestClass, TestEvidence

    pr = PrEvidence(
        tests=[TestEvidence("tests/test_api.py::test_status", TestClass.P2P)],
        unjudged=["migrations/001_init.sql"],
    )
    for path in ("tests/test_api.py", "migrations/001_init.sql"):
        outcome = one(draft(path, 40, status="✅ Fixed"), pr)
        assert outcome.state is FindingState.UNJUDGED and not outcome.flagged
    # A file the PR did not touch at all is still "no fix", and flagged when marked fixed.
    outcome = one(draft("shop/other.py", 3, status="✅ Fixed"), pr)
    assert outcome.state is FindingState.NO_FIX and outcome.flagged
