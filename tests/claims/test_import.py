"""Drafting claims from review tables and SARIF, and reading the drafts back as a manifest."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from harness.claims.classify import guess_class
from harness.claims.importer import import_findings, to_toml
from harness.claims.load import load_manifest
from harness.cli.main import main
from harness.errors import UserError

DATA = Path(__file__).parents[1] / "data"
SEED = DATA / "seed000_review.md"


def table_rows(text: str) -> list[list[str]]:
    """The seed's `| # | Issue | File | Line | Status |` rows, read independently of the importer."""
    rows = []
    header = False
    for line in text.splitlines():
        if line.startswith("| # | Issue | File | Line | Status |"):
            header = True
            continue
        if header and line.startswith("|---"):
            continue
        if header and line.startswith("|"):
            rows.append([c.strip() for c in line.strip().strip("|").split("|")])
        else:
            header = False
    return rows


def test_seed_000_tables_round_trip(tmp_path: Path) -> None:
    rows = table_rows(SEED.read_text())
    assert len(rows) == 13  # 3 critical + 6 major + 4 minor
    out = tmp_path / "drafts.toml"
    assert main(["claims", "import", str(SEED), "--out", str(out)]) == 0
    manifest = load_manifest(out)
    by_title = {c.title: c for c in manifest.claims}
    for _number, issue, file, line, status in rows:
        title = issue.replace("`", "")
        claim = by_title[title]
        assert claim.draft is True
        assert claim.reported_status == status
        fix = str(claim.fix[0]) if claim.fix else None
        file = file.replace("`", "")
        if line.isdigit():
            assert fix == f"{file}:{line}-{line}"
        elif file != "null":
            assert fix == file
    severities = [by_title[r[1].replace("`", "")].severity.value for r in rows]
    assert severities == ["critical"] * 3 + ["major"] * 6 + ["minor"] * 4
    # Nitpick rows (| File | Issue | Type |) are drafted too.
    assert sum(1 for c in manifest.claims if c.severity.value == "nitpick") == 18
    assert (
        by_title["Missing `datetime` import causes runtime error".replace("`", "")].bug_class
        == "error_paths"
    )
    assert by_title["Path traversal vulnerability (CodeQL)"].bug_class == "path_traversal"
    # Every source points at the row's line in the report.
    lines = SEED.read_text().splitlines()
    for claim in manifest.claims:
        assert claim.source is not None
        name, _, number = claim.source.rpartition(":")
        assert name == SEED.name
        assert claim.title.split()[0] in lines[int(number) - 1]


def test_draft_claims_are_refused_by_verify(tmp_path: Path) -> None:
    from harness.claims.load import load_manifest as load
    from harness.verify.pipeline import select_claims

    out = tmp_path / "d.toml"
    out.write_text(to_toml(import_findings(SEED)))
    with pytest.raises(UserError, match="drafts"):
        select_claims(load(out), None)


def test_sarif_import() -> None:
    drafts = import_findings(DATA / "codeql.sarif")
    assert [(d.file, d.line, d.severity, d.bug_class) for d in drafts] == [
        ("services/training.py", 209, "critical", "path_traversal"),
        ("app/services/thread_service.py", 20, "major", "injection"),
    ]
    assert drafts[0].source == "codeql.sarif:runs[0].results[0]"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Race condition in cancel_training", "races"),
        ("TOCTOU on ticket cap", "races"),
        ("File handle not properly closed", "leaks"),
        ("Missing response check on PATCH", "resilience"),
        ("synthesize_cloned always raises 501", "placeholders"),
        ("RLS policy: USING (true) for authenticated", "authz"),
        ("Duplicate panel with misleading title", None),
    ],
)
def test_guess_class(text: str, expected: str | None) -> None:
    assert guess_class(text) == expected


def test_import_errors(tmp_path: Path, capsys) -> None:
    empty = tmp_path / "empty.md"
    empty.write_text("# nothing here\n")
    assert main(["claims", "import", str(empty)]) == 2
    assert "found no findings" in capsys.readouterr().err
    bad = tmp_path / "bad.sarif"
    bad.write_text("{not json")
    assert main(["claims", "import", str(bad)]) == 2
    assert re.search(r"bad.sarif:1: not valid JSON", capsys.readouterr().err)
    existing = tmp_path / "keep.toml"
    existing.write_text("precious")
    assert main(["claims", "import", str(SEED), "--out", str(existing)]) == 2
    assert existing.read_text() == "precious"
