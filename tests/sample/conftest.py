"""Fixtures for the sample-service tests: materialised repos and pytest runs inside them."""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import pytest

from harness.sample import SampleRepo, load_claims, materialise

PYTEST_TIMEOUT = 180


@dataclass(frozen=True)
class Checkout:
    """A work tree of a sample repo, and the pytest run started in it."""

    path: Path
    process: subprocess.Popen[bytes]
    junit: Path

    def outcomes(self) -> dict[str, str]:
        """Wait for the run; map node id to passed / failed / error / skipped."""
        try:
            output, _ = self.process.communicate(timeout=PYTEST_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.process.kill()
            raise
        (self.path / "pytest.log").write_bytes(output)
        if not self.junit.exists():
            pytest.fail(f"no junit xml from the run in {self.path}:\n{output.decode()[-3000:]}")
        results: dict[str, str] = {}
        for case in ET.parse(self.junit).getroot().iter("testcase"):
            module = case.get("classname", "").replace(".", "/")
            node = f"{module}.py::{case.get('name')}"
            kinds = {child.tag for child in case}
            outcome = next((k for k in ("error", "failure", "skipped") if k in kinds), "passed")
            results[node] = "failed" if outcome == "failure" else outcome
        return results


def git(repo: Path, *args: str) -> str:
    env = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}
    proc = subprocess.run(
        ["git", *args], cwd=repo, env=env, capture_output=True, text=True, check=True
    )
    return proc.stdout.strip()


def regression_tests(repo: SampleRepo) -> dict[str, list[str]]:
    """Claim id -> its regression test node ids, from the repo's manifest."""
    return {c["id"]: list(c["tests"]) for c in load_claims(repo.manifest) if "tests" in c}


def worktree(repo: SampleRepo, name: str, ref: str, *, tests_from: str | None = None) -> Path:
    """Check `ref` out beside the repo; optionally lay another commit's tests over it."""
    path = repo.path.parent / name
    git(repo.path, "worktree", "add", "--detach", "--quiet", str(path), ref)
    if tests_from is not None:
        git(path, "checkout", tests_from, "--", "tests", "pyproject.toml")
    return path


def start_pytest(path: Path, node_ids: list[str], data_dir: Path) -> Checkout:
    """Start one pytest subprocess over `node_ids` in `path`; collect it with .outcomes()."""
    junit = path / "junit.xml"
    env = {**os.environ, "SHOPAPP_DATA_DIR": str(data_dir), "PYTHONDONTWRITEBYTECODE": "1"}
    env.pop("PYTEST_ADDOPTS", None)
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-p",
            "no:harness",
            f"--junitxml={junit}",
            *node_ids,
        ],
        cwd=path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    return Checkout(path, process, junit)


@pytest.fixture(scope="session")
def sample_repo(tmp_path_factory: pytest.TempPathFactory) -> SampleRepo:
    return materialise(tmp_path_factory.mktemp("sample") / "repo")


@pytest.fixture(scope="session")
def corrected_repo(tmp_path_factory: pytest.TempPathFactory) -> SampleRepo:
    return materialise(tmp_path_factory.mktemp("sample-corrected") / "repo", corrected=True)
