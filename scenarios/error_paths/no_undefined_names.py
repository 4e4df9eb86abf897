"""error_paths.no_undefined_names: ruff's F821 finds no undefined name in the target's source."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from functools import cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from harness.pack import Target, UserError, scenario
from scenarios._shared import root_folder


class UndefinedNamesBinding(BaseModel):
    """Which source to lint: `paths` under `root` (default: the target's `cwd`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    root: Path | None = None
    paths: tuple[str, ...] = Field(default=(".",), min_length=1)
    #: Reviewed exceptions, written ``"path/to/file.py:name"`` (paths relative to `root`).
    allow: tuple[str, ...] = ()
    timeout: float = Field(default=60.0, gt=0)


def _root(binding: UndefinedNamesBinding, target: Target) -> Path:
    root = root_folder(binding.root, target, "source folder to lint")
    if not root.is_dir():
        raise UserError(f"binding.root={str(root)!r}: is not a directory", where="binding.root")
    return root


def run_ruff(root: Path, paths: tuple[str, ...], timeout: float) -> list[dict[str, object]]:
    """F821 diagnostics of `paths` under `root`, as ruff's JSON objects (config ignored)."""
    command = [
        sys.executable,
        "-m",
        "ruff",
        "check",
        "--isolated",
        "--no-cache",
        "--select",
        "F821",
        "--output-format",
        "json",
        "--exit-zero",
        *paths,
    ]
    try:
        proc = subprocess.run(
            command, cwd=root, capture_output=True, text=True, timeout=timeout, check=False
        )
    except FileNotFoundError:  # pragma: no cover - sys.executable always exists
        raise UserError("ruff cannot be started", where="binding") from None
    if proc.returncode != 0 or not proc.stdout.strip().startswith("["):
        detail = (proc.stderr or proc.stdout).strip()[-500:]
        if "No module named ruff" in detail:
            raise UserError(
                "the error_paths checks need ruff",
                where="binding",
                hint="pip install 'fixguard[error-paths]' (or pip install ruff)",
            )
        raise UserError(
            f"binding.paths={list(paths)!r}: ruff failed: {detail}", where="binding.paths"
        )
    found: list[dict[str, object]] = json.loads(proc.stdout)
    return found


@cache
def _except_lines(path: Path) -> tuple[tuple[int, int, int], ...]:
    """(first, last, except line) of every except clause body in `path`."""
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"))
    except (OSError, SyntaxError, ValueError):
        return ()
    return tuple(
        (h.lineno, h.end_lineno or h.lineno, h.lineno)
        for h in ast.walk(tree)
        if isinstance(h, ast.ExceptHandler)
    )


def where_in_code(path: Path, line: int) -> str:
    """' (on the except branch at line N)' when `line` is inside an except clause, else ''."""
    inside = [h for h in _except_lines(path) if h[0] <= line <= h[1]]
    return f" (on the except branch at line {inside[-1][2]})" if inside else ""


@scenario("error_paths.no_undefined_names", binding=UndefinedNamesBinding)
def source_has_no_undefined_names(binding: UndefinedNamesBinding, target: Target) -> None:
    """Every name the source uses is defined or imported (ruff F821), also on rare paths."""
    root = _root(binding, target)
    flagged: list[str] = []
    for item in run_ruff(root, binding.paths, binding.timeout):
        file = Path(str(item["filename"]))
        rel = file.relative_to(root.resolve()) if file.is_absolute() else file
        location = item.get("location") or {}
        assert isinstance(location, dict)
        row, col = int(location.get("row", 0)), int(location.get("column", 0))
        message = str(item.get("message", ""))
        name = message.split("`")[1] if message.count("`") >= 2 else message
        if f"{rel.as_posix()}:{name}" in binding.allow:
            continue
        _except_lines.cache_clear()
        flagged.append(
            f"{rel.as_posix()}:{row}:{col}: undefined name {name!r}{where_in_code(root / rel, row)}"
        )
    if flagged:
        raise AssertionError(
            "error_paths.no_undefined_names: names used but never defined or imported "
            "(a NameError the first time that line runs)\n  "
            + "\n  ".join(flagged)
            + f"\n  rerun: cd {root} && ruff check --isolated --select F821 "
            + " ".join(binding.paths)
        )
