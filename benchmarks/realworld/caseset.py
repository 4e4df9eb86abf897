"""Calibration cases: one TOML file per real fix, validated strictly before anything runs.

A bad case file is a user error: one line naming the file, the line and the field, exit 2,
never a verdict.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tomllib
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, Literal, Protocol, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

CASES_DIR = Path(__file__).resolve().parent / "cases"

Verdict = Literal[
    "VERIFIED", "UNGUARDED", "NOT_REPRODUCED", "STILL_FAILING", "FLAKY", "NO_MUTANTS", "ERROR"
]
BugClass = Literal[
    "path_traversal", "race", "leak", "timeout", "idempotency", "replay", "injection", "unbounded"
]
CASE_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
FIX_ENTRY = re.compile(r"^[^:\s]+(:\d+(-\d+)?)?$")
PIN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._\[\],-]*==[^=\s]+$")


class CaseError(Exception):
    """A case file is wrong; the message is the one line the runner prints."""


class Case(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    bug_class: BugClass
    package: str = Field(min_length=1)
    old: str = Field(min_length=1)
    new: str = Field(min_length=1)
    source: str = Field(min_length=3)
    tests: tuple[str, ...] = Field(min_length=1)
    fix: tuple[str, ...] = Field(min_length=1)
    deps: tuple[str, ...] = Field(min_length=1)
    pythonpath: str = ""
    pytest_args: tuple[str, ...] = ()
    prepare: str = ""
    timeout: float = Field(default=120.0, gt=0, le=3600)
    concurrency: bool = False
    #: Absolute paths a test's own payload may create outside the tree when a mutant disables
    #: the fix (an archive-extraction exploit, say); the runner removes them after the case.
    cleanup: tuple[str, ...] = ()
    expected: Verdict
    #: One line for the README's table; `reason` has the hunk-by-hunk reading.
    why: str = Field(min_length=10, max_length=160)
    reason: str = Field(min_length=20)
    history: tuple[str, ...] = Field(min_length=1)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not CASE_NAME.match(value):
            raise ValueError("must be lowercase letters, digits and dashes")
        return value

    @field_validator("tests")
    @classmethod
    def _tests(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for test in value:
            if "::" not in test or test.startswith("/"):
                raise ValueError(f"{test!r} is not a relative pytest node id (path::name)")
        return value

    @field_validator("fix")
    @classmethod
    def _fix(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for entry in value:
            if not FIX_ENTRY.match(entry):
                raise ValueError(f"{entry!r} is not 'file' or 'file:start-end'")
        return value

    @field_validator("deps")
    @classmethod
    def _deps(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return check_pins(value)

    @field_validator("cleanup")
    @classmethod
    def _cleanup(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for path in value:
            if not path.startswith("/") or path.rstrip("/") in ("", "/home", "/tmp", "/root"):
                raise ValueError(f"{path!r} must be an absolute path to one file")
        return value

    @property
    def test_files(self) -> tuple[str, ...]:
        """The files the node ids name, in order, without repeats."""
        return tuple(dict.fromkeys(t.split("::", 1)[0] for t in self.tests))


def _line_of(text: str, field: str) -> int:
    """The 1-based line where `field = ...` is set, or 1 when the field is missing."""
    pattern = re.compile(rf"^\s*{re.escape(field)}\s*=", re.MULTILINE)
    match = pattern.search(text)
    return text.count("\n", 0, match.start()) + 1 if match else 1


def read_case(path: Path) -> tuple[str, dict[str, Any]]:
    """A case file's text and its TOML table, whose `name` defaults to the file name."""
    text = path.read_text(encoding="utf-8")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise CaseError(f"{path}: not valid TOML: {exc}") from None
    data.setdefault("name", path.stem)
    return text, data


def load_case(path: Path) -> Case:
    """Read and validate one case file; raise CaseError naming file:line and field."""
    text, data = read_case(path)
    if data["name"] != path.stem:
        raise CaseError(
            f"{path}:{_line_of(text, 'name')}: name={data['name']!r} must match the file name"
        )
    try:
        return Case(**data)
    except ValidationError as exc:
        error = exc.errors()[0]
        field = str(error["loc"][0]) if error["loc"] else "?"
        where = ".".join(str(part) for part in error["loc"])
        message = error["msg"].removeprefix("Value error, ")
        raise CaseError(f"{path}:{_line_of(text, field)}: {where}: {message}") from None


def check_pins(deps: tuple[str, ...]) -> tuple[str, ...]:
    """`deps` when each is pinned as NAME==VERSION (a case must install the same every time)."""
    for dep in deps:
        if not PIN.match(dep):
            raise ValueError(f"{dep!r} is not pinned as NAME==VERSION")
    return deps


def case_paths(directory: Path, names: list[str] | None = None) -> list[Path]:
    """Every case file in `directory` (sorted), or only `names`; unknown names are an error."""
    paths = sorted(directory.glob("*.toml"))
    if names:
        known = {p.stem: p for p in paths}
        missing = [n for n in names if n not in known]
        if missing:
            raise CaseError(f"unknown case {', '.join(missing)} (known: {', '.join(known)})")
        paths = [known[n] for n in names]
    return paths


def load_cases(directory: Path = CASES_DIR, names: list[str] | None = None) -> list[Case]:
    """Every case in `directory` (sorted), or only `names`; unknown names are an error."""
    return [load_case(p) for p in case_paths(directory, names)]


# --- what both runners' main() does first and last ----------------------------------------

CaseT = TypeVar("CaseT")


class Judged(Protocol):
    @property
    def ok(self) -> bool: ...


OutcomeT = TypeVar("OutcomeT", bound=Judged)


def cases_to_run(
    args: argparse.Namespace, load: Callable[[Path, list[str] | None], list[CaseT]], what: str
) -> list[CaseT] | int:
    """The cases `--cases-dir` and `--case` name, or main's exit code when it is done: 2 after
    the one line on a bad case file, 0 after `--check` found every `what` valid."""
    try:
        cases = load(args.cases_dir, args.case or None)
    except CaseError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.check:
        print(f"{len(cases)} {what} valid")
        return 0
    return cases


def markdown_table(columns: Sequence[str], rows: Iterable[Sequence[str]]) -> list[str]:
    """The lines of a markdown table (pasteable into the README): header, rule, one per row."""
    return [
        "| " + " | ".join(columns) + " |",
        "|" + "---|" * len(columns),
        *("| " + " | ".join(cells) + " |" for cells in rows),
    ]


def finish(
    outcomes: list[OutcomeT],
    table: str,
    json_path: Path | None,
    as_json: Callable[[OutcomeT], object],
) -> int:
    """Print the table, write the outcomes to `json_path` when given; exit 0 when all are ok."""
    print()
    print(table)
    if json_path:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps([as_json(o) for o in outcomes], indent=2))
    return 0 if all(o.ok for o in outcomes) else 1
