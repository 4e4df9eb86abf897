"""Review documents in the shapes teams write: field lines, numbered headings, bullets, mojibake.

The seed reviews under tests/data are copies of /work/shared/seeds (same bytes, double-encoded
UTF-8 included), so the acceptance counts hold on a fresh clone.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.claims.draft import SEVERITY_HEADINGS, DraftClaim
from harness.claims.importer import import_findings, parse_markdown, to_toml
from harness.claims.load import load_manifest
from harness.claims.mojibake import repair_mojibake
from harness.claims.review import parse_location
from harness.cli.main import main
from harness.errors import UserError

DATA = Path(__file__).parents[1] / "data"
SEEDS = DATA / "seeds"
SHARED_SEEDS = Path(__file__).parents[3] / "shared" / "seeds"
SEED_000 = DATA / "seed000_review.md"
SEED_001 = SEEDS / "001_44923d805eb311ad.md"
SEED_003 = SEEDS / "003_9717a1f314df6f0f.md"
SEED_004 = SEEDS / "004_6dd0614e5dc38322.md"
MOJIBAKE_MARKS = ("ðŸ", "âœ", "‚Ä", "√ê", "√ë", "üî", "Ã")


def drafts(text: str) -> list[DraftClaim]:
    return parse_markdown(text, "review.md")


def where(found: list[DraftClaim]) -> list[tuple[str, str | None, int | None]]:
    return [(d.severity, d.file, d.line) for d in found]


# --------------------------------------------------------------------------- the seeds


@pytest.mark.parametrize(
    ("seed", "count"),
    [(SEED_000, 31), (SEED_001, 9), (SEED_003, 11), (SEED_004, 5)],
    ids=["000-tables", "001-location", "003-file-severity", "004-numbered-headings"],
)
def test_seed_imports_to_loadable_drafts(tmp_path: Path, seed: Path, count: int) -> None:
    out = tmp_path / "drafts.toml"
    assert main(["claims", "import", str(seed), "--out", str(out)]) == 0
    claims = load_manifest(out).claims
    assert len(claims) == count
    assert all(c.draft for c in claims)
    assert all(c.severity.value in SEVERITY_HEADINGS.values() for c in claims)
    for claim in claims:
        assert not any(mark in claim.title for mark in MOJIBAKE_MARKS), claim.title
        # Each source points at the finding's own line of the review.
        assert claim.source is not None
        _, _, number = claim.source.rpartition(":")
        line = seed.read_text(encoding="utf-8").splitlines()[int(number) - 1]
        assert line.strip()


@pytest.mark.parametrize("seed", [SEED_001, SEED_003, SEED_004])
def test_seed_copies_match_the_shared_seeds(seed: Path) -> None:
    shared = SHARED_SEEDS / seed.with_suffix(".txt").name
    if not shared.is_file():
        pytest.skip("the shared seeds are not checked out next to this repository")
    assert seed.read_bytes() == shared.read_bytes()


def test_seed_001_location_fields_and_bullets() -> None:
    found = import_findings(SEED_001)
    assert where(found) == [
        ("critical", "app/agents/supervisor.py", 21),
        ("critical", "app/services/thread_service.py", 20),
        ("critical", "app/services/state_persistence_service.py", None),
        ("critical", "app/services/message_handlers.py", 122),
        ("major", "message_handlers.py", 119),
        ("major", "thread_service.py", 108),
        ("major", "main.py", 136),
        ("major", "websockets.py", 18),
        # A numbered concern under MAJOR CONCERNS that names no file is still reported.
        ("major", None, None),
    ]
    assert [d.title for d in found[:4]] == [
        "Type Safety Vulnerability",
        "SQL Injection Risk",
        "Resource Leak",
        "Race Condition",
    ]
    assert found[4].title.startswith("Silent failures in message_handlers.py:119")
    assert found[8].title == "Architecture Violations"
    assert found[0].source == f"{SEED_001.name}:13"


def test_seed_003_file_and_severity_fields() -> None:
    found = import_findings(SEED_003)
    assert [(d.severity, d.file, d.line, d.end_line) for d in found] == [
        ("critical", "services/training-orchestrator/app.py", 53, None),
        ("minor", "services/training-orchestrator/app.py", 79, None),  # "79,92", MEDIUM
        ("major", "services/ingestion/app.py", 169, 173),
        ("critical", "services/ingestion/app.py", None, None),
        ("major", "services/asr/worker.py", 96, 100),
        ("major", None, None, None),  # **File:** Multiple services
        ("major", "services/metadata/app.py", None, None),
        ("major", "services/api-gateway/app.py", 77, 78),
        ("minor", "services/ingestion/app.py", 176, 190),  # Medium Priority section
        ("minor", "services/api-gateway/app.py", 100, None),
        ("minor", None, None, None),
    ]
    assert found[0].title == "Missing wave Import in Training Orchestrator"


def test_seed_004_double_encoded_russian_review() -> None:
    found = import_findings(SEED_004)
    assert [d.title for d in found] == [
        "Missing log import в api/routers/preview.py",
        "Sync DB usage в async контексте (5 файлов)",
        "Infinite loop protection в code_monkey.py",
        "Race condition с asyncio tasks",
        "Mock/Stub код в production",
    ]
    assert {d.severity for d in found} == {"critical"}  # "### 🔴 КРИТИЧЕСКИЕ БАГИ (P0)"
    assert [d.file for d in found] == [
        "api/routers/preview.py",
        "core/services/preview_service.py",
        "code_monkey.py",
        "api/routers/preview.py",
        "core/services/preview_service.py",
    ]
    # The "Lines 69-79" comment is inside a code block: the review gives no line.
    assert all(d.line is None for d in found)
    assert [d.reported_status for d in found] == [
        "✅ ИСПРАВЛЕНО",
        "✅ ИСПРАВЛЕНО",
        "✅ УЖЕ РЕАЛИЗОВАНО (проверено)",
        "✅ ИСПРАВЛЕНО",
        "✅ ИСПРАВЛЕНО (помечен как deprecated)",
    ]
    assert found[1].more_files == (
        "core/services/notification_service.py",
        "core/llm/base.py",
        "core/services/error_detection.py",
        "core/agents/error_fixing.py",
    )


def test_seed_004_more_files_become_fix_locations(tmp_path: Path) -> None:
    out = tmp_path / "d.toml"
    out.write_text(to_toml(import_findings(SEED_004)), encoding="utf-8")
    sync_db = load_manifest(out).claims[1]
    assert [str(f) for f in sync_db.fix] == [
        "core/services/preview_service.py",
        "core/services/notification_service.py",
        "core/llm/base.py",
        "core/services/error_detection.py",
        "core/agents/error_fixing.py",
    ]


# --------------------------------------------------------------------------- each format


def test_location_field_under_a_heading() -> None:
    found = drafts(
        "## Critical Issues\n\n"
        "### Token leaks into logs\n"
        "**Location**: `app/auth.py:42`\n"
        "- **Issue**: the token is logged\n\n"
        "### Unbounded cache\n"
        "**Location**: app/cache.py (lines 10-20)\n"
    )
    assert [(d.title, d.severity, d.file, d.line, d.end_line) for d in found] == [
        ("Token leaks into logs", "critical", "app/auth.py", 42, None),
        ("Unbounded cache", "critical", "app/cache.py", 10, 20),
    ]
    assert found[0].source == "review.md:3"


def test_file_and_severity_fields_override_the_section() -> None:
    found = drafts(
        "## Critical Bugs\n\n"
        "### 1. **Bare except**\n"
        "**File:** `svc/app.py:79,92`\n"
        "**Severity:** 🟡 **MEDIUM** - silent failures\n"
        "**Status:** Open\n\n"
        "### 2. **Temp files**\n"
        "**File:** Multiple services\n"
        "**Severity:** 🟠 **HIGH**\n\n"
        "### 3. **Missing import**\n"
        "**File:** `svc/worker.py`\n"
        "**Line:** 17\n"
    )
    assert [(d.severity, d.file, d.line, d.reported_status) for d in found] == [
        ("minor", "svc/app.py", 79, "Open"),
        ("major", None, None, None),
        ("critical", "svc/worker.py", 17, None),
    ]
    assert [d.title for d in found] == ["Bare except", "Temp files", "Missing import"]


def test_numbered_headings_with_backticked_paths() -> None:
    found = drafts(
        "### P0 bugs\n\n"
        "#### 1. ✅ **Missing import in `api/preview.py`**\n"
        "**Status:** fixed\n\n"
        "#### 2. ❌ Sync DB in async code\n"
        "Files changed:\n\n"
        "- `core/a.py` - async session\n"
        "- `core/b.py` - async session\n\n"
        "## Key learnings\n\n"
        "### 1. Reviews help\n"
        "Nothing to fix here, `core/c.py` was fine.\n"
    )
    assert [(d.title, d.severity, d.file, d.more_files, d.reported_status) for d in found] == [
        ("Missing import in api/preview.py", "critical", "api/preview.py", (), "✅ fixed"),
        ("Sync DB in async code", "critical", "core/a.py", ("core/b.py",), "❌"),
    ]


def test_path_line_bullets_in_a_severity_section() -> None:
    found = drafts(
        "## 🟡 MAJOR CONCERNS\n\n"
        "### 1. Error handling\n"
        "- Silent failures in `handlers.py:119` - catches and continues\n"
        "- Inconsistent rollback patterns\n\n"
        "## Test coverage gaps\n\n"
        "- `handlers.py:1` - no test file\n"
    )
    assert where(found) == [("major", "handlers.py", 119)]
    assert found[0].title == "Silent failures in handlers.py:119 - catches and continues"
    assert found[0].source == "review.md:4"


def test_severity_from_emoji_priority_and_table_column() -> None:
    assert where(drafts("## 🔴 Блокеры\n\n### 1. Crash\n**File:** `a.py:3`\n")) == [
        ("critical", "a.py", 3)
    ]
    assert where(drafts("## P1 - stability\n\n- Leak in `b.py:9`\n")) == [("major", "b.py", 9)]
    table = (
        "## Critical\n\n"
        "| Issue | File | Severity | Status |\n|---|---|---|---|\n"
        "| Race | `c.py:5-8` | Low | ✅ Fixed |\n"
        "| Crash | d.py |  | Open |\n"
    )
    assert [(d.severity, d.file, d.line, d.end_line, d.reported_status) for d in drafts(table)] == [
        ("minor", "c.py", 5, 8, "✅ Fixed"),
        ("critical", "d.py", None, None, "Open"),
    ]


def test_heading_severity_ends_with_its_section() -> None:
    # The regex-era reader kept the last severity heading for the rest of the document.
    found = drafts(
        "## Critical\n\n| Issue | File |\n|---|---|\n| a | a.py |\n\n"
        "## Other notes\n\n| Issue | File |\n|---|---|\n| b | b.py |\n"
    )
    assert [d.severity for d in found] == ["critical", "major"]


def test_a_comment_in_a_fenced_code_block_is_not_a_heading() -> None:
    found = drafts(
        "## Minor\n\n"
        "```python\n# Critical: not a heading\n**File:** `x.py:1`\n```\n\n"
        "| # | Issue | File | Line |\n|---|---|---|---|\n| 1 | Typo | a.py | 3 |\n"
    )
    assert [(d.title, d.severity, d.file, d.line) for d in found] == [("Typo", "minor", "a.py", 3)]


def test_a_row_with_an_escaped_pipe_is_kept() -> None:
    found = drafts(
        "| # | Issue | File | Line | Status |\n|---|---|---|---|---|\n"
        "| 1 | `a \\| b` parses as two cells | p.py | 7 | Open \\| stale |\n"
        "| 2 | Next | q.py | 8 | Open |\n"
    )
    assert [(d.title, d.file, d.line, d.reported_status) for d in found] == [
        ("a | b parses as two cells", "p.py", 7, "Open | stale"),
        ("Next", "q.py", 8, "Open"),
    ]


def test_ranges_and_extra_files_load_as_fix_ranges(tmp_path: Path) -> None:
    found = drafts(
        "## Major\n\n### 1. Leak\n**File:** `w.py:96-100`\n\n### 2. Race\n- `x.py` and\n- `y.py`\n"
    )
    out = tmp_path / "d.toml"
    out.write_text(to_toml(found), encoding="utf-8")
    claims = load_manifest(out).claims
    assert [[str(f) for f in c.fix] for c in claims] == [["w.py:96-100"], ["x.py", "y.py"]]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("`app/x.py:12`", ("app/x.py", 12, None)),
        ("app/x.py:12-20", ("app/x.py", 12, 20)),
        ("x.py#L5-L9", ("x.py", 5, 9)),
        ("x.py:0", ("x.py", None, None)),
        ("x.py (line 4)", ("x.py", 4, None)),
        ("wave", None),
        ("logging.exception", None),
        ("https://example.com/a.py", None),
    ],
)
def test_parse_location(text: str, expected: tuple[str, int | None, int | None] | None) -> None:
    found = parse_location(text)
    assert (found and (found.file, found.line, found.end)) == expected


def test_prose_without_findings_is_a_user_error(tmp_path: Path) -> None:
    review = tmp_path / "notes.md"
    review.write_text(
        "# Notes\n**Location**: eu-west-1 region\n\n"
        "## Key learnings\n\n### 1. Tests help\nWrite them, see `docs/testing.md`.\n"
    )
    with pytest.raises(UserError, match="found no findings"):
        import_findings(review)


# --------------------------------------------------------------------------- mojibake


@pytest.mark.parametrize(
    ("original", "codec"),
    [("🔴 **CRITICAL** ✅ Fixed\n", "cp1252"), ("# ✅ Отчет об исправлениях\n", "mac_roman")],
)
def test_double_encoded_text_is_repaired(original: str, codec: str) -> None:
    mangled = original.encode("utf-8").decode(codec)
    assert mangled != original
    assert repair_mojibake(mangled) == original


def test_mojibake_with_lost_bytes_is_read_around() -> None:
    # 🐛 through Windows-1252 loses its 0x90 byte: the rest is not left as 'ðŸ›'.
    repaired = repair_mojibake("# ðŸ› Bug report\n## ðŸ”´ Critical\n")
    assert repaired == "# \ufffd Bug report\n## 🔴 Critical\n"


@pytest.mark.parametrize("text", ["café, naïve — ✅ Fixed", "Отчет об исправлениях", "plain"])
def test_correct_text_is_left_alone(text: str) -> None:
    assert repair_mojibake(text) == text


# --------------------------------------------------------------------------- fuzz

PIECE = st.sampled_from(
    (
        "## Critical",
        "## 🟡 Medium",
        "### 1. **Bug in `a/b.py`**",
        "### 2. ✅ Fixed thing",
        "#### P1 stuff",
        "**File:** `x.py:3-1`",
        "**File:** Multiple services",
        "**Location**: y.py:0",
        "**Severity:** 🔴 **HIGH**",
        "**Status:** ✅",
        "**Line:** 99999999999",
        "- Leak in `z.py:12`",
        "- `q.py`",
        "```",
        "| Issue | File | Line |\n|---|---|---|\n| a \\| b | `c.py:1` | 2 |",
        "",
    )
)
DOCUMENT = st.lists(PIECE | st.text(max_size=12), max_size=10).map("\n".join)


@settings(max_examples=150, derandomize=True, database=None, deadline=None)
@given(text=DOCUMENT)
def test_fuzzed_reviews_give_loadable_drafts(
    tmp_path_factory: pytest.TempPathFactory, text: str
) -> None:
    found = drafts(text)
    if not found:
        return
    manifest = to_toml(found)
    tomllib.loads(manifest)
    out = tmp_path_factory.mktemp("fuzz") / "d.toml"
    out.write_text(manifest, encoding="utf-8")
    try:
        loaded = load_manifest(out)
    except UserError as exc:  # only a file name the review wrote with a ':' in it
        assert "fix=" in exc.one_line(), exc.one_line()
        return
    assert len(loaded.claims) == len(found)
