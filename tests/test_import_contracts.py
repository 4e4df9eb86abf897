"""The import contracts in pyproject.toml hold, and each one fails on the import it forbids.

Each case copies the two packages and the pyproject into a temp dir, adds one import, and runs
the real `lint-imports` there: the layers, the packs' façade and the no-cycles rule must each
name the contract that broke.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LINT_IMPORTS = shutil.which("lint-imports") or str(Path(sys.executable).parent / "lint-imports")

pytestmark = pytest.mark.skipif(
    not Path(LINT_IMPORTS).exists(),
    reason="import-linter is not installed (nox -s tests installs it)",
)


def _copy(tmp_path: Path) -> Path:
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for package in ("harness", "scenarios"):
        shutil.copytree(ROOT / package, tmp_path / package, ignore=ignore)
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def _lint(root: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run(
        [LINT_IMPORTS, "--config", "pyproject.toml", "--no-cache"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _append(path: Path, line: str) -> None:
    path.write_text(path.read_text(encoding="utf-8") + f"\n{line}\n", encoding="utf-8")


def test_the_checkout_keeps_every_contract(tmp_path: Path) -> None:
    done = _lint(_copy(tmp_path))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Contracts: 3 kept, 0 broken." in done.stdout


@pytest.mark.parametrize(
    ("file", "line", "contract"),
    [
        # The core reaching up into the CLI.
        ("harness/errors.py", "from harness.cli import main", "cli > pipeline"),
        # A part reaching up into the pipeline.
        ("harness/mutation/scope.py", "from harness.verify import results", "cli > pipeline"),
        # Independent siblings in one layer.
        ("harness/strategies/_sql.py", "import harness.blocking", "cli > pipeline"),
        # A pack going around the façade.
        (
            "scenarios/races/__init__.py",
            "from harness.targets.base import Target",
            "only through harness.pack",
        ),
        # The cycle that the kind table being a leaf broke.
        ("harness/targets/kinds.py", "from . import spec", "no import cycles"),
    ],
)
def test_a_forbidden_import_breaks_its_contract(
    tmp_path: Path, file: str, line: str, contract: str
) -> None:
    root = _copy(tmp_path)
    _append(root / file, line)
    done = _lint(root)
    assert done.returncode == 1, done.stdout + done.stderr
    broken = [row for row in done.stdout.splitlines() if " BROKEN" in row]
    assert any(contract in row for row in broken), done.stdout
