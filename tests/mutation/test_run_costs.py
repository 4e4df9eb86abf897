"""What a mutant run skips because only its outcome counts: Hypothesis's example patches."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from harness.mutation.workspace import PROBE_MODULE

pytest.importorskip("hypothesis")

PROBE = Path(__file__).resolve().parents[2] / "harness" / "mutation" / "probe_plugin.py"

FAILING = """
from hypothesis import given, strategies as st


@given(st.integers())
def test_small(x):
    assert x < 10
"""


def run(root: Path, *plugins: str) -> subprocess.CompletedProcess[str]:
    args = [a for p in plugins for a in ("-p", p)]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(root / "probe"), str(root)])}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "test_h.py", "-q", "-p", "no:cacheprovider", *args],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize("probe", [False, True])
def test_a_failing_hypothesis_test_makes_no_patch_under_the_probe(tmp_path: Path, probe: bool):
    (tmp_path / "probe").mkdir()
    shutil.copyfile(PROBE, tmp_path / "probe" / f"{PROBE_MODULE}.py")
    (tmp_path / "test_h.py").write_text(FAILING)
    proc = run(tmp_path, *([PROBE_MODULE] if probe else []))
    assert proc.returncode == 1, proc.stdout + proc.stderr
    # The failure and its falsifying example are reported either way (Hypothesis 6.16x calls
    # it a "failing test case").
    assert re.search(r"(Falsifying example|Failing test case): test_small\(", proc.stdout)
    patches = list((tmp_path / ".hypothesis" / "patches").glob("*.patch"))
    if probe:
        assert patches == [], "the probe drops the examples before Hypothesis patches the test"
    else:
        assert patches, "without the probe Hypothesis writes its @example patch"
