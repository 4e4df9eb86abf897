"""mutation.json: every mutant in the mutation-testing-elements (Stryker) report schema, v2.

Tools that read Stryker reports (the `mutation-testing-elements` web component, dashboards)
read this file. Each mutant is located by the span it changes, not by its line: the head's text
and the mutant's diff give the exact characters replaced, widened to whole tokens, and
`replacement` is what stands there instead, on one line. `coveredBy` lists the tests run against
it and `killedBy` the test that failed; a kill by a timeout or a crash names no test (the
status and `statusReason` say what happened).

`tests/report/test_stryker_schema.py` validates this against the schema the npm package
`mutation-testing-report-schema` ships, and renders it in the web component in Chromium.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from .. import __version__
from ..mutation.scope import HUNK_HEADER
from ..outcomes import MutantStatus
from ..verify.results import MutantRecord, RunResult

#: mutation-testing-elements statuses (schema v2).
MTE_STATUS = {
    MutantStatus.KILLED: "Killed",
    MutantStatus.TIMEOUT: "Timeout",
    MutantStatus.SURVIVED: "Survived",
    MutantStatus.NO_COVERAGE: "NoCoverage",
    MutantStatus.INVALID: "CompileError",
    MutantStatus.SKIPPED: "Ignored",
    MutantStatus.PENDING: "Pending",
}
#: Characters that end a token when a span is widened to whole tokens.
_BOUNDARY = frozenset(" \t\r\n()[]{},:;")


@dataclass(frozen=True)
class Span:
    """1-based line and column of the first replaced character, and of the one after the last."""

    start_line: int
    start_column: int
    end_line: int
    end_column: int
    replacement: str


def apply_diff(source: str, diff: str) -> str | None:
    """`source` with the unified `diff` applied; None when the diff does not fit it."""
    old = source.splitlines(keepends=True)
    out: list[str] = []
    at = 0  # index into `old` of the next line not yet copied
    lines = diff.splitlines(keepends=True)
    i = 0
    while i < len(lines):
        match = HUNK_HEADER.match(lines[i])
        i += 1
        if match is None:
            continue
        start = int(match.group(1)) - (0 if match.group(2) == "0" else 1)
        if start < at or start > len(old):
            return None
        out.extend(old[at:start])
        at = start
        while i < len(lines) and not lines[i].startswith("@@"):
            line = lines[i]
            i += 1
            tag, text = line[:1], line[1:]
            if tag == "\\":  # "\\ No newline at end of file" is about the line before it
                if lines[i - 2][:1] == "+" and out and out[-1].endswith("\n"):
                    out[-1] = out[-1][:-1]
                continue
            if tag in (" ", "-"):
                if at >= len(old) or old[at].rstrip("\n") != text.rstrip("\n"):
                    return None
                at += 1
                if tag == " ":
                    out.append(old[at - 1])
            elif tag == "+":
                out.append(text if text.endswith("\n") else text + "\n")
    out.extend(old[at:])
    return "".join(out)


def span(source: str, diff: str) -> Span | None:
    """The characters of `source` that `diff` replaces, widened to whole tokens."""
    mutated = apply_diff(source, diff)
    if mutated is None or mutated == source:
        return None
    prefix = 0
    limit = min(len(source), len(mutated))
    while prefix < limit and source[prefix] == mutated[prefix]:
        prefix += 1
    suffix = 0
    while (
        suffix < limit - prefix
        and source[len(source) - 1 - suffix] == mutated[len(mutated) - 1 - suffix]
    ):
        suffix += 1
    start, end = prefix, len(source) - suffix
    changed = source[start:end] + mutated[start : len(mutated) - suffix]
    # Widen only a change that cuts into a token (`<` to `<=`, a letter of a string): whole
    # tokens read as code, and a change that starts or ends at a boundary is left as it is.
    if changed and changed[0] not in _BOUNDARY:
        while start > 0 and source[start - 1] not in _BOUNDARY:
            start -= 1
    if changed and changed[-1] not in _BOUNDARY:
        while end < len(source) and source[end] not in _BOUNDARY:
            end += 1
    new = mutated[start : len(mutated) - (len(source) - end)]
    line, column = _position(source, start)
    end_line, end_column = _position(source, end)
    return Span(line, column, end_line, end_column, one_line(new))


def _position(text: str, offset: int) -> tuple[int, int]:
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1


def one_line(code: str) -> str:
    """Code on one line: each line stripped, joined by a space (a removed block is "")."""
    return " ".join(part.strip() for part in code.splitlines() if part.strip())


def _is_test_id(name: str | None) -> bool:
    """A pytest node id, not a "(crashed)" or "timeout after …" note."""
    if not name or name.startswith(("(", "timeout after")):
        return False
    return " " not in name.split("::")[0]


def _location(mutant: MutantRecord, source: str) -> tuple[dict[str, Any], str]:
    found = span(source, mutant.diff) if source else None
    if found is None:
        # The diff does not fit the head's text (a stored result of another head): the line.
        lines = source.splitlines()
        text = lines[mutant.line - 1] if 0 < mutant.line <= len(lines) else ""
        indent = len(text) - len(text.lstrip())
        location = {
            "start": {"line": mutant.line, "column": indent + 1},
            "end": {"line": mutant.line, "column": len(text) + 1},
        }
        return location, one_line(mutant.replacement)
    location = {
        "start": {"line": found.start_line, "column": found.start_column},
        "end": {"line": found.end_line, "column": found.end_column},
    }
    return location, found.replacement


def _mutant(mutant: MutantRecord, source: str) -> dict[str, Any]:
    location, replacement = _location(mutant, source)
    kind = "reverts the fix" if mutant.reverting else "weak spot if it survives"
    entry: dict[str, Any] = {
        "id": mutant.id,
        "mutatorName": f"{mutant.family}/{mutant.operator}",
        "replacement": replacement,
        "description": f"{mutant.family}: {mutant.operator} ({kind})",
        "location": location,
        "status": MTE_STATUS[mutant.status],
        "duration": round(mutant.duration * 1000),
        "testsCompleted": mutant.runs,
        "static": False,
    }
    if mutant.runs:
        reason = f"detected in {mutant.kills} of {mutant.runs} runs"
        if mutant.killing_test and not _is_test_id(mutant.killing_test):
            reason += f"; {mutant.killing_test}"
        entry["statusReason"] = reason
    if mutant.tests:
        entry["coveredBy"] = list(mutant.tests)
    if mutant.status is MutantStatus.KILLED and _is_test_id(mutant.killing_test):
        entry["killedBy"] = [mutant.killing_test]
    return entry


def _test_files(mutants: list[dict[str, Any]]) -> dict[str, Any]:
    """Every test a mutant names, grouped by its file, with its id as its name in the file."""
    files: dict[str, dict[str, dict[str, str]]] = {}
    for mutant in mutants:
        for test in (*mutant.get("coveredBy", ()), *mutant.get("killedBy", ())):
            file, _, name = test.partition("::")
            files.setdefault(file, {})[test] = {"id": test, "name": name or test}
    return {file: {"tests": list(tests.values())} for file, tests in sorted(files.items())}


def mutation_report(run: RunResult) -> dict[str, Any]:
    """The run's mutants, each once (claims share the diff's mutants), by file."""
    files: dict[str, dict[str, Any]] = {}
    seen: set[str] = set()
    every: list[dict[str, Any]] = []
    for mutant in [m for c in run.claims for m in c.mutants] + list(run.diff_mutants):
        if mutant.id in seen:
            continue
        seen.add(mutant.id)
        source = run.sources.get(mutant.file, "")
        entry = files.setdefault(
            mutant.file, {"language": "python", "source": source, "mutants": []}
        )
        made = _mutant(mutant, source)
        entry["mutants"].append(made)
        every.append(made)
    return {
        "schemaVersion": "2",
        "thresholds": {"high": 100, "low": 80},
        "projectRoot": run.repo,
        "framework": {"name": "fixguard", "version": __version__},
        "files": files,
        "testFiles": _test_files(every),
    }


def render_mutation(run: RunResult) -> str:
    return json.dumps(mutation_report(run), indent=2, ensure_ascii=False) + "\n"
