"""Manifest validation: every mistake names the file, the line and the field, and exits 2."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.claims.load import load_manifest
from harness.claims.model import CONCURRENCY_REPEATS, FixRange
from harness.cli.main import main
from harness.errors import UserError

GOOD = """\
[run]
timeout = 30

[policy]
min_kill_ratio = 0.9
[[policy.exceptions]]
claim = "schema"
verdict = "NO_MUTANTS"
reason = "SQL-only fix"

[targets.app]
kind = "process"
command = "uvicorn app:app --port {port}"

[[claims]]
id = "cap"
title = "Cap holds"
severity = "critical"
tests = ["tests/test_cap.py::test_cap"]
fix = ["app/store.py", "app/api.py:10-12"]
[claims.run]
concurrency = true

[[claims]]
id = "schema"
title = "Unique constraint"
scenario = "schema.upsert"
target = "app"
[claims.binding]
table = "voices"
"""


def write(tmp_path: Path, text: str, name: str = "harness.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_good_manifest_loads_with_defaults_and_overrides(tmp_path: Path) -> None:
    manifest = load_manifest(write(tmp_path, GOOD))
    cap, schema = manifest.claims
    assert cap.fix == (FixRange(file="app/store.py"), FixRange(file="app/api.py", start=10, end=12))
    settings = manifest.settings_for(cap)
    assert settings.timeout == 30
    assert settings.repeats == CONCURRENCY_REPEATS  # concurrency claims repeat by default
    assert manifest.settings_for(schema).repeats == 1
    assert manifest.policy.excused("schema", schema_verdict()) is not None


def schema_verdict():
    from harness.outcomes import Verdict

    return Verdict.NO_MUTANTS


def test_pyproject_tool_harness(tmp_path: Path) -> None:
    body = GOOD.replace("[run]", "[tool.harness.run]").replace("[policy]", "[tool.harness.policy]")
    body = body.replace("[[policy.", "[[tool.harness.policy.").replace(
        "[targets.", "[tool.harness.targets."
    )
    body = body.replace("[[claims]]", "[[tool.harness.claims]]").replace(
        "[claims.", "[tool.harness.claims."
    )
    manifest = load_manifest(write(tmp_path, "[project]\nname='x'\n\n" + body, "pyproject.toml"))
    assert [c.id for c in manifest.claims] == ["cap", "schema"]


@pytest.mark.parametrize(
    ("old", "new", "line", "fragment"),
    [
        ('severity = "critical"', 'severity = "urgent"', 18, "claims[0](cap).severity='urgent'"),
        (
            'severity = "critical"',
            'sevrity = "critical"',
            18,
            "claims[0](cap).sevrity: unknown field",
        ),
        (
            'fix = ["app/store.py", "app/api.py:10-12"]',
            'fix = ["app/api.py:12-10"]',
            20,
            "start <= end",
        ),
        ('id = "schema"', 'id = "cap"', None, "id='cap' is used twice"),
        ('tests = ["tests/test_cap.py::test_cap"]', "", 15, "needs 'tests'"),
        ("timeout = 30", "timeout = -1", 2, "run.timeout=-1"),
        ('id = "cap"', 'id = "has space"', 16, "id='has space'"),
    ],
)
def test_bad_manifest_names_file_line_and_field(
    tmp_path: Path, old: str, new: str, line, fragment: str
) -> None:
    assert old in GOOD
    path = write(tmp_path, GOOD.replace(old, new))
    with pytest.raises(UserError) as info:
        load_manifest(path)
    text = info.value.one_line()
    assert fragment in text
    assert text.startswith(str(path))
    if line is not None:
        assert text.startswith(f"{path}:{line}:"), text


def test_bad_toml_gives_line(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD + "\nbroken = [\n")
    with pytest.raises(UserError, match="not valid TOML"):
        load_manifest(path)


def test_cli_reports_bad_manifest_in_one_line_with_exit_2(tmp_path: Path, capsys) -> None:
    path = write(tmp_path, GOOD.replace('severity = "critical"', 'severity = "urgent"'))
    code = main(["claims", "list", "--manifest", str(path)])
    err = capsys.readouterr().err
    assert code == 2
    assert "Traceback" not in err
    assert f"{path}:18" in err and "urgent" in err
    assert len([line for line in err.splitlines() if line.strip()]) <= 2


def test_cli_missing_manifest(tmp_path: Path, capsys) -> None:
    code = main(["claims", "list", "--manifest", str(tmp_path / "nope.toml")])
    assert code == 2
    assert "does not exist" in capsys.readouterr().err
