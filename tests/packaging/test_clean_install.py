"""`pip install .` with no extras, in a new virtualenv, is enough to verify a plain pytest repo.

The engine's dependencies alone: no web framework, no server, no linter. The check builds the
wheel from a copy of this checkout (so nothing is written into it), installs it, and runs the
installed `harness` console script on a repo built here.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ..verify.test_precision_verdicts import AGE_BASE, AGE_FIX, AGE_TEST, make_repo

ROOT = Path(__file__).resolve().parents[2]
#: What the extras bring, which a plain install must not.
EXTRAS_ONLY = {"fastapi", "starlette", "uvicorn", "ruff", "pyleak", "docker", "psycopg"}

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("install")
    source = root / "source"
    shutil.copytree(
        ROOT,
        source,
        ignore=shutil.ignore_patterns(
            ".git",
            ".nox",
            "__pycache__",
            "*.pyc",
            "*.egg-info",
            "build",
            "dist",
            "reports",
            "mutants",
        ),
    )
    env_dir = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(env_dir)], check=True, timeout=120)
    pip = [
        str(env_dir / "bin" / "python"),
        "-m",
        "pip",
        "install",
        "-q",
        "--disable-pip-version-check",
    ]
    done = subprocess.run([*pip, str(source)], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return env_dir


def in_venv(
    venv: Path, program: str, *args: str, cwd: Path | None = None, timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    """`venv/bin/<program> args`, run away from the checkout (by default in the venv itself),
    so that this checkout's own harness/ and egg-info are never what is imported or listed."""
    return subprocess.run(
        [str(venv / "bin" / program), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=cwd or venv,
    )


def _installed(venv: Path) -> set[str]:
    listed = in_venv(venv, "python", "-m", "pip", "list", "--format=json")
    assert listed.returncode == 0, listed.stderr[-2000:]
    return {row["name"].lower() for row in json.loads(listed.stdout)}


def test_a_plain_install_brings_no_extra(venv: Path) -> None:
    names = _installed(venv)
    assert {"fixguard", "mutmut", "libcst", "hypothesis", "pytest"} <= names
    assert names & EXTRAS_ONLY == set()


def test_the_installed_package_is_typed_and_says_its_license(venv: Path) -> None:
    probe = (
        "import importlib.metadata as m, pathlib, harness;"
        "md = m.metadata('fixguard');"
        "print(md['License-Expression'], md['Requires-Python'],"
        " (pathlib.Path(harness.__file__).parent / 'py.typed').is_file())"
    )
    read = in_venv(venv, "python", "-c", probe)
    assert read.returncode == 0, read.stderr[-2000:]
    assert read.stdout.split() == ["MIT", ">=3.11.4", "True"]


def test_a_plain_install_verifies_a_plain_pytest_repo(venv: Path, tmp_path: Path) -> None:
    repo = make_repo(tmp_path, AGE_BASE, AGE_FIX)
    out = tmp_path / "out"
    done = in_venv(
        venv,
        "harness",
        "verify",
        "--repo",
        str(repo),
        "--base",
        "HEAD~1",
        "--tests",
        AGE_TEST,
        "--out",
        str(out),
        cwd=tmp_path,
    )
    claim = json.loads((out / "results.json").read_text())["run"]["claims"][0]
    assert claim["verdict"] == "VERIFIED", (claim["reason"], done.stdout[-2000:])
    assert done.returncode == 0
    # The project's tests ran under the venv's interpreter, the one the console script uses.
    assert claim["base_runs"][0]["command"].startswith(str(venv / "bin" / "python"))


def test_the_demo_without_the_sample_extra_names_the_extra(venv: Path, tmp_path: Path) -> None:
    done = in_venv(
        venv, "harness", "demo", "--out", str(tmp_path / "out"), cwd=tmp_path, timeout=120
    )
    assert done.returncode == 2
    assert "fixguard[sample]" in done.stderr + done.stdout
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_a_check_whose_extra_is_missing_names_the_extra(venv: Path, tmp_path: Path) -> None:
    """ruff (error-paths) and pyleak (leaks) are extras: their checks say so, never crash."""
    (tmp_path / "m.py").write_text("x = 1\n")
    probe = (
        "import pathlib, sys\n"
        "from harness.errors import UserError\n"
        "from scenarios.error_paths.no_undefined_names import run_ruff\n"
        "from harness.scenario import run\n"
        "import scenarios.leaks\n"
        "for attempt in (\n"
        f"    lambda: run_ruff(pathlib.Path({str(tmp_path)!r}), ('m.py',), 30.0),\n"
        "    lambda: run('leaks.tasks', {'call': 'x'}, None),\n"
        "):\n"
        "    try:\n"
        "        attempt()\n"
        "    except UserError as exc:\n"
        "        print(exc.one_line())\n"
    )
    out = in_venv(venv, "python", "-c", probe, cwd=tmp_path, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    lines = out.stdout.splitlines()
    assert len(lines) == 2, out.stdout
    assert "the error_paths checks need ruff" in lines[0] and "fixguard[error-paths]" in lines[0]
    assert "leaks.tasks needs pyleak" in lines[1] and "fixguard[leaks]" in lines[1]
