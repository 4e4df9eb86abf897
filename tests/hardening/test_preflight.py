"""Issue 17, problems 1 and 3: bad input is exit 2 with one line naming file:line and field,
found before the first run (no worktree, no reproduce stage, no results.json).

Every case runs the real CLI in a subprocess against a real two-commit repository.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.mutation.conftest import FAST_PYTEST, FixRepo, make_fix_repo

BASE = {
    "pkg/__init__.py": "",
    "pkg/calc.py": "def clamp(value, low, high):\n    return max(low, value)\n",
}
FIX = {
    "pkg/calc.py": "def clamp(value, low, high):\n    return min(high, max(low, value))\n",
    "tests/test_clamp.py": (
        "from pkg.calc import clamp\n\n\ndef test_high():\n    assert clamp(50, 0, 10) == 10\n"
    ),
}
PYTEST_ARGS = " ".join(FAST_PYTEST)

SCENARIO_CLAIMS = """\
[targets.api]
kind = "url"
url = "http://127.0.0.1:9"

[[claims]]
id = "race-0"
title = "a valid scenario claim"
scenario = "races.exclusive_create"
target = "api"
[claims.binding]
call = "POST /x/{{key}}"
effect = "GET /x/{{key}}"
workers = 4

[[claims]]
id = "race-1"
title = "the claim under test"
scenario = "{scenario}"
target = "{target}"
[claims.binding]
call = "POST /x/{{key}}"
effect = "GET /x/{{key}}"
"""


@pytest.fixture
def repo(tmp_path: Path) -> FixRepo:
    return make_fix_repo(tmp_path / "repo", BASE, FIX)


def harness(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "harness.cli", *args],
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=300,
    )


def verify(repo: FixRepo, out: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return harness(
        repo.path,
        "verify",
        "--base",
        repo.base,
        "--out",
        str(out),
        "--pytest-args",
        PYTEST_ARGS,
        "--env",
        "PYTHONPATH=.",
        *args,
    )


def write_manifest(repo: FixRepo, text: str) -> Path:
    path = repo.path.parent / "harness.toml"  # outside the repo: the tree stays clean
    path.write_text(text, encoding="utf-8")
    return path


def line_of(path: Path, fragment: str, *, nth: int = 0) -> int:
    numbers = [n for n, line in enumerate(path.read_text().splitlines(), 1) if fragment in line]
    return numbers[nth]


def refusal(proc: subprocess.CompletedProcess[str], out: Path, repo: FixRepo) -> str:
    """The one error line of a run refused before it started (exit 2, no results, no worktree
    left), without its `error: ` prefix."""
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert proc.returncode == 2, proc.stderr + proc.stdout
    assert len(lines) == 1 and lines[0].startswith("error: "), lines
    assert "Traceback" not in proc.stderr + proc.stdout
    assert "reproduce" not in proc.stderr + proc.stdout
    assert not (out / "results.json").exists()
    worktrees = subprocess.run(
        ["git", "worktree", "list"], cwd=repo.path, capture_output=True, text=True, check=True
    )
    assert len(worktrees.stdout.splitlines()) == 1
    return lines[0].removeprefix("error: ")


def verify_refused(repo: FixRepo, out: Path, *args: str) -> str:
    return refusal(verify(repo, out, *args), out, repo)


def test_misspelled_scenario_is_refused_with_its_line(repo: FixRepo, tmp_path: Path) -> None:
    manifest = write_manifest(
        repo, SCENARIO_CLAIMS.format(scenario="races.exclusive_creat", target="api")
    )
    message = verify_refused(
        repo, tmp_path / "out", "--manifest", str(manifest), "--claim", "race-1"
    )
    line = line_of(manifest, 'exclusive_creat"')
    assert message == (
        f"{manifest}:{line}: claims[1](race-1).scenario='races.exclusive_creat': "
        "unknown scenario (did you mean 'races.exclusive_create'?)"
    )


def test_binding_of_the_wrong_type_names_the_field_in_its_own_claim(
    repo: FixRepo, tmp_path: Path
) -> None:
    text = SCENARIO_CLAIMS.format(scenario="races.exclusive_create", target="api")
    manifest = write_manifest(repo, text + 'workers = "lots"\n')
    message = verify_refused(repo, tmp_path / "out", "--manifest", str(manifest))
    # The second `workers =` line: the first belongs to the valid claim race-0.
    line = line_of(manifest, "workers =", nth=1)
    assert message == (
        f"{manifest}:{line}: claims[1](race-1).binding.workers='lots': "
        "Input should be a valid integer, unable to parse string as an integer"
    )


def test_unknown_target_is_refused_with_its_line(repo: FixRepo, tmp_path: Path) -> None:
    manifest = write_manifest(
        repo, SCENARIO_CLAIMS.format(scenario="races.exclusive_create", target="apj")
    )
    message = verify_refused(repo, tmp_path / "out", "--manifest", str(manifest))
    line = line_of(manifest, 'target = "apj"')
    assert message == (
        f"{manifest}:{line}: claims[1](race-1).target='apj': not a [targets.NAME] (known: api)"
    )


def test_malformed_target_names_its_field(repo: FixRepo, tmp_path: Path) -> None:
    text = SCENARIO_CLAIMS.format(scenario="races.exclusive_create", target="api")
    manifest = write_manifest(repo, text.replace("127.0.0.1:9", "example.com"))
    proc = verify(repo, tmp_path / "out", "--manifest", str(manifest))
    assert proc.returncode == 2, proc.stderr
    (line,) = [line for line in proc.stderr.splitlines() if line.strip()]
    assert line.startswith(f"error: {manifest}:3: targets.api.url='http://example.com'")
    assert "loopback" in line
    assert not (tmp_path / "out").exists()


def test_python_that_does_not_exist_is_a_user_error(repo: FixRepo, tmp_path: Path) -> None:
    message = verify_refused(
        repo, tmp_path / "out", "--tests", "tests/test_clamp.py", "--python", "/nonexistent"
    )
    assert message == (
        "--python='/nonexistent': no such file (name the project's interpreter, "
        "e.g. .venv/bin/python)"
    )


def test_manifest_python_that_is_not_python_names_its_line(repo: FixRepo, tmp_path: Path) -> None:
    manifest = write_manifest(
        repo,
        '[run]\npython = "/bin/true"\n\n[[claims]]\nid = "c"\ntitle = "t"\n'
        'tests = ["tests/test_clamp.py"]\n',
    )
    message = verify_refused(repo, tmp_path / "out", "--manifest", str(manifest))
    assert message == (
        f"{manifest}:2: run.python='/bin/true': is not a working Python interpreter "
        "(`-c 'import sys'` exited 0) (name the project's interpreter, e.g. .venv/bin/python)"
    )


def test_missing_node_id_names_the_claims_tests_line(repo: FixRepo, tmp_path: Path) -> None:
    manifest = write_manifest(
        repo,
        '[[claims]]\nid = "ok"\ntitle = "t"\ntests = ["tests/test_clamp.py::test_high"]\n\n'
        '[[claims]]\nid = "typo"\ntitle = "t"\ntests = [\n'
        '  "tests/test_clamp.py::test_high",\n  "tests/test_clamp.py::test_hihg",\n]\n',
    )
    message = verify_refused(repo, tmp_path / "out", "--manifest", str(manifest))
    assert message == (
        f"{manifest}:9: claims[1](typo).tests[1]='tests/test_clamp.py::test_hihg': "
        f"not found on the head ({repo.head[:8]}) "
        "(`pytest --collect-only -q FILE` lists the node ids)"
    )


def test_missing_ad_hoc_test_file_is_named_by_the_option(repo: FixRepo, tmp_path: Path) -> None:
    message = verify_refused(repo, tmp_path / "out", "--tests", "tests/test_gone.py")
    assert message == (
        f"--tests='tests/test_gone.py': not found on the head ({repo.head[:8]}) "
        "(`pytest --collect-only -q FILE` lists the node ids)"
    )


def test_syntax_error_in_the_heads_test_file_shows_pytests_error(tmp_path: Path) -> None:
    broken = {"tests/test_clamp.py": FIX["tests/test_clamp.py"] + "\ndef test_low(:\n    pass\n"}
    repo = make_fix_repo(tmp_path / "repo", BASE, {**FIX, **broken})
    message = verify_refused(repo, tmp_path / "out", "--tests", "tests/test_clamp.py::test_high")
    assert message == (
        f"--tests='tests/test_clamp.py::test_high': cannot be collected on the head "
        f"({repo.head[:8]}): tests/test_clamp.py:7: SyntaxError: invalid syntax"
    )


def test_a_valid_manifest_still_runs(repo: FixRepo, tmp_path: Path) -> None:
    manifest = write_manifest(
        repo, '[[claims]]\nid = "high"\ntitle = "t"\ntests = ["tests/test_clamp.py::test_high"]\n'
    )
    out = tmp_path / "out"
    proc = verify(repo, out, "--manifest", str(manifest), "--no-mutate")
    assert proc.returncode == 1, proc.stderr  # --no-mutate: ERROR, never a pass
    (claim,) = json.loads((out / "results.json").read_text())["run"]["claims"]
    assert [r["outcome"] for r in claim["base_runs"]] == ["failed"]
    assert [r["outcome"] for r in claim["head_runs"]] == ["passed"]


def test_claims_list_shows_a_status_per_claim(repo: FixRepo) -> None:
    text = SCENARIO_CLAIMS.format(scenario="races.exclusive_creat", target="api")
    text += '\n[[claims]]\nid = "later"\ntitle = "t"\nbug_class = "races"\ndraft = true\n'
    manifest = write_manifest(repo, text)
    proc = harness(repo.path, "claims", "list", "--manifest", str(manifest))
    assert proc.returncode == 2, proc.stderr
    rows = {
        line.split("│")[1].strip(): line.split("│")[-2].strip()
        for line in proc.stdout.splitlines()
        if line.count("│") > 5
    }
    assert rows == {"race-0": "ready", "race-1": "error", "later": "draft"}
    (error,) = [line for line in proc.stderr.splitlines() if line.strip()]
    line = line_of(manifest, 'exclusive_creat"')
    assert error.startswith(f"error: {manifest}:{line}: ")
    assert "claims[1](race-1).scenario='races.exclusive_creat': unknown scenario" in error


def test_claims_list_of_a_valid_manifest_exits_0(repo: FixRepo) -> None:
    text = SCENARIO_CLAIMS.format(scenario="races.exclusive_create", target="api")
    manifest = write_manifest(repo, text)
    proc = harness(repo.path, "claims", "list", "--manifest", str(manifest))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count("ready") == 2 and not proc.stderr.strip()


def test_gate_with_no_touched_claim_still_checks_its_python(repo: FixRepo, tmp_path: Path) -> None:
    # The claim's fix file is not in the diff: no claim runs, but the changed-line mutation
    # does, with this interpreter.
    manifest = write_manifest(
        repo,
        '[[claims]]\nid = "elsewhere"\ntitle = "t"\ntests = ["tests/test_clamp.py"]\n'
        'fix = ["pkg/other.py:1"]\n',
    )
    out = tmp_path / "out"
    proc = harness(
        repo.path,
        "gate",
        "--base",
        repo.base,
        "--manifest",
        str(manifest),
        "--out",
        str(out),
        "--python",
        "/nonexistent",
    )
    assert refusal(proc, out, repo) == (
        "--python='/nonexistent': no such file (name the project's interpreter, "
        "e.g. .venv/bin/python)"
    )


@pytest.mark.parametrize("command", ["verify", "gate"])
def test_a_relative_python_means_the_one_in_this_directory(
    repo: FixRepo, tmp_path: Path, command: str
) -> None:
    # Tests run in temp worktrees and copies: `bin/python` must mean ./bin/python of where the
    # command was typed, for verify and gate alike.
    wrapper = tmp_path / "bin" / "python"
    wrapper.parent.mkdir()
    wrapper.write_text(f'#!/bin/sh\nexec {sys.executable} "$@"\n')
    wrapper.chmod(0o755)
    manifest = write_manifest(
        repo, '[[claims]]\nid = "high"\ntitle = "t"\ntests = ["tests/test_clamp.py::test_high"]\n'
    )
    out = tmp_path / "out"
    args = ["--repo", str(repo.path), "--base", repo.base, "--manifest", str(manifest)]
    args += ["--out", str(out), "--pytest-args", PYTEST_ARGS, "--env", "PYTHONPATH=."]
    proc = subprocess.run(
        [sys.executable, "-m", "harness.cli", command, *args, "--python", "bin/python"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode in (0, 1), proc.stderr
    doc = json.loads((out / "results.json").read_text())["run"]
    assert [r["outcome"] for r in doc["claims"][0]["head_runs"]] == ["passed"]
    if command == "gate":  # the changed-line mutation ran in its copies with that interpreter
        assert doc["diff_mutants"], doc.get("policy_failures")
