"""The GitHub Action (action.yml), its gate script run as it stands, and the pre-commit hook."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from ..verify.test_precision_verdicts import AGE_BASE, AGE_FIX, make_repo

yaml = pytest.importorskip("yaml")

ROOT = Path(__file__).resolve().parents[2]
ACTION: dict[str, Any] = yaml.safe_load((ROOT / "action.yml").read_text())
HOOKS: list[dict[str, Any]] = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())


def step(name: str) -> dict[str, Any]:
    (found,) = [s for s in ACTION["runs"]["steps"] if s["name"] == name]
    return found


def test_the_action_is_composite_and_names_only_its_own_inputs() -> None:
    assert ACTION["runs"]["using"] == "composite"
    text = (ROOT / "action.yml").read_text()
    used = set(re.findall(r"inputs\.([\w-]+)", text))
    assert used <= set(ACTION["inputs"]), used - set(ACTION["inputs"])
    for each in ACTION["runs"]["steps"]:
        if "run" in each:
            assert each["shell"] == "bash"
            # Inputs reach scripts through env, never pasted into the script's text.
            assert "${{" not in each["run"], each["name"]
        else:
            assert re.fullmatch(r"[\w-]+/[\w-]+(/[\w-]+)?@v\d+", each["uses"]), each["uses"]
    assert step("Upload SARIF")["continue-on-error"] is True
    assert "$GITHUB_ACTION_PATH" in step("Install Fixguard")["run"]


def run_gate_step(
    repo: Path, tmp_path: Path, args: str
) -> tuple[subprocess.CompletedProcess[str], dict[str, str]]:
    """The action's gate step, its script exactly as action.yml has it, in `repo`."""
    output, summary = tmp_path / "output", tmp_path / "summary.md"
    env = {
        **os.environ,
        "GITHUB_ACTIONS": "true",
        "GITHUB_OUTPUT": str(output),
        "GITHUB_STEP_SUMMARY": str(summary),
        "FIXGUARD_PYTHON": sys.executable,
        "FIXGUARD_BASE": "HEAD~1",
        "FIXGUARD_OUT": str(tmp_path / "reports"),
        "FIXGUARD_ARGS": args,
        "FIXGUARD_CACHE_DIR": str(tmp_path / "cache"),
    }
    done = subprocess.run(
        ["bash", "-c", step("Gate")["run"]],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    outputs = dict(line.split("=", 1) for line in output.read_text().splitlines())
    return done, outputs


def test_the_gate_step_records_the_exit_code_annotates_and_writes_the_summary(
    tmp_path: Path,
) -> None:
    repo = make_repo(tmp_path, AGE_BASE, AGE_FIX)
    done, outputs = run_gate_step(repo, tmp_path, "--strict --workers 1")
    assert done.returncode == 0, done.stderr  # the step itself passes; the Result step fails
    assert outputs["exit-code"] == "1", done.stdout[-3000:]
    errors = [line for line in done.stdout.splitlines() if line.startswith("::error ")]
    assert errors and any("file=pkg/age.py,line=2,col=14,endColumn=15" in line for line in errors)
    assert "UNGUARDED" in (tmp_path / "summary.md").read_text()
    assert (tmp_path / "reports" / "results.sarif").is_file()
    assert (tmp_path / "reports" / "mutation.json").is_file()
    # The Result step turns the recorded code into the step's own.
    result = subprocess.run(
        ["bash", "-c", step("Result")["run"]], env={**os.environ, "FIXGUARD_EXIT": "1"}
    )
    assert result.returncode == 1


def test_a_gate_that_cannot_run_says_so_once(tmp_path: Path) -> None:
    repo = make_repo(tmp_path, AGE_BASE, AGE_FIX)
    done, outputs = run_gate_step(repo, tmp_path, "--no-such-flag")
    assert outputs["exit-code"] == "2"
    assert "::error title=fixguard::the gate could not run (exit 2)" in done.stdout


def write(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")


def test_the_pre_commit_hook_checks_the_manifest(tmp_path: Path) -> None:
    (hook,) = HOOKS
    assert hook["id"] == "fixguard-claims" and hook["pass_filenames"] is False
    assert re.fullmatch(hook["files"], "harness.toml") and re.fullmatch(
        hook["files"], "pyproject.toml"
    )
    assert not re.fullmatch(hook["files"], "src/app.py")
    words = shlex.split(hook["entry"])
    assert words[0] == "harness"
    command = [sys.executable, "-m", "harness.cli", *words[1:]]

    def hook_run() -> subprocess.CompletedProcess[str]:
        return subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=120)

    write(tmp_path / "pyproject.toml", "[project]\nname = 'x'\n")
    assert hook_run().returncode == 0  # no manifest: nothing to check
    write(
        tmp_path / "harness.toml", '[[claims]]\nid = "cap"\ntitel = "typo"\ntests = ["t.py::t"]\n'
    )
    bad = hook_run()
    assert bad.returncode == 2
    assert "error: harness.toml:1: claims[0](cap).title: missing" in bad.stderr
    write(
        tmp_path / "harness.toml",
        '[[claims]]\nid = "cap"\ntitle = "cap holds"\ntests = ["t.py::t"]\n',
    )
    assert hook_run().returncode == 0
