"""Findings travel from a check's `report_finding` to `verify`'s results, and never to its verdict.

The outcomes plugin records each CheckFinding warning; `run_pytest` gathers them into the
TestRun, the pipeline copies them onto each run's record, and the claim lists them per side.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from harness import outcome_plugin
from harness.cli.main import main
from harness.findings import CATEGORY_NAME, CheckFinding
from harness.outcomes import RunOutcome
from harness.testrun import TestRun, run_pytest

from .test_precision_verdicts import make_repo

FAST = ["-p", "no:hypothesispytest", "-p", "no:xdist", "-p", "no:timeout"]


# The tiny projects set `filterwarnings = error`: a plugin installed beside the harness that
# warns at start (pytest-benchmark under an xdist worker's environment) would fail their run
# for a reason that has nothing to do with findings.
pytestmark = pytest.mark.usefixtures("no_plugin_autoload")


REPORTING_TEST = (
    "from harness.findings import report_finding\n\n\n"
    "def test_reads_stay_inside():\n"
    "    for _ in range(2):  # the same problem met twice is one finding\n"
    "        report_finding('path_traversal.read_stays_inside_base',\n"
    "                       \"HTTP 500 on '../canary.txt\\\\x00.txt'\",\n"
    "                       repro='curl -i http://127.0.0.1:8000/files/..%2Fcanary.txt%00.txt')\n"
    "    report_finding('path_traversal.read_stays_inside_base', 'slow answer: 2.5s')\n"
)
FIRST = (
    "path_traversal.read_stays_inside_base: HTTP 500 on '../canary.txt\\x00.txt'\n"
    "  repro: curl -i http://127.0.0.1:8000/files/..%2Fcanary.txt%00.txt"
)
SECOND = "path_traversal.read_stays_inside_base: slow answer: 2.5s"


def run_file(tmp_path: Path, body: str, *, ini: str = "") -> TestRun:
    (tmp_path / "test_it.py").write_text(body)
    if ini:
        (tmp_path / "pytest.ini").write_text(ini)
    return run_pytest(tmp_path, [], python=sys.executable, pytest_args=FAST, timeout=120)


def test_the_plugin_matches_the_category_harness_findings_emits() -> None:
    # The plugin cannot import harness.findings: the two names must agree by value.
    assert outcome_plugin.FINDING_CATEGORY == CATEGORY_NAME == CheckFinding.__name__


def test_a_passing_test_with_findings_passes_and_its_findings_are_recorded(tmp_path: Path) -> None:
    run = run_file(tmp_path, REPORTING_TEST)
    assert run.outcome is RunOutcome.PASSED, run.log_tail
    assert run.findings == (FIRST, SECOND)


def test_filterwarnings_error_does_not_fail_the_test_nor_lose_the_finding(tmp_path: Path) -> None:
    run = run_file(tmp_path, REPORTING_TEST, ini="[pytest]\nfilterwarnings = error\n")
    assert run.outcome is RunOutcome.PASSED, run.log_tail
    assert run.findings == (FIRST, SECOND)
    # The same config does turn any other warning into a failure: the ini file was read.
    other = run_file(tmp_path, "import warnings\n\n\ndef test_a():\n    warnings.warn('x')\n")
    assert other.outcome is RunOutcome.FAILED
    assert other.findings == ()


def test_a_failing_test_keeps_its_findings_and_other_warnings_are_not_findings(
    tmp_path: Path,
) -> None:
    run = run_file(
        tmp_path,
        "import warnings\n\nfrom harness.findings import report_finding\n\n\n"
        "def test_a():\n    warnings.warn(UserWarning('not a finding'))\n"
        "    report_finding('c.check', 'HTTP 503')\n    assert False\n",
    )
    assert run.outcome is RunOutcome.FAILED
    assert run.findings == ("c.check: HTTP 503",)


# The claim's test reports a finding that names the side's answer, then judges its own sentence:
# the base fails (a reproduction) and the head passes, each with its own finding. The project
# turns warnings into errors, which must not turn a finding into a failure.
BASE = {"pkg/calc.py": "def half(x):\n    return x // 2\n"}
FIX = {
    "pkg/calc.py": (
        "def half(x):\n    if x < 0:\n        raise ValueError('negative')\n    return x // 2\n"
    ),
    "pyproject.toml": "[tool.pytest.ini_options]\nfilterwarnings = ['error']\n",
    "tests/test_calc.py": (
        "from harness.findings import report_finding\n\nfrom pkg.calc import half\n\n\n"
        "def test_negative_is_rejected():\n"
        "    try:\n        answer = half(-2)\n    except ValueError:\n        answer = 'rejected'\n"
        "    report_finding('calc.half', f'half(-2) {answer}, slowly', repro='python -c \"...\"')\n"
        "    assert answer == 'rejected'\n"
        "    assert half(0) == 0 and half(5) == 2\n"
    ),
}
HEAD_FINDING = 'calc.half: half(-2) rejected, slowly\n  repro: python -c "..."'
BASE_FINDING = 'calc.half: half(-2) -1, slowly\n  repro: python -c "..."'


def test_verify_reports_findings_beside_an_unchanged_verdict(tmp_path: Path) -> None:
    repo = make_repo(tmp_path, BASE, FIX)
    out = tmp_path / "out"
    code = main(
        ["verify", "--repo", str(repo), "--base", "HEAD~1", "--out", str(out),
         "--tests", "tests/test_calc.py::test_negative_is_rejected"]
    )  # fmt: skip
    claim = json.loads((out / "results.json").read_text())["run"]["claims"][0]
    assert claim["verdict"] == "VERIFIED", claim["reason"]
    assert code == 0
    assert claim["head_runs"] and all(r["findings"] == [HEAD_FINDING] for r in claim["head_runs"])
    assert claim["base_runs"] and all(r["findings"] == [BASE_FINDING] for r in claim["base_runs"])
    # Each finding once, the head's first, each marked with the side that met it.
    assert claim["findings"] == [
        {"side": "head", "text": HEAD_FINDING},
        {"side": "base", "text": BASE_FINDING},
    ]

    summary = (out / "summary.md").read_text()
    assert "### Findings (2)" in summary
    assert "- claim `adhoc` (head): `calc.half`: half(-2) rejected, slowly" in summary
    assert "- claim `adhoc` (base): `calc.half`: half(-2) -1, slowly" in summary
    assert '  repro: `python -c "..."`' in summary

    # `harness report` re-renders the same findings from results.json alone.
    assert main(["report", str(out / "results.json"), "--out", str(tmp_path / "again")]) == 0
    assert (tmp_path / "again" / "summary.md").read_text() == summary


def test_nested_collect_blocks_each_keep_their_own_sink() -> None:
    from harness.findings import collect, report_finding

    with collect() as outer:
        with collect() as inner:  # equal (both empty) but not the same block
            pass
        report_finding("pack.check", "after the inner block")
        with collect() as later:
            report_finding("pack.check", "in both")
    assert [f.problem for f in outer] == ["after the inner block", "in both"]
    assert inner == [] and [f.problem for f in later] == ["in both"]
