"""Violations and findings: a check fails on its own bug class and reports the rest apart.

A check proves one sentence ("no read escapes the base"). What breaks that sentence is a
**violation**: the check raises AssertionError. What it meets on the way that is wrong but not
its bug class (a 500 on a NUL byte, a slow answer) is a **finding**: the check reports it with
`report_finding` and goes on. A finding fails the check only when its binding asks
(``server_errors = "fail"``); a binding model takes that field from `FindingPolicy`.

Findings travel as `CheckFinding` warnings, so they reach every consumer through pytest's own
machinery: a plain `pytest` run lists them in its warnings summary, the outcome plugin records
them for `verify` (see harness.outcome_plugin), and a direct caller can `collect()` them.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Literal, NoReturn

from pydantic import BaseModel, ConfigDict

#: What a binding does with findings: list them beside the verdict, or fail the check on them.
FindingMode = Literal["report", "fail"]

#: The warning category's name, which the outcome plugin (which imports no harness code) matches.
CATEGORY_NAME = "CheckFinding"
#: What sets a finding's repro command apart from its problem in its text (`str(Finding)`).
REPRO_SEPARATOR = "\n  repro: "


class CheckFinding(UserWarning):
    """A finding of a scenario check: wrong, but not the bug class the check proves."""


@dataclass(frozen=True)
class Finding:
    """One finding: which check saw it, what is wrong, and a command that shows it again."""

    check: str
    problem: str
    repro: str = ""

    def __str__(self) -> str:
        text = f"{self.check}: {self.problem}"
        return f"{text}{REPRO_SEPARATOR}{self.repro}" if self.repro else text


class FindingPolicy(BaseModel):
    """The binding field every check that can meet server errors shares."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    #: "report": a 5xx outside the check's own sentence is listed as a finding, and the check
    #: judges only its bug class. "fail": such a 5xx fails the check as well.
    server_errors: FindingMode = "report"


_collectors: list[list[Finding]] = []


def report_finding(check: str, problem: str, repro: str = "") -> Finding:
    """Report a finding of `check`; it never raises, whatever the warning filters say.

    A project whose pytest config turns warnings into errors (``filterwarnings = error``) must
    not see a finding turned into a failure of the check, so the category is forced to show.
    """
    finding = Finding(check, problem, repro)
    for sink in _collectors:
        sink.append(finding)
    with warnings.catch_warnings():
        warnings.simplefilter("always", CheckFinding)
        warnings.warn(CheckFinding(str(finding)), stacklevel=2)
    return finding


@contextmanager
def collect() -> Iterator[list[Finding]]:
    """Gather the findings reported inside the block (nested blocks each see every one)."""
    sink: list[Finding] = []
    _collectors.append(sink)
    try:
        yield sink
    finally:
        # By identity: two sinks with equal contents (both empty, say) are different blocks.
        _collectors[:] = [s for s in _collectors if s is not sink]


def listing(problems: Sequence[str], *, shown: int = 5, indent: str = "  ") -> list[str]:
    """The lines a failure message ends with: its findings, after the violations it leads with."""
    if not problems:
        return []
    lines = [f"{indent}findings ({len(problems)}, not this check's bug class):"]
    lines += [f"{indent}  {p}" for p in problems[:shown]]
    if len(problems) > shown:
        lines.append(f"{indent}  ... and {len(problems) - shown} more")
    return lines


def fail_with(report: str, findings: Sequence[Finding]) -> NoReturn:
    """Raise the violation `report`, its findings listed after it."""
    __tracebackhide__ = True
    raise AssertionError("\n".join([report, *listing([f.problem for f in findings])]))


def fail_on(check: str, findings: list[Finding], mode: FindingMode) -> None:
    """Raise when the binding's `mode` is "fail" and findings were reported; else do nothing."""
    if mode == "fail" and findings:
        lines = [
            f'{check}: {len(findings)} finding(s), and the binding sets server_errors = "fail"'
        ]
        lines += [
            f"  finding: {f.problem}" + (f"\n  repro: {f.repro}" if f.repro else "")
            for f in findings[:5]
        ]
        raise AssertionError("\n".join(lines))


def conclude(
    check: str,
    what: str,
    problems: Sequence[str],
    findings: list[Finding],
    mode: FindingMode,
    *,
    tail: str = "",
) -> None:
    """Fail with ``<check>: <what>``, then each problem and each finding on a line of its own
    (and `tail`), when there are problems; else fail on the findings as `mode` says."""
    __tracebackhide__ = True
    if problems:
        raise AssertionError(
            f"{check}: {what}\n  "
            + "\n  ".join(problems)
            + "".join(f"\n  finding: {f.problem}" for f in findings)
            + tail
        )
    fail_on(check, findings, mode)
