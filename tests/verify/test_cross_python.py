"""The project's interpreter is not the harness's: `--python` with another minor version.

The harness on 3.11 verifies a project on 3.13, and on 3.12 or 3.13 a project on 3.11. The
runs happen in the project's interpreter: the outcome plugin, the probe plugin and coverage
contexts of the mutation step, and the fork server all load there. The same claim must get
the same verdict and the same mutant statuses as with the harness's own interpreter.

Needs a second CPython (pyenv's here). Without one this skips, loudly; with
FIXGUARD_REQUIRE_PYTHONS=1 (CI) a missing interpreter fails instead.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from harness.forkserver import ServerPool
from harness.testrun import run_pytest

from .test_forked_runs import ENDINGS, FAST, judged
from .test_precision_verdicts import AGE_BASE, AGE_FIX, AGE_TEST, make_repo, verify

OTHER = "3.11" if sys.version_info[:2] >= (3, 12) else "3.13"

pytestmark = pytest.mark.slow


def find_python(version: str) -> str | None:
    """A working `python<version>`: on PATH, or one of pyenv's installed versions."""
    root = os.environ.get("PYENV_ROOT", os.path.expanduser("~/.pyenv"))
    candidates = [shutil.which(f"python{version}")]
    candidates += sorted(glob.glob(f"{root}/versions/{version}.*/bin/python{version}"))
    for candidate in candidates:
        if (
            candidate
            and subprocess.run([candidate, "-c", "pass"], capture_output=True).returncode == 0
        ):
            return candidate
    return None


@pytest.fixture(scope="module")
def project_python(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A venv of the other minor version with what a project's test env has: pytest, coverage."""
    base = find_python(OTHER)
    if base is None:
        message = f"no Python {OTHER} on this machine (pyenv install {OTHER}, or put it on PATH)"
        if os.environ.get("FIXGUARD_REQUIRE_PYTHONS") == "1":
            pytest.fail(f"{message} (FIXGUARD_REQUIRE_PYTHONS=1)", pytrace=False)
        pytest.skip(message)
    venv = tmp_path_factory.mktemp("project-python") / "venv"
    subprocess.run([base, "-m", "venv", str(venv)], check=True, timeout=120)
    python = str(venv / "bin" / "python")
    done = subprocess.run(
        [
            python,
            "-m",
            "pip",
            "install",
            "-q",
            "--disable-pip-version-check",
            "pytest>=8",
            "coverage>=7.4",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    version = subprocess.run(
        [python, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert version == OTHER
    return python


@pytest.mark.parametrize("ending", ["pass", "fail", "killed", "collection error", "leaked thread"])
def test_a_run_forked_in_the_projects_interpreter_is_judged_as_a_new_one(
    tmp_path: Path, project_python: str, ending: str
) -> None:
    body, timeout = ENDINGS[ending]
    (tmp_path / "test_it.py").write_text("import os, signal, time\n\n" + body)

    def once(pool: ServerPool | None) -> tuple[object, ...]:
        launch = pool.launcher(tmp_path, project_python, {}) if pool is not None else None
        run = run_pytest(
            tmp_path,
            ["test_it.py"],
            python=project_python,
            pytest_args=FAST,
            timeout=timeout,
            launch=launch,
        )
        assert run.command[0] == project_python
        return judged(run)

    fresh = once(None)
    with ServerPool() as pool:
        forked = once(pool)
        assert pool.forked == 1, (
            "the run must have forked from a server of the project's interpreter"
        )
    assert forked == fresh


def _verify(repo: Path, out: Path, *python: str) -> dict:
    code, claim = verify(repo, out, "--tests", AGE_TEST, *python)
    claim["exit"] = code
    return claim


def test_verify_with_another_interpreter_gives_the_same_verdict_and_mutants(
    tmp_path: Path, project_python: str
) -> None:
    repo = make_repo(tmp_path, AGE_BASE, AGE_FIX)
    own = _verify(repo, tmp_path / "own")
    other = _verify(repo, tmp_path / "other", "--python", project_python)
    assert other["verdict"] == own["verdict"] == "VERIFIED", other["reason"]
    assert other["exit"] == own["exit"] == 0
    assert all(
        r["command"].startswith(project_python) for r in other["base_runs"] + other["head_runs"]
    )

    def statuses(claim: dict) -> list[tuple[str, str, str]]:
        return sorted((m["operator"], m["diff"], m["status"]) for m in claim["mutants"])

    # Same mutants, same statuses: coverage contexts chose the tests and the kills happened in
    # the project's interpreter as they do in the harness's.
    assert statuses(other) == statuses(own)
    assert any(m["status"] == "killed" for m in other["mutants"])
