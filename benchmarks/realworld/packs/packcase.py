"""Pack calibration cases: one TOML file binding a scenario pack to a real release pair.

A case names a check, a package with an old release that has a bug of the check's class and the
release that fixed it, a small app that serves that package as a `process` target, and what the
check must say on each release, written down before the first run. A bad file is one line
naming the file, the line and the field; nothing is downloaded to find that out.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

# The fix-commit suite's case rules, where they are the same (benchmarks/realworld on sys.path).
from caseset import CaseError, case_paths, check_pins, read_case
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

PACKS_DIR = Path(__file__).resolve().parent
CASES_DIR = PACKS_DIR / "cases"
CASE_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,79}$")
CHECK_NAME = re.compile(r"^[A-Za-z_]\w*\.[A-Za-z_]\w*$")
HISTORY = re.compile(r"^\d{4}-\d{2}-\d{2}: .{10,}")
#: Placeholders the runner fills in `command` and `env` before the process target sees them
#: (the target itself fills {python}, {port} and {host}).
RUNNER_PLACEHOLDERS = ("app", "sandbox", "sandbox_base")
TARGET_PLACEHOLDERS = ("python", "port", "host")
_PLACEHOLDER = re.compile(r"\{([A-Za-z_]+)\}")


class Expectation(BaseModel):
    """What the check says on one release: a violation or not, and which findings."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    violation: bool
    #: Substrings the check's failure message must contain: the violation is the expected one
    #: (the right canary, the right family), not some other AssertionError on the way.
    violation_shows: tuple[str, ...] = ()
    #: Substrings of the findings' problems. Each must match a finding, and each finding must
    #: match one of them: an unexpected finding is a mismatch as much as a missing one.
    findings: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _shows_needs_violation(self) -> Expectation:
        if self.violation_shows and not self.violation:
            raise ValueError("violation_shows needs violation = true")
        if any(not s.strip() for s in (*self.violation_shows, *self.findings)):
            raise ValueError("an empty substring matches everything")
        return self


class Expected(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    old: Expectation
    new: Expectation


class PackCase(BaseModel):
    """One case file; see README.md beside this file for each field."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    check: str
    package: str = Field(min_length=1)
    old: str = Field(min_length=1)
    new: str = Field(min_length=1)
    bug: str = Field(min_length=10, max_length=200)
    deps: tuple[str, ...] = ()
    app: str
    command: str = "{python} {app} --port {port}"
    env: dict[str, str] = Field(default_factory=dict)
    sandbox: bool = False
    binding: dict[str, Any]
    health: str | None = None
    startup_timeout: float = Field(default=60.0, gt=0, le=600)
    why: str = Field(min_length=40)
    history: tuple[str, ...] = Field(min_length=1)
    expected: Expected

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not CASE_NAME.match(value):
            raise ValueError("must be lowercase letters, digits and dashes")
        return value

    @field_validator("check")
    @classmethod
    def _check(cls, value: str) -> str:
        if not CHECK_NAME.match(value):
            raise ValueError(
                "must be '<pack>.<check>', e.g. 'path_traversal.read_stays_inside_base'"
            )
        return value

    @field_validator("deps")
    @classmethod
    def _deps(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return check_pins(value)

    @field_validator("app")
    @classmethod
    def _app(cls, value: str) -> str:
        if value.startswith("/") or ".." in Path(value).parts:
            raise ValueError(
                "must be a path relative to benchmarks/realworld/packs/, e.g. 'apps/x.py'"
            )
        if not (PACKS_DIR / value).is_file():
            raise ValueError(f"no such file {PACKS_DIR / value}")
        return value

    @field_validator("command")
    @classmethod
    def _command(cls, value: str) -> str:
        unknown = sorted(
            set(_PLACEHOLDER.findall(value)) - {*RUNNER_PLACEHOLDERS, *TARGET_PLACEHOLDERS}
        )
        if unknown:
            raise ValueError(f"unknown placeholder {{{unknown[0]}}}")
        if "{port}" not in value:
            raise ValueError("must pass {port} to the app, e.g. '{python} {app} --port {port}'")
        return value

    @field_validator("env")
    @classmethod
    def _env(cls, value: dict[str, str]) -> dict[str, str]:
        for key, text in value.items():
            unknown = sorted(
                set(_PLACEHOLDER.findall(text)) - {*RUNNER_PLACEHOLDERS, *TARGET_PLACEHOLDERS}
            )
            if unknown:
                raise ValueError(f"{key}: unknown placeholder {{{unknown[0]}}}")
        return value

    @field_validator("health")
    @classmethod
    def _health(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith("/"):
            raise ValueError("must be a path on the app, such as '/health'")
        return value

    @field_validator("history")
    @classmethod
    def _history(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for line in value:
            if not HISTORY.match(line):
                raise ValueError(f"{line!r} must read 'YYYY-MM-DD: what changed and why'")
        return value

    @model_validator(mode="after")
    def _sandbox_fits(self) -> PackCase:
        texts = [self.command, *self.env.values()]
        if not self.sandbox and any("{sandbox" in t for t in texts):
            raise ValueError("sandbox: {sandbox}/{sandbox_base} are used but sandbox = false")
        if self.sandbox and "sandbox" in self.binding:
            raise ValueError("binding.sandbox: set by the runner (a fresh sandbox per run)")
        return self

    @property
    def app_path(self) -> Path:
        return PACKS_DIR / self.app

    def expectation(self, release: str) -> Expectation:
        return self.expected.old if release == "old" else self.expected.new

    def version(self, release: str) -> str:
        return self.old if release == "old" else self.new


def _line_of(text: str, loc: tuple[int | str, ...]) -> int:
    """The 1-based line that sets the field at `loc` (its table's header when it is missing)."""
    parts = [p for p in loc if isinstance(p, str)]
    start, header_line = 0, 1
    for i in range(len(parts)):  # `expected.new.violation` is looked for under [expected.new]
        header = re.search(rf"^[ \t]*\[{re.escape('.'.join(parts[: i + 1]))}\]", text, re.MULTILINE)
        if header:
            start, header_line = header.end(), text.count("\n", 0, header.start()) + 1
    for part in reversed(parts):
        name = re.escape(part)
        match = re.compile(rf"^[ \t]*{name}\s*=", re.MULTILINE).search(text, start)
        if match is None:  # an inline table: `binding = { examples = ... }`
            match = re.compile(rf"[{{,]\s*{name}\s*=").search(text, start)
        if match:
            return text.count("\n", 0, match.start()) + 1
    return header_line


def _dotted(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(p) for p in loc) or "?"


def load_case(path: Path) -> PackCase:
    """Read and validate one case file (no download, no check run); CaseError on a bad field."""
    text, data = read_case(path)
    if data["name"] != path.stem:
        raise CaseError(
            f"{path}:{_line_of(text, ('name',))}: name: {data['name']!r} must match the file name"
        )
    try:
        case = PackCase(**data)
    except ValidationError as exc:
        error = exc.errors(include_url=False)[0]
        loc = tuple(error["loc"])
        message = str(error["msg"]).removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            message = "unknown field"
            if loc[0] == "expected" and len(loc) == 3:
                # TOML puts every key after a [table] header into that table.
                message += " (top-level keys such as why and history go before [expected.old])"
        raise CaseError(f"{path}:{_line_of(text, loc)}: {_dotted(loc)}: {message}") from None
    check_binding(case, path, text)
    return case


def check_binding(case: PackCase, path: Path, text: str) -> None:
    """The check exists and the binding validates against its model, as the runner will pass it."""
    from harness.errors import UserError
    from harness.scenario import resolve

    try:
        entry = resolve(case.check, where="check")
        entry.bind(binding_for(case, Path("/nonexistent/sandbox")), where="binding")
    except UserError as exc:
        where = exc.where or "check"
        loc = tuple(where.replace("[", ".").replace("]", "").split("."))
        message = exc.message if exc.message.startswith(where) else f"{where}: {exc.message}"
        raise CaseError(f"{path}:{_line_of(text, loc)}: {message}") from None


def binding_for(case: PackCase, sandbox: Path | None) -> dict[str, Any]:
    """The binding the check gets: the case's, plus the run's fresh sandbox when it has one."""
    binding = dict(case.binding)
    if case.sandbox and sandbox is not None:
        binding["sandbox"] = str(sandbox)
    return binding


def load_cases(directory: Path = CASES_DIR, names: list[str] | None = None) -> list[PackCase]:
    """Every case in `directory` (sorted), or only `names`; an unknown name is an error."""
    return [load_case(p) for p in case_paths(directory, names)]
