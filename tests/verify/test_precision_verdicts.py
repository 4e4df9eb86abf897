"""Verdict precision end to end: `harness verify` on small repos built here, one rule per test.

Reverting mutants decide; weak spots are listed; hunk reverts catch what no operator models;
a crash in pytest's reporting after a failure is still a failure; a claim's own test file is
laid over the base wherever it lives.
"""

from __future__ import annotations

import json
from pathlib import Path

from harness.cli.main import main

from .conftest import make_repo


def verify(repo: Path, out: Path, *args: str) -> tuple[int, dict]:
    code = main(["verify", "--repo", str(repo), "--base", "HEAD~1", "--out", str(out), *args])
    doc = json.loads((out / "results.json").read_text())
    return code, doc["run"]["claims"][0]


#: The test that proves the AGE fix.
AGE_TEST = "tests/test_age.py::test_future_is_rejected"
AGE_BASE = {"pkg/age.py": "def age(now, stamp):\n    return now - stamp\n"}
AGE_FIX = {
    "pkg/age.py": (
        "def age(now, stamp):\n"
        "    if stamp > now:\n"
        "        raise ValueError('from the future')\n"
        "    return now - stamp\n"
    ),
    # Far in the future only: `>` → `>=` (stricter: equal stamps rejected too) survives.
    "tests/test_age.py": (
        "import pytest\n\nfrom pkg.age import age\n\n\n"
        "def test_future_is_rejected():\n    with pytest.raises(ValueError):\n        age(1, 100)\n"
        "    assert age(10, 4) == 6\n"
    ),
}


def test_a_boundary_survivor_is_a_listed_weak_spot_and_decides_under_strict(tmp_path: Path) -> None:
    repo = make_repo(tmp_path, AGE_BASE, AGE_FIX)
    test = ["--tests", "tests/test_age.py::test_future_is_rejected"]
    code, claim = verify(repo, tmp_path / "plain", *test)
    assert claim["verdict"] == "VERIFIED", claim["reason"]
    assert code == 0
    weak = [m for m in claim["mutants"] if m["status"] == "survived"]
    assert [m["operator"] for m in weak] == ["swap_op"] and not weak[0]["reverting"]
    assert "-    if stamp > now:\n+    if stamp >= now:" in weak[0]["diff"]
    assert "1 weak spot listed" in claim["reason"]
    summary = (tmp_path / "plain" / "summary.md").read_text()
    assert "### Weak spots (1)" in summary and "### Surviving mutants" not in summary
    # Every reverting mutant (guard removal, hunk revert) was killed.
    reverting = [m for m in claim["mutants"] if m["reverting"]]
    assert {m["family"] for m in reverting} >= {"guard removal"}
    assert all(m["status"] in ("killed", "timeout") for m in reverting)

    code, claim = verify(repo, tmp_path / "strict", *test, "--strict")
    assert claim["verdict"] == "UNGUARDED", claim["reason"]
    assert code == 1


def test_weak_spots_fail_the_policy_when_the_manifest_asks(tmp_path: Path) -> None:
    repo = make_repo(tmp_path, AGE_BASE, AGE_FIX)
    manifest = tmp_path / "harness.toml"
    manifest.write_text(
        '[policy]\nweak_spots = "fail"\n\n[[claims]]\nid = "future"\ntitle = "future stamps"\n'
        'tests = ["tests/test_age.py::test_future_is_rejected"]\n'
    )
    code, claim = verify(repo, tmp_path / "out", "--manifest", str(manifest))
    assert claim["verdict"] == "VERIFIED"
    assert code == 1
    doc = json.loads((tmp_path / "out" / "results.json").read_text())
    assert doc["run"]["policy_failures"] == [
        "future: 1 weak spots and policy.weak_spots='fail' (pkg/age.py:2 swap_op)"
    ]


LINES_BASE = {
    "pkg/lines.py": (
        "def read_all(stream):\n"
        "    out = []\n"
        "    while True:\n"
        "        line = stream.readline()\n"
        "        if not line:\n"
        "            break\n"
        "        out.append(line)\n"
        "    return out[:-1]\n"
    )
}
LINES_FIX = {
    "pkg/lines.py": (
        "def read_all(stream):\n"
        "    out = []\n"
        "    while True:\n"
        "        try:\n"
        "            line = stream.readline()\n"
        "        except EOFError:\n"
        "            break\n"
        "        if not line:\n"
        "            break\n"
        "        out.append(line)\n"
        "    return out\n"
    ),
    # The test checks the last line is kept; nothing in the project raises EOFError.
    "tests/test_lines.py": (
        "import io\n\nfrom pkg.lines import read_all\n\n\n"
        "def test_reads_every_line():\n"
        "    assert read_all(io.StringIO('a\\nb\\n')) == ['a\\n', 'b\\n']\n"
    ),
}


def test_a_fix_that_wraps_code_in_a_try_no_test_needs_is_unguarded_by_its_hunk_revert(
    tmp_path: Path,
) -> None:
    repo = make_repo(tmp_path, LINES_BASE, LINES_FIX)
    code, claim = verify(
        repo, tmp_path / "out", "--tests", "tests/test_lines.py::test_reads_every_line"
    )
    assert claim["verdict"] == "UNGUARDED", claim["reason"]
    assert code == 1
    gaps = [m for m in claim["mutants"] if m["status"] == "survived" and m["reverting"]]
    assert [m["family"] for m in gaps] == ["hunk revert"], [
        (m["operator"], m["diff"]) for m in gaps
    ]
    assert "-        try:\n-            line = stream.readline()" in gaps[0]["diff"]
    # The `return out` hunk's revert is killed by the claim's test.
    killed = [
        m for m in claim["mutants"] if m["family"] == "hunk revert" and m["status"] == "killed"
    ]
    assert killed and "+    return out[:-1]" in killed[0]["diff"]


def test_a_surviving_hunk_revert_is_unguarded(tmp_path: Path) -> None:
    base = {
        "pkg/names.py": (
            "def slug(name):\n    sep = '_'\n    name = name.strip()\n"
            "    return name.upper().replace(' ', sep)\n"
        )
    }
    fix = {
        "pkg/names.py": (
            "def slug(name):\n    sep = '-'\n    name = name.strip()\n"
            "    return name.lower().replace(' ', sep)\n"
        ),
        # The test checks lower-casing only: putting `sep = '_'` back passes it.
        "tests/test_names.py": (
            "from pkg.names import slug\n\n\ndef test_slug():\n    assert slug('AB') == 'ab'\n"
        ),
    }
    repo = make_repo(tmp_path, base, fix)
    _code, claim = verify(repo, tmp_path / "out", "--tests", "tests/test_names.py::test_slug")
    assert claim["verdict"] == "UNGUARDED", claim["reason"]
    reverts = {m["line"]: m for m in claim["mutants"] if m["family"] == "hunk revert"}
    assert reverts[2]["status"] == "survived" and reverts[2]["reverting"]
    # Line 4's revert is the same code as mutmut's lower → upper swap, which the test kills.
    assert any(m["line"] == 4 and m["status"] == "killed" for m in claim["mutants"])
    assert "hunk revert: hunk-revert, survives" in claim["reason"]
    # The string tweak of the same line is a weak spot, not what decides.
    weak = [m for m in claim["mutants"] if m["status"] == "survived" and not m["reverting"]]
    assert weak and all(m["family"] == "generic" for m in weak)


def test_a_failure_that_crashes_pytest_reporting_is_a_reproduction(tmp_path: Path) -> None:
    crash = (
        "import pytest\n\n\n"
        "@pytest.hookimpl(trylast=True)\n"
        "def pytest_runtest_logreport(report):\n"
        "    if report.failed:\n"
        "        raise RuntimeError('the reporter crashed while rendering the failure')\n"
    )
    base = {"pkg/cap.py": "def cap(x):\n    return x\n", "conftest.py": crash}
    fix = {
        "pkg/cap.py": "def cap(x):\n    if x > 10:\n        raise ValueError(x)\n    return x\n",
        "tests/test_cap.py": (
            "import pytest\n\nfrom pkg.cap import cap\n\n\n"
            "def test_cap():\n    with pytest.raises(ValueError):\n        cap(11)\n"
            "    assert cap(10) == 10\n"
        ),
    }
    repo = make_repo(tmp_path, base, fix)
    _code, claim = verify(repo, tmp_path / "out", "--tests", "tests/test_cap.py::test_cap")
    base_run = claim["base_runs"][0]
    assert base_run["outcome"] == "failed", base_run
    assert "tests/test_cap.py::test_cap" in base_run["failed"]
    assert claim["verdict"] == "VERIFIED", claim["reason"]


def test_a_claim_test_under_pkg_tests_is_laid_over_the_base(tmp_path: Path) -> None:
    base = {"pkg/cap.py": "def cap(x):\n    return x\n"}
    fix = {
        "pkg/cap.py": "def cap(x):\n    return min(x, 10)\n",
        # Not a test_*.py name and not under a top-level tests/: only the node id names it.
        "pkg/checks/smoke.py": "from pkg.cap import cap\n\n\ndef test_cap():\n    assert cap(11) == 10\n",
    }
    repo = make_repo(tmp_path, base, fix)
    code, claim = verify(repo, tmp_path / "out", "--tests", "pkg/checks/smoke.py::test_cap")
    assert claim["base_runs"][0]["outcome"] == "failed", claim["base_runs"][0]
    assert claim["verdict"] == "VERIFIED", claim["reason"]
    assert code == 0


def test_a_missing_test_is_bad_input_with_pytest_s_own_reason(tmp_path: Path, capsys) -> None:
    repo = make_repo(tmp_path, AGE_BASE, AGE_FIX)
    out = tmp_path / "out"
    args = ["--repo", str(repo), "--base", "HEAD~1", "--out", str(out)]
    code = main(["verify", *args, "--tests", "tests/test_age.py::test_nope"])
    assert code == 2
    assert not (out / "results.json").exists()
    error = capsys.readouterr().err
    assert "test_nope" in error and "not found" in error
