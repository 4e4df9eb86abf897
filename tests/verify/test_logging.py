"""`harness -v` logs what the engine decides; -vv adds every git command and mutant; none by default."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest

from harness.cli.main import main

from .conftest import verify_args
from .test_precision_verdicts import AGE_BASE, AGE_FIX, AGE_TEST, make_repo


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_repo(tmp_path_factory.mktemp("logs"), AGE_BASE, AGE_FIX)


def run(repo: Path, out: Path, capsys: pytest.CaptureFixture[str], *flags: str) -> list[str]:
    code = main([*flags, *verify_args(repo, out, "--tests", AGE_TEST, "--fresh")])
    assert code == 0
    return [
        line
        for line in capsys.readouterr().err.splitlines()
        if re.match(r"\d\d:\d\d:\d\d (INFO|DEBUG|WARNING) ", line)
    ]


def test_no_log_lines_without_verbose(
    repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(repo, tmp_path, capsys) == []


def test_verbose_logs_each_run_and_verdict(
    repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = run(repo, tmp_path, capsys, "-v")
    assert not any(" DEBUG " in line for line in lines)
    text = "\n".join(lines)
    assert re.search(r"INFO harness\.verify\.job: adhoc base run 1: failed \(\d+\.\d\ds\)", text)
    assert re.search(r"INFO harness\.verify\.job: adhoc head run 1: passed", text)
    assert "INFO harness.verify.pipeline: adhoc: VERIFIED: fails on the base 1/1" in text


def test_very_verbose_adds_git_commands_and_mutants(
    repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = "\n".join(run(repo, tmp_path, capsys, "-vv"))
    assert "DEBUG harness.git: git worktree add --detach" in text
    assert re.search(
        r"DEBUG harness\.mutation\.lab: m\w+ pkg/age\.py:2 \(swap_op\): survived", text
    )
    # The next command without -v is quiet again: no handler is left behind.
    assert run(repo, tmp_path / "again", capsys) == []
    assert not [h for h in logging.getLogger("harness").handlers if getattr(h, "_fixguard", False)]
