"""The bad-input table in docs/bad-inputs.md: generated from bad_inputs.toml, every row run.

Each row runs through the real CLI in a subprocess and must give its exit code and an error line
of its exact shape (`<name>` stands for any text). After editing the rows, regenerate the doc:

    python tests/hardening/test_bad_inputs_table.py --write
"""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path
from typing import Any

import pytest

DATA = Path(__file__).with_name("bad_inputs.toml")
DOC = Path(__file__).parents[2] / "docs" / "bad-inputs.md"
BEGIN = "<!-- generated from tests/hardening/bad_inputs.toml; do not edit by hand -->"
END = "<!-- end of the generated table -->"
#: `<path>`, `<tomllib's message>`, `<...>`; never the `<=` of "1<=x<=100" or "start <= end".
PLACEHOLDER = re.compile(r"<[A-Za-z.][^<>=]*>")
ROW_KEYS = {"input", "args", "exit", "message", "files", "repo_files", "reproducible", "why"}


def rows() -> list[dict[str, Any]]:
    return list(tomllib.loads(DATA.read_text(encoding="utf-8"))["row"])


def shape_pattern(shape: str) -> re.Pattern[str]:
    """The message shape as a regex: literal text, each placeholder any non-empty text."""
    return re.compile(".+?".join(re.escape(part) for part in PLACEHOLDER.split(shape)))


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def render(table_rows: list[dict[str, Any]]) -> str:
    lines = ["| input | exit | message |", "|---|---|---|"]
    for row in table_rows:
        lines.append(f"| {_cell(row['input'])} | {row['exit']} | `` {_cell(row['message'])} `` |")
    return "\n".join(lines)


def with_table(doc: str, table: str) -> str:
    head, _, rest = doc.partition(BEGIN)
    _, _, tail = rest.partition(END)
    return f"{head}{BEGIN}\n{table}\n{END}{tail}"


def test_the_doc_table_is_generated_from_the_rows() -> None:
    doc = DOC.read_text(encoding="utf-8")
    assert BEGIN in doc and END in doc, f"{DOC} lost its generated-table markers"
    assert doc == with_table(doc, render(rows())), (
        f"{DOC.name} differs from {DATA.name}: run "
        "`python tests/hardening/test_bad_inputs_table.py --write`"
    )


def test_every_row_is_well_formed() -> None:
    inputs = [row["input"] for row in rows()]
    assert len(inputs) == len(set(inputs)), "two rows share an input"
    for row in rows():
        assert set(row) <= ROW_KEYS, f"{row['input']}: unknown keys {set(row) - ROW_KEYS}"
        assert isinstance(row["exit"], int) and isinstance(row["message"], str), row["input"]
        if row.get("reproducible", True):
            assert row.get("args"), f"{row['input']}: a reproducible row needs args"
        else:
            assert row.get("why"), f"{row['input']}: say why it is not reproducible"


def test_shapes_match_only_their_own_text() -> None:
    pattern = shape_pattern("error: <file>:3: not valid TOML: <message> (at line 3, column <n>)")
    assert pattern.fullmatch("error: /t/h.toml:3: not valid TOML: Unbalanced (at line 3, column 9)")
    assert not pattern.fullmatch(
        "error: /t/h.toml:4: not valid TOML: Unbalanced (at line 4, column 9)"
    )
    assert shape_pattern("in the range 1<=x<=100.").fullmatch("in the range 1<=x<=100.")


def _write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


@pytest.fixture(scope="module")
def clean_repo(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from tests.hardening.test_fuzz_inputs import TINY_BASE, TINY_FIX
    from tests.mutation.conftest import make_fix_repo

    return make_fix_repo(tmp_path_factory.mktemp("table") / "repo", TINY_BASE, TINY_FIX)


@pytest.mark.parametrize(
    "row", [r for r in rows() if r.get("reproducible", True)], ids=lambda r: r["input"]
)
def test_row(row: dict[str, Any], clean_repo: Any, tmp_path: Path) -> None:
    from tests.hardening.test_fuzz_inputs import TINY_BASE, TINY_FIX
    from tests.mutation.conftest import make_fix_repo

    repo = clean_repo
    if row.get("repo_files"):  # this row dirties the work tree: give it a repo of its own
        repo = make_fix_repo(tmp_path / "repo", TINY_BASE, TINY_FIX)
        _write(repo.path, row["repo_files"])
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    _write(scratch, {rel: textwrap.dedent(text) for rel, text in row.get("files", {}).items()})
    values = {
        "{repo}": str(repo.path),
        "{base}": repo.base,
        "{head}": repo.head,
        "{dir}": str(scratch),
    }
    args = [_fill(arg, values) for arg in row["args"]]
    result = subprocess.run(
        [sys.executable, "-m", "harness.cli", *args],
        cwd=scratch,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    shown = f"{args}\nexit {result.returncode}\n{result.stderr[-2000:]}"
    assert result.returncode == row["exit"], shown
    assert "Traceback" not in result.stderr, shown
    pattern = shape_pattern(row["message"])
    assert any(pattern.fullmatch(line.rstrip()) for line in result.stderr.splitlines()), (
        f"no stderr line has the shape {row['message']!r}\n{shown}"
    )


def _fill(arg: str, values: dict[str, str]) -> str:
    for key, value in values.items():
        arg = arg.replace(key, value)
    return arg


if __name__ == "__main__":
    if sys.argv[1:] != ["--write"]:
        sys.exit(f"usage: python {sys.argv[0]} --write   (regenerates the table in {DOC})")
    DOC.write_text(with_table(DOC.read_text(encoding="utf-8"), render(rows())), encoding="utf-8")
    print(f"wrote {len(rows())} rows to {DOC}")
