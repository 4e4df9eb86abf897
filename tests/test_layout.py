"""The README's layout and the public surface stay true."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import harness

ROOT = Path(__file__).resolve().parents[1]


def test_every_path_in_the_readme_layout_exists() -> None:
    readme = (ROOT / "README.md").read_text()
    block = readme.split("## Layout", 1)[1].split("```", 2)[1]
    paths = re.findall(r"^\s*([\w./-]+?/?)(?:,\s*([\w./-]+))?\s{2,}", block, re.M)
    listed = [p for pair in paths for p in pair if p]
    assert len(listed) > 10
    for entry in listed:
        if (
            entry.endswith("/")
            and "/" in entry.rstrip("/")
            and not entry.startswith(("harness", "scenarios", "examples"))
        ):
            entry = "harness/" + entry
        candidates = [ROOT / entry, ROOT / "harness" / entry]
        assert any(c.exists() for c in candidates), f"README lists {entry!r} but it does not exist"


def test_the_readme_layout_names_every_entry_of_the_harness_package() -> None:
    """The layout's `harness/` lines are `ls harness/`: nothing missing, nothing extra."""
    block = (ROOT / "README.md").read_text().split("## Layout", 1)[1].split("```", 2)[1]
    named = set(re.findall(r"^  ([\w.]+/?)(?=\s|$)", block, re.M))
    named = {n for n in named if "/" not in n.rstrip("/")}
    on_disk = {
        p.name + ("/" if p.is_dir() else "")
        for p in (ROOT / "harness").iterdir()
        if p.name not in ("__init__.py", "__pycache__") and not p.name.endswith(".pyc")
    }
    assert sorted(on_disk - named) == [], "in harness/ but not in the README's layout"
    assert sorted(named - on_disk) == [], "in the README's layout but not in harness/"


def test_public_surface_is_small_and_each_name_exported_once() -> None:
    assert len(harness.__all__) == len(set(harness.__all__))
    for name in harness.__all__:
        assert getattr(harness, name) is not None


def test_cli_help_lists_only_implemented_commands() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "harness.cli", "--help"], capture_output=True, text=True, check=True
    ).stdout
    commands = re.findall(r"^  (\w+)\s", out.split("Commands:", 1)[1], re.M)
    assert {"verify", "gate", "demo", "claims", "report"} <= set(commands)
    for command in commands:
        sub = subprocess.run(
            [sys.executable, "-m", "harness.cli", command, "--help"], capture_output=True, text=True
        )
        assert sub.returncode == 0 and "Usage:" in sub.stdout, command
