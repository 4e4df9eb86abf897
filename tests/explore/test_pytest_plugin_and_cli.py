"""The pytest marker, the fixture and the CLI, run as a user would, in subprocesses."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

import harness

ROOT = Path(harness.__file__).resolve().parent.parent
SERVICES = Path(__file__).with_name("explore_services.py")

USER_TESTS = """
import asyncio
import pytest


class Service:
    def __init__(self, fixed):
        self.fixed = fixed
        self.lock = asyncio.Lock()
        self.inside = 0
        self.overlaps = 0

    async def stop(self):
        async with self.lock:
            self.inside += 1
            self.overlaps += self.inside > 1
            await asyncio.sleep(0)
            self.inside -= 1
            if not self.fixed:
                self.lock = asyncio.Lock()


@pytest.mark.explore(schedules=200, strategy="random(seed=3)")
async def test_stop_buggy():
    service = Service(fixed=False)
    await asyncio.gather(service.stop(), service.stop(), service.stop())
    assert service.overlaps == 0


@pytest.mark.explore(schedules=300)
async def test_stop_fixed():
    service = Service(fixed=True)
    await asyncio.gather(service.stop(), service.stop(), service.stop())
    assert service.overlaps == 0


def test_fixture_form(explore):
    async def scenario():
        service = Service(fixed=True)
        await asyncio.gather(service.stop(), service.stop())
        assert service.overlaps == 0

    result = explore(scenario, "pct(depth=2)", schedules=50)
    assert result.ok and result.schedules == 50
"""


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    return env


def _pytest(
    cwd: Path, *args: str, plugin: str | None = "harness.concurrency.explore.plugin"
) -> subprocess.CompletedProcess[str]:
    # `plugin=None` uses the installed `harness` entry-point plugin, which hooks the explorer in
    # lazily; any other plugin is loaded on its own, with the installed one blocked.
    command = [sys.executable, "-m", "pytest"]
    if plugin is not None:
        command += ["-p", "no:harness", "-p", plugin]
    command += ["-p", "no:cacheprovider", "--strict-markers", "-q", *args]
    return subprocess.run(command, cwd=cwd, env=_env(), capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("plugin", ["harness.concurrency.explore.plugin", None])
def test_the_marker_fails_a_racy_test_with_a_pasteable_replay_line(
    tmp_path: Path, plugin: str | None
) -> None:
    (tmp_path / "test_user.py").write_text(USER_TESTS)
    run = _pytest(tmp_path, "test_user.py", plugin=plugin)
    assert run.returncode == 1, run.stdout + run.stderr
    assert "2 passed" in run.stdout and "1 failed" in run.stdout
    assert "FAILED test_user.py::test_stop_buggy" in run.stdout
    line = re.search(r"replay:\s+(python -m pytest .*)", run.stdout)
    assert line is not None, run.stdout
    assert "--harness-explore-replay=" in line.group(1)
    argv = shlex.split(line.group(1))[3:]  # drop "python -m pytest"
    again = _pytest(tmp_path, *argv)
    assert again.returncode == 1, again.stdout
    assert "FAILED at schedule 1 of 1" in again.stdout
    assert "1 failed" in again.stdout and "passed" not in again.stdout


def test_the_lazy_hook_lines_in_the_readme_run_the_marker_and_the_fixture(tmp_path: Path) -> None:
    readme = (ROOT / "harness" / "concurrency" / "explore" / "README.md").read_text()
    snippet = readme.split("should hook it in lazily", 1)[1].split("```python", 1)[1]
    snippet = snippet.split("```", 1)[0]
    header = "from typing import Any\n\nimport pytest\n\n"
    (tmp_path / "lazy_harness_plugin.py").write_text(header + snippet)
    (tmp_path / "test_user.py").write_text(USER_TESTS)
    run = _pytest(tmp_path, "test_user.py", plugin="lazy_harness_plugin")
    assert run.returncode == 1, run.stdout + run.stderr
    assert "2 passed" in run.stdout and "1 failed" in run.stdout
    assert "--harness-explore-replay=" in run.stdout
    probe = "import sys, lazy_harness_plugin; print('harness' in sys.modules)"
    loaded = subprocess.run(
        [sys.executable, "-c", probe], cwd=tmp_path, env=_env(), capture_output=True, text=True
    )
    assert loaded.stdout.strip() == "False", loaded.stderr  # loading it imports no harness code


def test_a_sync_test_under_the_marker_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "test_sync.py").write_text(
        "import pytest\n\n@pytest.mark.explore()\ndef test_sync():\n    pass\n"
    )
    run = _pytest(tmp_path, "test_sync.py")
    assert run.returncode != 0
    assert "needs an `async def` test" in run.stdout + run.stderr


def test_the_cli_replays_a_token_and_exits_1_on_failure_0_on_pass_2_on_bad_input() -> None:
    base = [sys.executable, "-m", "harness.concurrency.explore"]

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*base, *args], cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=120
        )

    found = cli("run", f"{SERVICES}:claim_buggy", "--strategy", "random(seed=0)")
    assert found.returncode == 1, found.stdout + found.stderr
    token = re.search(r"replay:.*:claim_buggy (.*)$", found.stdout, re.M)
    assert token is not None, found.stdout
    replayed = cli(
        "replay", f"{SERVICES}:claim_buggy", *shlex.split(token.group(1)), "--times", "5"
    )
    assert replayed.returncode == 1
    assert "rollback deleted the running winner's claim" in replayed.stdout
    assert "replayed 5 times: 1 distinct outcome(s)" in replayed.stdout
    fixed = cli("run", f"{SERVICES}:claim_fixed", "--schedules", "50")
    assert fixed.returncode == 0 and "passed 50 schedules" in fixed.stdout
    bad = cli("replay", f"{SERVICES}:claim_buggy", "pct(depth=-1)")
    assert bad.returncode == 2 and "depth=-1" in bad.stderr
