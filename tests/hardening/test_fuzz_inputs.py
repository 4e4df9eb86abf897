"""Fuzzed inputs (issue 17): bad input ends in exit 0, 1 or 2, never a traceback or exit 3.

The manifest loader and the review importer run in-process, many examples each: every input
either loads or raises `UserError`, which the CLI prints as one line and exits 2 with. Refs,
node ids and option values go through the real CLI in a subprocess, a few examples each.

CI runs a fixed profile (derandomised, no example database), so a failure reproduces anywhere.
`FIXGUARD_FUZZ_EXAMPLES=5000` runs that many fresh random examples per test for a long local run.
"""

from __future__ import annotations

import copy
import json
import math
import os
import re
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from harness.claims.importer import import_findings, to_toml
from harness.claims.load import load_manifest
from harness.errors import UserError
from tests.mutation.conftest import FAST_PYTEST, FixRepo, make_fix_repo

LONG_RUN = int(os.environ.get("FIXGUARD_FUZZ_EXAMPLES") or 0)


def fuzz(ci_examples: int) -> settings:
    """`ci_examples` reproducible examples on CI; FIXGUARD_FUZZ_EXAMPLES random ones locally."""
    return settings(
        max_examples=LONG_RUN or ci_examples,
        derandomize=not LONG_RUN,
        database=None,
        deadline=None,
        print_blob=True,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


# --------------------------------------------------------------------------- values

#: Strings that have broken parsers before, or sit on a validation boundary.
ODD_STRINGS = (
    "",
    " ",
    "\t\n",
    "é",
    "💥",
    "\u2028",
    "\x7f",
    "a" * 65,
    "x" * 2000,
    "9" * 5000,
    "tests/test_fix.py::test_fix",
    "tests/test_fix.py::",
    "::",
    "-x",
    "a.py:0",
    "a.py:5-2",
    "a.py:1-" + "9" * 30,
    "a.py:" + "9" * 5000,
    "a.py:-1",
    "C:\\a.py:3",
    "races.exclusive_create",
    "races",
    "nope.nope",
    "critical",
    "CRITICAL",
    "UNGUARDED",
    "suite",
    "{python} -m app --port {port}",
    "[targets.api]",
    "../../etc/passwd",
    "nan",
)
#: 10**4200 is near the 4300-digit limit of int(str); TOML and JSON texts past it are in the raw tests.
ODD_INTS = (0, -1, 1, 3, 100, 101, 2**31, 2**63 - 1, -(2**63), 10**30, 10**4200)
KEYS = st.one_of(
    st.sampled_from(("id", "tests", "run", "x", "", " ", "a.b", "é", "claims", "tool")),
    st.text(max_size=6),
)
SCALARS = st.one_of(
    st.text(max_size=12),
    st.sampled_from(ODD_STRINGS),
    st.integers(),
    st.sampled_from(ODD_INTS),
    st.floats(),
    st.booleans(),
    st.datetimes(timezones=st.none() | st.just(UTC)),
    st.dates(),
    st.times(),
)
#: Any TOML value: scalars, arrays (mixed types allowed) and tables, a few levels deep.
WILD = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(KEYS, inner, max_size=3),
    max_leaves=8,
)


def table(spec: dict[str, st.SearchStrategy[Any]]) -> st.SearchStrategy[dict[str, Any]]:
    """A table with any subset of `spec`'s fields, each plausible or wild, maybe a stray key."""
    fields = st.fixed_dictionaries({}, optional={k: v | WILD for k, v in spec.items()})
    stray = st.dictionaries(st.sampled_from(("tset", "Tests", "extra", "")), WILD, max_size=1)
    return st.builds(lambda a, b: {**b, **a}, fields, stray)


TEXT_LIST = st.lists(st.text(max_size=8) | st.sampled_from(ODD_STRINGS), max_size=3)
COUNTS = st.sampled_from(ODD_INTS) | st.integers(-5, 200)
RUN = table(
    {
        "pytest_args": TEXT_LIST,
        "env": st.dictionaries(KEYS, st.text(max_size=5) | SCALARS, max_size=2),
        "setup": st.text(max_size=10),
        "deselect": TEXT_LIST,
        "repeats": COUNTS,
        "min_failures": COUNTS,
        "timeout": st.floats() | COUNTS,
        "concurrency": st.booleans(),
        "python": st.sampled_from(("python3", "", "/nonexistent")),
        "test_paths": TEXT_LIST,
        "guard_tests": st.sampled_from(("suite", "claim", "all", "")),
    }
)
VERDICT_NAMES = st.sampled_from(("VERIFIED", "UNGUARDED", "ERROR", "unguarded", "OK", ""))
POLICY = table(
    {
        "fail_on": st.lists(VERDICT_NAMES, max_size=3),
        "min_kill_ratio": st.floats() | COUNTS,
        "weak_spots": st.sampled_from(("report", "fail", "warn")),
        "exceptions": st.lists(
            table(
                {
                    "claim": st.sampled_from(("cap", "nope")),
                    "verdict": VERDICT_NAMES,
                    "reason": st.text(max_size=5),
                }
            ),
            max_size=2,
        ),
    }
)
TARGETS = st.dictionaries(
    st.sampled_from(("api", "", "x y")),
    table({"kind": st.sampled_from(("process", "url", "warp")), "command": st.text(max_size=10)}),
    max_size=2,
)
FIX = st.text(max_size=10) | st.sampled_from(ODD_STRINGS)
CLAIM = table(
    {
        "id": st.sampled_from(("cap", "cap", "a" * 65, "-x", "ok.1", "")) | st.text(max_size=8),
        "title": st.text(max_size=8),
        "severity": st.sampled_from(("critical", "major", "minor", "nitpick", "blocker")),
        "source": st.text(max_size=8),
        "tests": TEXT_LIST,
        "fix": FIX | st.lists(FIX, max_size=3),
        "scenario": st.sampled_from(("races.exclusive_create", "races", "nope.x", "")),
        "binding": st.dictionaries(KEYS, WILD, max_size=3),
        "target": st.sampled_from(("api", "missing", "")),
        "bug_class": st.text(max_size=5),
        "reported_status": st.text(max_size=5),
        "draft": st.booleans(),
        "run": RUN,
    }
)
MANIFEST = table(
    {
        "version": COUNTS,
        "run": RUN,
        "policy": POLICY,
        "targets": TARGETS,
        "claims": st.lists(CLAIM | WILD, max_size=3),
    }
)

#: A manifest that loads; `one_field_broken` breaks one value of it, to reach deep validators.
GOOD: dict[str, Any] = {
    "run": {"timeout": 30, "repeats": 1, "env": {"A": "1"}, "pytest_args": ["-q"]},
    "policy": {
        "min_kill_ratio": 0.9,
        "fail_on": ["UNGUARDED"],
        "exceptions": [{"claim": "scenario", "verdict": "NO_MUTANTS", "reason": "SQL only"}],
    },
    "targets": {"api": {"kind": "process", "command": "app --port {port}"}},
    "claims": [
        {
            "id": "cap",
            "title": "Cap holds",
            "severity": "critical",
            "tests": ["tests/test_cap.py::test_cap"],
            "fix": ["app/store.py", "app/api.py:10-12"],
            "run": {"concurrency": True, "repeats": 3, "min_failures": 1},
        },
        {
            "id": "scenario",
            "title": "Exclusive create",
            "scenario": "races.exclusive_create",
            "target": "api",
            "binding": {"call": "POST /x/{key}", "success": [201], "conflict": [409]},
        },
    ],
}


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if isinstance(node, dict):
        items: Any = node.items()
    elif isinstance(node, list):
        items = enumerate(node)
    else:
        return
    for key, value in items:
        yield (*prefix, key)
        yield from _paths(value, (*prefix, key))


GOOD_PATHS = tuple(_paths(GOOD))


@st.composite
def one_field_broken(draw: st.DrawFn) -> dict[str, Any]:
    """GOOD with one value replaced by a wild one, deleted, or given a stray sibling."""
    doc = copy.deepcopy(GOOD)
    path = draw(st.sampled_from(GOOD_PATHS))
    parent: Any = doc
    for key in path[:-1]:
        parent = parent[key]
    action = draw(st.sampled_from(("replace", "delete", "sibling")))
    if action == "replace":
        parent[path[-1]] = draw(WILD | st.sampled_from(ODD_STRINGS))
    elif action == "delete":
        del parent[path[-1]]
    elif isinstance(parent, dict):
        parent[draw(KEYS)] = draw(WILD)
    return doc


# --------------------------------------------------------------------------- TOML writer

BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def toml_string(text: str) -> str:
    escaped = "".join(
        "\\" + ch
        if ch in '"\\'
        else f"\\u{ord(ch):04x}"
        if ord(ch) < 0x20 or ord(ch) == 0x7F
        else ch
        for ch in text
    )
    return f'"{escaped}"'


def toml_key(key: str) -> str:
    return key if BARE_KEY.fullmatch(key) else toml_string(key)


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        return ("inf" if value > 0 else "-inf") if math.isinf(value) else repr(value)
    if isinstance(value, str):
        return toml_string(value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, list):
        return "[" + ", ".join(map(toml_value, value)) + "]"
    return "{" + ", ".join(f"{toml_key(k)} = {toml_value(v)}" for k, v in value.items()) + "}"


def _table_array(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, dict) for v in value)


def toml_document(doc: dict[str, Any], path: tuple[str, ...] = ()) -> str:
    """`doc` as TOML with real `[table]` and `[[array]]` headers, as people write manifests."""
    lines = [
        f"{toml_key(k)} = {toml_value(v)}"
        for k, v in doc.items()
        if not isinstance(v, dict) and not _table_array(v)
    ]
    for key, value in doc.items():
        header = ".".join(toml_key(p) for p in (*path, key))
        if isinstance(value, dict):
            lines += [f"[{header}]", toml_document(value, (*path, key))]
        elif _table_array(value):
            for item in value:
                lines += [f"[[{header}]]", toml_document(item, (*path, key))]
    return "\n".join(lines)


def test_the_toml_writer_round_trips_so_the_fuzz_reaches_the_validator() -> None:
    text = toml_document(GOOD)
    assert "[[claims]]" in text and "[claims.binding]" in text
    assert tomllib.loads(text) == GOOD


# --------------------------------------------------------------------------- the loader


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One directory for the module: Hypothesis runs many examples in one test call, and each
    example overwrites the file it writes."""
    return tmp_path_factory.mktemp("fuzz")


def load_or_user_error(path: Path) -> None:
    """The property: a manifest loads (and resolves every claim's settings) or is a UserError
    whose one line names the manifest file."""
    try:
        manifest = load_manifest(path)
    except UserError as exc:
        line = exc.one_line()
        assert "\n" not in line, line
        assert line.startswith(str(path)), line
        return
    for claim in manifest.claims:
        manifest.settings_for(claim)


@fuzz(200)
@given(doc=MANIFEST | one_field_broken())
# Found by the fuzz: a key or a claim id with a newline in it broke the one-line message.
@example(doc={"run": {"env": {"\n": 0}}})
@example(doc={"claims": [{"id": "\t\n", "title": "t", "tests": ["t.py::t"]}]})
def test_fuzzed_manifests_load_or_are_user_errors(scratch: Path, doc: dict[str, Any]) -> None:
    path = scratch / "harness.toml"
    path.write_text(toml_document(doc), encoding="utf-8")
    load_or_user_error(path)


@fuzz(100)
@given(
    doc=st.builds(lambda m: {"tool": {"harness": m}}, MANIFEST | one_field_broken())
    | table({"tool": WILD})
)
@example(doc={"tool": []})  # found by the fuzz: AttributeError
@example(doc={"tool": {"harness": 5}})
def test_fuzzed_pyproject_sections_load_or_are_user_errors(
    scratch: Path, doc: dict[str, Any]
) -> None:
    path = scratch / "pyproject.toml"
    path.write_text(toml_document(doc), encoding="utf-8")
    load_or_user_error(path)


TOML_LINES = (
    "[[claims]]",
    "[run]",
    "[claims.run]",
    "[claims.binding]",
    "[targets.api]",
    "[policy]",
    "[[policy.exceptions]]",
    'id = "cap"',
    'title = "t"',
    'tests = ["t.py::t"]',
    "tests = [",
    "]",
    "repeats = 0",
    "timeout = nan",
    "fix = 12",
    'a = """',
    "x = " + "1" * 5000,
    "claims = 3",
    "[claims]",
    "[[run]]",
    "\ufeff[run]",
)


@fuzz(200)
@given(
    raw=st.lists(st.sampled_from(TOML_LINES) | st.text(max_size=15), max_size=10).map("\n".join)
    | st.binary(max_size=60).map(lambda b: b.decode("utf-8", "replace"))
)
@example(raw="x = " + "1" * 5000)  # found by the fuzz: tomllib raised a bare ValueError
def test_raw_manifest_text_loads_or_is_a_user_error(scratch: Path, raw: str) -> None:
    path = scratch / "harness.toml"
    path.write_text(raw, encoding="utf-8", errors="surrogatepass")
    load_or_user_error(path)


# --------------------------------------------------------------------------- the importer

CELL = st.one_of(
    st.text(max_size=12),
    st.sampled_from(
        ("", "null", "-", "`a.py`", "**bold**", "`", "12", "²", "١٢", "9" * 5000, "✅ Fixed", "a|b")
    ),
)
COLUMNS = st.sampled_from(
    ("#", "Issue", "File", "Line", "Status", "Title", "Finding", "Type", "", "FILE")
)
HEADING = st.builds(
    lambda level, words: "#" * level + " " + words,
    st.integers(0, 7),
    st.sampled_from(("Critical (3)", "Major", "Nitpicks", "low", "Summary", ""))
    | st.text(max_size=8),
)


@st.composite
def markdown_table(draw: st.DrawFn) -> str:
    # The importer reads a table only with an Issue (or Title) and a File column.
    header = draw(
        st.permutations(("#", "Issue", "File", "Line", "Status"))
        | st.lists(COLUMNS, min_size=1, max_size=6)
    )
    width = len(header) + draw(st.sampled_from((0, 0, 0, -1, 1)))
    separator = draw(st.sampled_from(("|" + "---|" * max(width, 1), "|:--|--:|", "| - |", "|---")))
    rows = draw(
        st.lists(st.lists(CELL, min_size=max(width, 0), max_size=max(width, 0)), max_size=4)
    )
    lines = ["| " + " | ".join(header) + " |", separator]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


MARKDOWN = st.lists(markdown_table() | HEADING | st.text(max_size=20), max_size=6).map(
    lambda parts: "\n".join(parts)
) | st.lists(markdown_table(), max_size=3).map("\r\n\r\n".join)

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)


def maybe(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Plausible or any JSON value: SARIF producers disagree about almost every field."""
    return strategy | JSON


SARIF_RESULT = st.fixed_dictionaries(
    {},
    optional={
        "ruleId": maybe(st.sampled_from(("py/path-injection", "py/sql-injection", "", "a/b/c"))),
        "level": maybe(st.sampled_from(("error", "warning", "note", "none", "fatal"))),
        "message": maybe(st.fixed_dictionaries({}, optional={"text": maybe(CELL)})),
        "locations": maybe(
            st.lists(
                maybe(
                    st.fixed_dictionaries(
                        {},
                        optional={
                            "physicalLocation": maybe(
                                st.fixed_dictionaries(
                                    {},
                                    optional={
                                        "artifactLocation": maybe(
                                            st.fixed_dictionaries({}, optional={"uri": maybe(FIX)})
                                        ),
                                        "region": maybe(
                                            st.fixed_dictionaries(
                                                {}, optional={"startLine": maybe(COUNTS)}
                                            )
                                        ),
                                    },
                                )
                            )
                        },
                    )
                ),
                max_size=2,
            )
        ),
    },
)
SARIF_RULE = st.fixed_dictionaries(
    {},
    optional={
        "id": maybe(st.sampled_from(("py/path-injection", ""))),
        "shortDescription": maybe(st.fixed_dictionaries({}, optional={"text": maybe(CELL)})),
        "defaultConfiguration": maybe(
            st.fixed_dictionaries({}, optional={"level": maybe(st.just("error"))})
        ),
    },
)
SARIF_RUN = st.fixed_dictionaries(
    {},
    optional={
        "tool": maybe(
            st.fixed_dictionaries(
                {},
                optional={
                    "driver": maybe(
                        st.fixed_dictionaries(
                            {}, optional={"rules": maybe(st.lists(maybe(SARIF_RULE), max_size=2))}
                        )
                    )
                },
            )
        ),
        "results": maybe(st.lists(maybe(SARIF_RESULT), max_size=3)),
    },
)
SARIF = maybe(
    st.fixed_dictionaries(
        {"runs": maybe(st.lists(maybe(SARIF_RUN), max_size=2))}, optional={"version": JSON}
    )
)


def import_or_user_error(path: Path, scratch: Path) -> None:
    """The property: drafts come out as TOML that loads back (as drafts), or a one-line UserError."""
    try:
        drafts = import_findings(path)
    except UserError as exc:
        assert "\n" not in exc.one_line(), exc.one_line()
        return
    text = to_toml(drafts)
    tomllib.loads(text)  # the importer writes TOML; a draft file that does not parse is its bug
    out = scratch / "drafts.toml"
    out.write_text(text, encoding="utf-8")
    load_or_user_error(out)


@fuzz(150)
@given(text=MARKDOWN)
# Found by the fuzz: int('²') raised; a raw DEL made the drafts invalid TOML.
@example(
    text="| # | Issue | File | Line | Status |\n|---|---|---|---|---|\n| 1 | a | b.py | ² | \x7f |"
)
def test_fuzzed_review_tables_import_or_are_user_errors(scratch: Path, text: str) -> None:
    path = scratch / "review.md"
    path.write_text(text, encoding="utf-8")
    import_or_user_error(path, scratch)


@fuzz(200)
@given(doc=SARIF)
@example(doc={"runs": [None]})  # found by the fuzz: AttributeError on every non-object level
@example(doc={"runs": [{"results": [math.nan]}]})
@example(
    doc={
        "runs": [
            {"tool": {"driver": {"rules": [{"id": []}]}}, "results": [{"ruleId": "x", "level": []}]}
        ]
    }
)
def test_fuzzed_sarif_imports_or_is_a_user_error(scratch: Path, doc: Any) -> None:
    path = scratch / "results.sarif"
    path.write_text(json.dumps(doc), encoding="utf-8")
    import_or_user_error(path, scratch)


@fuzz(150)
@given(
    raw=st.text(max_size=40)
    | st.binary(max_size=40).map(lambda b: b.decode("utf-8", "replace"))
    | st.sampled_from(
        ('{"runs": [' + "9" * 5000 + "]}", '{"runs": [{"results": [NaN]}]}', "{", "[]")
    ),
    suffix=st.sampled_from((".md", ".sarif", ".json", ".txt", "")),
)
def test_raw_review_documents_import_or_are_user_errors(
    scratch: Path, raw: str, suffix: str
) -> None:
    path = scratch / f"review{suffix}"
    path.write_text(raw, encoding="utf-8", errors="surrogatepass")
    import_or_user_error(path, scratch)


# --------------------------------------------------------------------------- the CLI

#: Text that argv can carry (no NUL, no lone surrogates).
ARG_TEXT = st.text(st.characters(codec="utf-8", blacklist_characters="\x00"), max_size=12)
REFS = (
    st.sampled_from(
        (
            "HEAD",
            "HEAD~1",
            "HEAD~99",
            "main",
            "HEAD^{tree}",
            "HEAD:pkg",
            "@{-1}",
            "a..b",
            "-",
            "--all",
            "",
            " ",
            "0" * 40,
        )
    )
    | ARG_TEXT
)
NODE_IDS = (
    st.sampled_from(
        (
            "tests/test_calc.py::test_fixed",
            "tests/test_calc.py::test_nope",
            "tests/test_calc.py",
            "tests/nope.py::test_x",
            "tests/test_calc.py::test_fixed[",
            "::",
            "",
            "-x",
            "--version",
            "tests",
        )
    )
    | ARG_TEXT
)


#: A one-function repo: the base has the bug, the head fixes it, adds its test and a claim.
TINY_BASE = {"pkg/__init__.py": "", "pkg/calc.py": "def double(x):\n    return x + x + 1\n"}
TINY_FIX = {
    "pkg/calc.py": "def double(x):\n    return x + x\n",
    "tests/test_calc.py": "from pkg.calc import double\n\n\ndef test_fixed():\n    assert double(2) == 4\n",
    "harness.toml": """
        [[claims]]
        id = "double"
        title = "double() adds one too many"
        tests = ["tests/test_calc.py::test_fixed"]
        """,
}


@pytest.fixture(scope="module")
def tiny_repo(tmp_path_factory: pytest.TempPathFactory) -> FixRepo:
    return make_fix_repo(tmp_path_factory.mktemp("cli") / "repo", TINY_BASE, TINY_FIX)


def run_cli(
    repo: FixRepo, command: str, *args: str, fast: bool = True
) -> subprocess.CompletedProcess[str]:
    """The real CLI in a subprocess, from outside the repo so that reports land elsewhere."""
    # The hypothesis, xdist and timeout plugins cost ~1 s per pytest run; the tiny repo needs none.
    fast_args = ("--pytest-args", " ".join(FAST_PYTEST)) if fast else ()
    return subprocess.run(
        [sys.executable, "-m", "harness.cli", command, "--repo", str(repo.path), *fast_args, *args],
        cwd=repo.path.parent,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def assert_clean_exit(repo: FixRepo, result: subprocess.CompletedProcess[str]) -> None:
    """Exit 0, 1 or 2 with no traceback, and the user's work tree untouched."""
    shown = f"exit {result.returncode}\n{result.stderr[-3000:]}"
    assert result.returncode in (0, 1, 2), shown
    assert "Traceback" not in result.stderr, shown
    assert "bug in the harness" not in result.stderr, shown
    status = subprocess.run(
        ["git", "-C", str(repo.path), "status", "--porcelain"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert status.stdout == "", status.stdout


@fuzz(8)
@given(base=REFS | st.just("BASE"), head=REFS | st.just("HEAD"))
def test_fuzzed_refs_end_in_exit_0_1_or_2(tiny_repo: FixRepo, base: str, head: str) -> None:
    base = tiny_repo.base if base == "BASE" else base
    result = run_cli(
        tiny_repo,
        *("verify", "--base", base, "--head", head),
        *("--tests", "tests/test_calc.py::test_fixed", "--no-mutate", "--out", "reports/refs"),
    )
    assert_clean_exit(tiny_repo, result)


@fuzz(5)
@given(nodeids=st.lists(NODE_IDS, min_size=1, max_size=3))
def test_fuzzed_node_ids_end_in_exit_0_1_or_2(tiny_repo: FixRepo, nodeids: list[str]) -> None:
    tests = [arg for nodeid in nodeids for arg in ("--tests", nodeid)]
    result = run_cli(
        tiny_repo,
        *("verify", "--base", tiny_repo.base, "--head", tiny_repo.head),
        *tests,
        *("--no-mutate", "--out", "reports/nodeids"),
    )
    assert_clean_exit(tiny_repo, result)


NUMBERS = (
    st.sampled_from(
        (
            "0",
            "1",
            "2",
            "-1",
            "3.5",
            "nan",
            "inf",
            "-inf",
            "1e999",
            "1e-9",
            "0x10",
            "١",
            "",
            " 2",
            "9" * 30,
            "abc",
        )
    )
    | ARG_TEXT
)
SHARDS = (
    st.sampled_from(
        ("0/1", "1/2", "2/2", "0/0", "-1/2", "1/", "/", "0/1/2", "٠/١", "nan/2", "0/" + "9" * 5000)
    )
    | ARG_TEXT
)


@fuzz(8)
@given(
    option=st.sampled_from(("--repeats", "--timeout", "--workers", "--shard")),
    value=NUMBERS | SHARDS,
)
def test_fuzzed_option_values_end_in_exit_0_1_or_2(
    tiny_repo: FixRepo, option: str, value: str
) -> None:
    # --shard belongs to the gate, the others to verify and gate; --workers matters when mutating.
    command = "gate" if option == "--shard" else "verify"
    skip = {"--shard": ("--no-diff-mutation",), "--workers": ()}.get(option, ("--no-mutate",))
    result = run_cli(
        tiny_repo,
        *(command, "--base", tiny_repo.base, "--head", tiny_repo.head),
        *(option, value, "--out", "reports/options", *skip),
    )
    assert_clean_exit(tiny_repo, result)


#: [run] values that pass the loader's types and reach the pytest command line and environment.
#: No free-form `setup`: it is a shell command, and random text must never be one.
RUN_REACHING_THE_RUNNER = st.fixed_dictionaries(
    {},
    optional={
        "env": st.dictionaries(
            st.sampled_from(("A", "A=B", "", "PYTHONPATH")) | ARG_TEXT, ARG_TEXT, max_size=2
        ),
        "pytest_args": st.lists(
            st.sampled_from(("-q", "-x", "-p", "-W", "error", "--co")) | ARG_TEXT, max_size=3
        ),
        "deselect": st.lists(NODE_IDS, max_size=2),
        "test_paths": st.lists(
            st.sampled_from(("tests/**", "**", "/", "../*")) | ARG_TEXT, max_size=2
        ),
        "setup": st.sampled_from(("true", "false", "exit 3", "")),
        "repeats": st.integers(1, 2),
        "min_failures": st.integers(1, 3),
        "timeout": st.sampled_from((0.5, 5, 60)),
    },
)


@fuzz(6)
@given(run=RUN_REACHING_THE_RUNNER)
# Found by hand, beside the fuzz: the OS refused these at the first run (exit 3).
@example(run={"env": {"A=B": "1"}})
@example(run={"pytest_args": ["-q\x00"]})
def test_fuzzed_run_settings_end_in_exit_0_1_or_2(tiny_repo: FixRepo, run: dict[str, Any]) -> None:
    claim = {"id": "double", "title": "t", "tests": ["tests/test_calc.py::test_fixed"]}
    manifest = tiny_repo.path.parent / "fuzzed.toml"
    # --pytest-args would replace the fuzzed ones, so the fast flags go in the manifest.
    run = {**run, "pytest_args": [*FAST_PYTEST, *run.get("pytest_args", [])]}
    manifest.write_text(toml_document({"run": run, "claims": [claim]}), encoding="utf-8")
    result = run_cli(
        tiny_repo,
        *(
            "verify",
            "--base",
            tiny_repo.base,
            "--head",
            tiny_repo.head,
            "--manifest",
            str(manifest),
        ),
        *("--no-mutate", "--out", "reports/run"),
        fast=False,
    )
    assert_clean_exit(tiny_repo, result)
