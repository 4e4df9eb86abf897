"""The package README's module table names modules that exist, and every module is listed."""

from __future__ import annotations

import re
from pathlib import Path

import harness.concurrency.explore as package

HERE = Path(package.__file__).parent


def test_every_module_in_the_readme_exists_and_every_module_is_in_the_readme() -> None:
    text = (HERE / "README.md").read_text()
    table = text.split("## Modules", 1)[1].split("##", 1)[0]
    listed = set(re.findall(r"`(\w+\.py)`", table))
    present = {p.name for p in HERE.glob("*.py")} - {"__init__.py"}
    assert listed == present


def test_each_public_name_is_exported_once() -> None:
    names = package.__all__
    assert len(names) == len(set(names))
    for name in names:
        assert getattr(package, name) is not None
