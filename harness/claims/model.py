"""The claims manifest schema: run settings, gate policy, targets and claims, validated strictly."""

from __future__ import annotations

import re
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal, get_args

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    field_validator,
    model_validator,
)

from ..errors import UserError
from ..outcomes import Verdict
from ..testpaths import DEFAULT_TEST_PATHS

FIX_RANGE = re.compile(r"^(?P<file>[^:]+?)(?::(?P<start>\d+)(?:-(?P<end>\d+))?)?$")
CLAIM_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Severity(StrEnum):
    CRITICAL = "critical"
    MAJOR = "major"
    MINOR = "minor"
    NITPICK = "nitpick"


PerturbMode = Literal["auto", "off", "preempt", "pct", "explore"]
PERTURB_MODES: tuple[str, ...] = get_args(PerturbMode)


class RunSettings(Strict):
    """How to run a claim's tests. Every field is optional so a claim can override a few."""

    pytest_args: tuple[str, ...] | None = None
    env: dict[str, str] | None = None
    #: A shell command run in each worktree before its tests (for example installing pins).
    setup: str | None = None
    deselect: tuple[str, ...] | None = None
    #: n: runs on the base and on the head.
    repeats: int | None = Field(default=None, ge=1, le=100)
    #: k: the base must fail in at least k of n runs.
    min_failures: int | None = Field(default=None, ge=1, le=100)
    #: Seconds allowed per pytest run.
    timeout: float | None = Field(default=None, gt=0, le=3600)
    #: Treat the tests as concurrency tests: repeat mutant runs k-of-n.
    concurrency: bool | None = None
    #: Seeded schedule perturbation of the fix's files in every run of the claim's tests
    #: (harness.perturb_plugin): "auto" perturbs concurrency claims only.
    perturb: PerturbMode | None = None
    python: str | None = None
    test_paths: tuple[str, ...] | None = None
    #: Which tests may kill a mutant: "suite" (any test of the project that reaches it, after
    #: the claim's own) or "claim" (the claim's tests only).
    guard_tests: Literal["suite", "claim"] | None = None

    # These end up in a command line or an environment, which the OS refuses when the first
    # run starts (a traceback, then); refuse them when the manifest loads instead.
    @field_validator("pytest_args", "deselect", "test_paths", "setup", "python")
    @classmethod
    def _no_nul(cls, value: str | tuple[str, ...] | None) -> str | tuple[str, ...] | None:
        items = (value,) if isinstance(value, str) else value or ()
        for item in items:
            if "\x00" in item:
                raise ValueError(f"{item!r} holds a NUL character, which no command line can carry")
        return value

    @field_validator("env")
    @classmethod
    def _env_names(cls, value: dict[str, str] | None) -> dict[str, str] | None:
        for key, text in (value or {}).items():
            if not key or "=" in key or "\x00" in key + text:
                raise ValueError(
                    f"{key!r} = {text!r}: a variable name must be non-empty and without '=', "
                    "and neither the name nor the value may hold a NUL character"
                )
        return value

    @property
    def perturb_mode(self) -> str | None:
        """The perturbation mode the claim's runs use, or None for plain runs."""
        mode = self.perturb or "auto"
        if mode == "auto":
            return "auto" if self.concurrency else None
        return None if mode == "off" else mode

    def merged(self, override: RunSettings | None) -> RunSettings:
        """The settings with every field `override` sets taking precedence."""
        if override is None:
            return self
        data = self.model_dump()
        data.update({k: v for k, v in override.model_dump().items() if v is not None})
        return RunSettings(**data)


#: Defaults used where neither the manifest nor the claim sets a value. Documented in the README.
DEFAULT_RUN = RunSettings(
    pytest_args=(),
    env={},
    setup=None,
    deselect=(),
    repeats=1,
    min_failures=1,
    timeout=120.0,
    concurrency=False,
    perturb="auto",
    python=None,
    test_paths=DEFAULT_TEST_PATHS,
    guard_tests="suite",
)
#: Concurrency claims default to 3 runs with k=1: one reproduction on the base suffices,
#: while the head must pass all three.
CONCURRENCY_REPEATS = 3


class PolicyException(Strict):
    claim: str
    verdict: Verdict
    reason: str = Field(min_length=3)


class Policy(Strict):
    fail_on: tuple[Verdict, ...] = tuple(v for v in Verdict if v is not Verdict.VERIFIED)
    #: Minimum ratio of killed mutants on changed lines (gate's whole-diff mutation).
    min_kill_ratio: float = Field(default=1.0, ge=0.0, le=1.0)
    #: Weak spots (surviving mutants that only tweak a fix) are listed; "fail" fails the policy.
    weak_spots: Literal["report", "fail"] = "report"
    exceptions: tuple[PolicyException, ...] = ()

    def excused(self, claim_id: str, verdict: Verdict) -> PolicyException | None:
        for exc in self.exceptions:
            if exc.claim == claim_id and exc.verdict is verdict:
                return exc
        return None


class FixRange(Strict):
    """A fix location: a whole file's diff lines, or an explicit line range at the head."""

    file: str
    start: int | None = None
    end: int | None = None

    @classmethod
    def parse(cls, text: str) -> FixRange:
        match = FIX_RANGE.match(text.strip())
        if not match:
            raise ValueError(f"fix={text!r} is not 'file' or 'file:start-end'")
        start = int(match["start"]) if match["start"] else None
        end = int(match["end"]) if match["end"] else start
        if start is not None and end is not None and (start < 1 or end < start):
            raise ValueError(f"fix={text!r}: the range must be 1-based and start <= end")
        return cls(file=match["file"], start=start, end=end)

    def __str__(self) -> str:
        if self.start is None:
            return self.file
        return f"{self.file}:{self.start}-{self.end}"


class Claim(Strict):
    id: str
    title: str = Field(min_length=1)
    severity: Severity = Severity.MAJOR
    source: str | None = None
    scenario: str | None = None
    binding: dict[str, Any] | None = None
    tests: tuple[str, ...] = ()
    target: str | None = None
    fix: tuple[FixRange, ...] = ()
    run: RunSettings | None = None
    #: The bug class (scenario pack name), guessed by `harness claims import`.
    bug_class: str | None = None
    #: What the report said about the finding ("✅ Fixed", "Open", ...), kept for the record.
    reported_status: str | None = None
    #: Set by `harness claims import` until a person has confirmed the guessed bug class.
    draft: bool = False

    @field_validator("id")
    @classmethod
    def _id_shape(cls, value: str) -> str:
        if not CLAIM_ID.match(value):
            raise ValueError(
                f"id={value!r} must be 1-64 letters, digits, '.', '_' or '-' (e.g. 'ticket-cap')"
            )
        return value

    @field_validator("tests")
    @classmethod
    def _node_id_shape(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        # Node ids go on pytest's command line: '' would run every test, '-x' is an option.
        for nodeid in value:
            if not nodeid.strip() or nodeid.startswith("-") or "\x00" in nodeid:
                raise ValueError(
                    f"node id {nodeid!r} is not a test: write e.g. 'tests/test_x.py::test_name'"
                )
        return value

    @field_validator("fix", mode="before")
    @classmethod
    def _parse_fix(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = [value]
        if isinstance(value, list | tuple):
            return tuple(FixRange.parse(v) if isinstance(v, str) else v for v in value)
        return value

    @model_validator(mode="after")
    def _tests_or_scenario(self) -> Claim:
        if self.draft:
            return self  # drafts are checked again by `verify`, which refuses them
        if self.scenario and self.tests:
            raise ValueError("set either 'scenario' (with 'binding') or 'tests', not both")
        if not self.scenario and not self.tests:
            raise ValueError(
                "needs 'tests' (node ids of your own tests) or 'scenario' plus 'binding'"
            )
        if self.scenario and self.binding is None:
            raise ValueError(f"scenario={self.scenario!r} needs a [claims.binding] table")
        if self.scenario and not self.target:
            raise ValueError(f"scenario={self.scenario!r} needs 'target' (a [targets.NAME])")
        return self


class Manifest(Strict):
    version: int = 1
    run: RunSettings = RunSettings()
    policy: Policy = Policy()
    targets: dict[str, dict[str, Any]] = {}
    claims: tuple[Claim, ...] = ()
    #: The file it was loaded from (None for an ad hoc --tests claim): errors found after
    #: loading (an unknown scenario, a node id missing on the head) name its lines too.
    _path: Path | None = PrivateAttr(default=None)

    @property
    def path(self) -> Path | None:
        return self._path

    def from_file(self, path: Path) -> Manifest:
        """Record that this manifest was read from `path`; returns self."""
        self._path = path
        return self

    @model_validator(mode="after")
    def _cross_refs(self) -> Manifest:
        # A claim's target (is it a [targets.NAME], does it fit its kind) is checked by
        # harness.verify.preflight, which names its line and reports each bad claim apart.
        seen: set[str] = set()
        for index, claim in enumerate(self.claims):
            if claim.id in seen:
                raise ValueError(f"claims[{index}].id={claim.id!r} is used twice")
            seen.add(claim.id)
        for exc in self.policy.exceptions:
            if exc.claim not in seen:
                raise ValueError(f"policy.exceptions claim={exc.claim!r} is not a claim id")
        return self

    def settings_for(self, claim: Claim, overrides: RunSettings | None = None) -> RunSettings:
        """Defaults, then the manifest's [run], then the claim's [claims.run], then the command
        line's `overrides`. A concurrency claim whose repeats no layer sets runs
        CONCURRENCY_REPEATS times."""
        layers = (self.run, claim.run, overrides)
        settings = DEFAULT_RUN.merged(self.run).merged(claim.run).merged(overrides)
        if settings.concurrency and all(layer is None or layer.repeats is None for layer in layers):
            settings = settings.merged(RunSettings(repeats=CONCURRENCY_REPEATS))
        return settings

    def claim(self, claim_id: str) -> Claim:
        for claim in self.claims:
            if claim.id == claim_id:
                return claim
        known = ", ".join(c.id for c in self.claims)
        raise UserError(f"claim={claim_id!r} is not in the manifest", hint=f"known: {known}")
