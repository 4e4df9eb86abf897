"""PR mode through the CLI: `harness verify` and `harness gate` on tiny repos with no manifest."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from harness.cli.main import main

from .test_precision_verdicts import make_repo

pytestmark = pytest.mark.usefixtures("no_plugin_autoload")


CALC = (
    "def clamp(value, low, high):\n"
    "    return max(low, value)\n"
    "\n\n"
    "def double(x):\n"
    "    return x + x + 1\n"
)
# Two fix hunks: clamp gains its upper bound, double loses its off-by-one.
CALC_FIXED = (
    "def clamp(value, low, high):\n"
    "    return min(high, max(low, value))\n"
    "\n\n"
    "def double(x):\n"
    "    return x + x\n"
)
# The PR's only new test proves the clamp hunk; nothing runs double().
CLAMP_TEST = (
    "from pkg.calc import clamp\n\n\n"
    "def test_clamp_high():\n    assert clamp(50, 0, 10) == 10\n\n\n"
    "def test_clamp_low():\n    assert clamp(-5, 0, 10) == 0\n"
)


def run_cli(command: str, repo: Path, out: Path, *args: str) -> tuple[int, dict[str, Any]]:
    code = main([command, "--repo", str(repo), "--base", "HEAD~1", "--out", str(out), *args])
    return code, json.loads((out / "results.json").read_text())["run"]


def half_proven_repo(tmp_path: Path) -> Path:
    return make_repo(
        tmp_path,
        {"pkg/calc.py": CALC},
        {"pkg/calc.py": CALC_FIXED, "tests/test_clamp.py": CLAMP_TEST},
    )


@pytest.mark.parametrize("command", ["verify", "gate"])
def test_one_hunk_proven_one_unproven_is_verified_and_fails_the_policy(
    tmp_path: Path, command: str
) -> None:
    repo = half_proven_repo(tmp_path)
    code, run = run_cli(command, repo, tmp_path / "out")
    assert code == 1  # the unproven hunk fails the default policy
    [claim] = run["claims"]
    assert claim["claim_id"] == "auto-1" and claim["verdict"] == "VERIFIED"
    assert claim["tests"] == ["tests/test_clamp.py::test_clamp_high"]
    assert claim["fix"] == ["pkg/calc.py:2-2"]
    pr = run["pr"]
    classes = {t["nodeid"]: t["klass"] for t in pr["tests"]}
    assert classes == {
        "tests/test_clamp.py::test_clamp_high": "F2P",
        "tests/test_clamp.py::test_clamp_low": "P2P",
    }
    [unproven] = pr["unproven"]
    assert (unproven["file"], unproven["start"]) == ("pkg/calc.py", 6)
    assert "+    return x + x" in unproven["diff"]
    assert (
        "unproven: pkg/calc.py:6-6 (no F2P test runs it, not even at import)"
        in (run["policy_failures"])
    )
    if command == "gate":  # plus the changed-line mutation against the PR's tests
        assert run["diff_mutants"], "the gate mutates every changed line"
    summary = (tmp_path / "out" / "summary.md").read_text()
    assert summary.index("auto-1") < summary.index("Unproven")
    # A CI view that reads only JUnit fails too.
    junit = ET.parse(tmp_path / "out" / "junit.xml").getroot()
    [pr_suite] = [s for s in junit.iter("testsuite") if s.get("name") == "fixguard.pr"]
    assert [c.get("name") for c in pr_suite.iter("testcase")] == ["pkg/calc.py:6-6"]
    assert pr_suite.get("failures") == "1"


@pytest.mark.parametrize("command", ["verify", "gate"])
def test_a_pr_that_breaks_an_existing_test_is_a_regression(tmp_path: Path, command: str) -> None:
    repo = make_repo(
        tmp_path,
        {
            "pkg/greet.py": 'def greet():\n    return "hi"\n',
            "tests/test_greet.py": (
                "from pkg.greet import greet\n\n\ndef test_hi():\n    assert greet() == 'hi'\n"
            ),
        },
        {
            "pkg/greet.py": 'def greet():\n    return "hello"\n',
            # The PR edits the test file (a new test) but leaves the old assertion in place.
            "tests/test_greet.py": (
                "from pkg.greet import greet\n\n\ndef test_hi():\n    assert greet() == 'hi'\n"
                "\n\ndef test_str():\n    assert isinstance(greet(), str)\n"
            ),
        },
    )
    code, run = run_cli(command, repo, tmp_path / "out")
    assert code == 1
    classes = {t["nodeid"]: t["klass"] for t in run["pr"]["tests"]}
    assert classes["tests/test_greet.py::test_hi"] == "P2F"
    assert (
        "regression: tests/test_greet.py::test_hi passes on the base and fails on the head"
        in run["policy_failures"]
    )


def test_a_fully_proven_pr_passes_and_a_review_gets_a_verdict_per_finding(
    tmp_path: Path,
) -> None:
    repo = make_repo(
        tmp_path,
        {"pkg/calc.py": "def clamp(value, low, high):\n    return max(low, value)\n"},
        {
            "pkg/calc.py": "def clamp(value, low, high):\n    return min(high, max(low, value))\n",
            "tests/test_clamp.py": CLAMP_TEST,
        },
    )
    review = tmp_path / "review.md"
    review.write_text(
        "## Findings\n\n"
        "| # | Issue | File | Line | Status |\n"
        "|---|---|---|---|---|\n"
        "| 1 | clamp ignores the upper bound | pkg/calc.py | 2 | ✅ Fixed |\n"
        "| 2 | divide by zero in ratio | pkg/ratio.py | 9 | ✅ Fixed |\n"
        "| 3 | slow import of the config | pkg/config.py | 3 | Open |\n"
    )
    code, run = run_cli("verify", repo, tmp_path / "out", "--review", str(review))
    [claim] = run["claims"]
    assert claim["verdict"] == "VERIFIED"
    states = {f["title"]: (f["state"], f["claim_id"]) for f in run["findings"]}
    assert states == {
        "clamp ignores the upper bound": ("judged", "auto-1"),
        "divide by zero in ratio": ("no fix found in this PR", None),
        "slow import of the config": ("no fix found in this PR", None),
    }
    # Only the finding marked fixed with nothing behind it fails the policy.
    assert code == 1
    assert run["policy_failures"] == [
        "finding 'divide by zero in ratio': marked fixed, but no fix found in this PR"
    ]
    summary = (tmp_path / "out" / "summary.md").read_text()
    assert summary.index("divide by zero in ratio") < summary.index("Evidence")


def test_pr_mode_refuses_flags_that_need_a_manifest(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = half_proven_repo(tmp_path)
    base = ["--repo", str(repo), "--base", "HEAD~1", "--out", str(tmp_path / "out")]
    assert main(["verify", *base, "--claim", "x"]) == 2
    assert "--claim: names a manifest claim; PR mode has no manifest" in capsys.readouterr().err
    assert main(["gate", *base, "--shard", "1/2"]) == 2
    assert "--shard: needs a manifest" in capsys.readouterr().err
    empty = tmp_path / "empty.md"
    empty.write_text("# nothing here\n")
    assert main(["verify", *base, "--review", str(empty)]) == 2
    assert "empty.md: found no findings" in capsys.readouterr().err


DB = (
    "import sqlite3\nfrom pathlib import Path\n\n\n"
    "def connect():\n"
    "    db = sqlite3.connect(':memory:')\n"
    "    db.executescript(Path(__file__).with_name('schema.sql').read_text())\n"
    "    return db\n\n\n"
    "def add(db, email):\n"
    "    db.execute('INSERT OR IGNORE INTO users(email) VALUES (?)', (email,))\n\n\n"
    "def count(db):\n"
    "    return db.execute('SELECT count(*) FROM users').fetchone()[0]\n"
)


def test_a_sql_only_fix_gets_a_claim_on_its_sql_and_no_mutants(tmp_path: Path) -> None:
    # The F2P test proves a fix no Python hunk explains: the claim's fix is the SQL file, and
    # with nothing to mutate its verdict is NO_MUTANTS, as a manifest claim's would be.
    repo = make_repo(
        tmp_path,
        {"pkg/db.py": DB, "pkg/schema.sql": "CREATE TABLE users (email TEXT);\n"},
        {
            "pkg/schema.sql": "CREATE TABLE users (email TEXT UNIQUE);\n",
            "tests/test_unique.py": (
                "from pkg.db import add, connect, count\n\n\n"
                "def test_an_email_is_stored_once():\n"
                "    db = connect()\n    add(db, 'a@x')\n    add(db, 'a@x')\n"
                "    assert count(db) == 1\n"
            ),
        },
    )
    code, run = run_cli("verify", repo, tmp_path / "out")
    [claim] = run["claims"]
    assert claim["fix"] == ["pkg/schema.sql"]
    assert claim["tests"] == ["tests/test_unique.py::test_an_email_is_stored_once"]
    assert claim["verdict"] == "NO_MUTANTS"
    assert run["pr"]["unjudged"] == ["pkg/schema.sql"] and run["pr"]["unproven"] == []
    assert code == 1  # NO_MUTANTS is in the default policy's fail_on
    assert "### Changed outside Python (1)" in (tmp_path / "out" / "summary.md").read_text()


def test_with_a_manifest_only_the_claims_verified_stand_behind_a_finding(tmp_path: Path) -> None:
    manifest = (
        '[[claims]]\nid = "clamp"\ntitle = "clamp ignores the upper bound"\n'
        'tests = ["tests/test_clamp.py::test_clamp_high"]\nfix = ["pkg/calc.py:2-2"]\n\n'
        '[[claims]]\nid = "double"\ntitle = "double is off by one"\n'
        'tests = ["tests/test_clamp.py::test_clamp_low"]\nfix = ["pkg/calc.py:6-6"]\n'
    )
    repo = make_repo(
        tmp_path,
        {"pkg/calc.py": CALC, "harness.toml": manifest},
        {"pkg/calc.py": CALC_FIXED, "tests/test_clamp.py": CLAMP_TEST},
    )
    review = tmp_path / "review.md"
    review.write_text(
        "| # | Issue | File | Line | Status |\n|---|---|---|---|---|\n"
        "| 1 | clamp ignores the upper bound | pkg/calc.py | 2 | ✅ Fixed |\n"
        "| 2 | double is off by one | pkg/calc.py | 6 | ✅ Fixed |\n"
    )
    code, run = run_cli(
        "verify", repo, tmp_path / "out", "--claim", "clamp", "--review", str(review)
    )
    states = {f["title"]: (f["state"], f["claim_id"]) for f in run["findings"]}
    # "double" is a manifest claim, but this run did not verify it: it proves nothing here.
    assert states == {
        "clamp ignores the upper bound": ("judged", "clamp"),
        "double is off by one": ("no fix found in this PR", None),
    }
    assert code == 1
    assert (
        "finding 'double is off by one': marked fixed, but no fix found in this PR"
        in (run["policy_failures"])
    )


def test_a_gate_that_touches_no_claim_still_judges_the_review(tmp_path: Path) -> None:
    manifest = (
        '[[claims]]\nid = "other"\ntitle = "an older fix elsewhere"\n'
        'tests = ["tests/test_other.py::test_other"]\nfix = ["pkg/other.py"]\n'
    )
    repo = make_repo(
        tmp_path,
        {
            "pkg/calc.py": CALC,
            "pkg/other.py": "def other():\n    return 1\n",
            "tests/test_other.py": "from pkg.other import other\n\n\ndef test_other():\n"
            "    assert other() == 1\n",
            "harness.toml": manifest,
        },
        {"pkg/calc.py": CALC_FIXED, "tests/test_clamp.py": CLAMP_TEST},
    )
    review = tmp_path / "review.md"
    review.write_text(
        "| # | Issue | File | Line | Status |\n|---|---|---|---|---|\n"
        "| 1 | clamp ignores the upper bound | pkg/calc.py | 2 | ✅ Fixed |\n"
    )
    code, run = run_cli("gate", repo, tmp_path / "out", "--review", str(review))
    assert run["claims"] == []  # the diff touches no claim's files
    [finding] = run["findings"]
    assert (finding["state"], finding["claim_id"]) == ("no fix found in this PR", None)
    assert code == 1
