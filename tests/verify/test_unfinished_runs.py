"""A pytest run that never finished is `crashed`: never a pass, never a reproduction.

The harness's outcomes plugin writes a session-finished record; a run without one, where no test
had failed, judged nothing, whatever its exit code says.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from harness.outcomes import RunOutcome
from harness.testrun import TestRun, run_pytest

from .test_precision_verdicts import make_repo

FAST = ["-p", "no:hypothesispytest", "-p", "no:xdist", "-p", "no:timeout"]


def run_file(tmp_path: Path, body: str) -> TestRun:
    (tmp_path / "test_it.py").write_text("import os, signal\n\n" + body)
    return run_pytest(tmp_path, [], python=sys.executable, pytest_args=FAST, timeout=60)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("def test_a():\n    os._exit(0)\n", "exited with code 0"),
        ("def test_a():\n    os._exit(1)\n", "exited with code 1"),
        ("def test_a():\n    os.kill(os.getpid(), signal.SIGKILL)\n", "killed by SIGKILL"),
    ],
)
def test_a_process_that_dies_mid_session_is_crashed(tmp_path: Path, body: str, reason: str):
    run = run_file(tmp_path, body)
    assert run.outcome is RunOutcome.CRASHED
    assert run.error_line.startswith("pytest did not finish: ")
    assert reason in run.error_line


def test_a_failure_before_the_crash_is_still_a_failure(tmp_path: Path):
    run = run_file(
        tmp_path, "def test_a():\n    assert 1 == 2\n\n\ndef test_b():\n    os._exit(1)\n"
    )
    assert run.outcome is RunOutcome.FAILED
    assert run.failed == ("test_it.py::test_a",)


def test_a_plain_failure_and_a_plain_pass_are_unchanged(tmp_path: Path):
    failing = run_file(tmp_path, "def test_a():\n    assert 0\n")
    assert failing.outcome is RunOutcome.FAILED
    assert run_file(tmp_path, "def test_a():\n    pass\n").outcome is RunOutcome.PASSED


def verify_cli(repo: Path, out: Path, *args: str) -> tuple[int, dict]:
    """The real CLI in a subprocess, as a user runs it."""
    command = [sys.executable, "-m", "harness.cli", "verify", "--repo", str(repo)]
    proc = subprocess.run(
        [*command, "--base", "HEAD~1", "--out", str(out), *args],
        capture_output=True,
        text=True,
        timeout=300,
    )
    doc = json.loads((out / "results.json").read_text())
    return proc.returncode, doc["run"]["claims"][0]


BASE = {"pkg/calc.py": "def double(x):\n    return x + x + 1\n"}
FIX = {"pkg/calc.py": "def double(x):\n    return x + x\n"}


def crashing_claim(tmp_path: Path, body: str) -> tuple[int, dict]:
    """The fix's test_double, its body `body` (which may end the process), verified."""
    test = "import os\n\nfrom pkg.calc import double\n\n\ndef test_double():\n" + body
    repo = make_repo(tmp_path, BASE, {**FIX, "tests/test_calc.py": test})
    return verify_cli(repo, tmp_path / "out", "--tests", "tests/test_calc.py::test_double")


def test_a_base_that_crashes_is_not_a_reproduction(tmp_path: Path):
    code, claim = crashing_claim(tmp_path, "    if double(2) != 4:\n        os._exit(1)\n")
    assert claim["verdict"] == "NOT_REPRODUCED", claim["reason"]
    assert "crashed" in claim["reason"] and "exited with code 1" in claim["reason"]
    assert code == 1


def test_a_head_that_crashes_is_an_error(tmp_path: Path):
    code, claim = crashing_claim(tmp_path, "    assert double(2) == 4\n    os._exit(0)\n")
    assert claim["verdict"] == "ERROR", claim["reason"]
    assert "crashed" in claim["reason"] and "exited with code 0" in claim["reason"]
    assert code != 0
