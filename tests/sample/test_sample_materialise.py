"""materialise(): a deterministic git history of the sample, its errors, its CLI and its app."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from harness.cli.sample_cmd import sample_command
from harness.errors import UserError
from harness.sample import SAMPLE_DIR, SampleRepo, load_claims, materialise, patch_ids

from .conftest import git


def test_history_is_a_buggy_base_then_one_commit_per_fix(sample_repo: SampleRepo) -> None:
    log = git(sample_repo.path, "log", "--reverse", "--format=%H %s").splitlines()
    fixes = patch_ids(SAMPLE_DIR / "fixes")
    assert len(log) == 1 + len(fixes)
    assert len(fixes) >= 21
    assert log[0] == f"{sample_repo.base} shopapp: initial import (buggy base)"
    for (finding, _), line, (claim_id, sha) in zip(
        fixes, log[1:], sample_repo.commits.items(), strict=True
    ):
        assert finding == claim_id
        assert line.startswith(sha) and f"({finding})" in line
    assert sample_repo.head == list(sample_repo.commits.values())[-1]
    assert git(sample_repo.path, "status", "--porcelain") == ""


def test_manifest_is_committed_on_the_base(sample_repo: SampleRepo) -> None:
    assert sample_repo.manifest == sample_repo.path / "harness.toml"
    on_base = git(sample_repo.path, "show", f"{sample_repo.base}:harness.toml")
    assert on_base == (SAMPLE_DIR / "harness.toml").read_text().strip()
    assert len(load_claims(sample_repo.manifest)) == len(sample_repo.commits)


def test_materialise_is_deterministic(sample_repo: SampleRepo, corrected_repo: SampleRepo) -> None:
    # Two independent materialisations (one with fix-ups on top) share every sha.
    assert corrected_repo.base == sample_repo.base
    assert corrected_repo.commits == sample_repo.commits
    assert list(corrected_repo.fixups) == ["backup-idempotency", "export-traversal", "health-leak"]
    assert git(corrected_repo.path, "rev-parse", f"{corrected_repo.head}~3") == sample_repo.head


def test_dest_that_is_not_empty_is_a_user_error(tmp_path: Path) -> None:
    (tmp_path / "occupied.txt").write_text("x")
    with pytest.raises(UserError) as excinfo:
        materialise(tmp_path)
    assert str(tmp_path) in excinfo.value.one_line()


def test_missing_git_is_a_user_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    with pytest.raises(UserError) as excinfo:
        materialise(tmp_path / "repo")
    assert "git" in excinfo.value.message
    assert str(tmp_path / "repo") in excinfo.value.one_line()


def test_cli_prints_repo_shas_and_claims(tmp_path: Path, sample_repo: SampleRepo) -> None:
    result = CliRunner().invoke(sample_command, [str(tmp_path / "cli-repo")])
    assert result.exit_code == 0, result.output
    assert f"base:     {sample_repo.base}" in result.output
    assert f"head:     {sample_repo.head}" in result.output
    assert f"claims ({len(sample_repo.commits)}):" in result.output
    assert "export-traversal" in result.output


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_app_serves_healthz_under_uvicorn(sample_repo: SampleRepo, tmp_path: Path) -> None:
    port = _free_port()
    env = {**os.environ, "SHOPAPP_DATA_DIR": str(tmp_path / "data"), "PYTHONDONTWRITEBYTECODE": "1"}
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "shopapp.app:app", "--port", str(port)],
        cwd=sample_repo.path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            assert server.poll() is None, server.stdout.read().decode() if server.stdout else ""
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "uvicorn did not answer within 30 s"
                time.sleep(0.1)
        assert response.json() == {"status": "ok"}
        created = httpx.post(f"http://127.0.0.1:{port}/tickets", json={"user_id": "u"})
        assert created.status_code == 201
    finally:
        server.terminate()
        server.wait(10)
