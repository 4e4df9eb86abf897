"""The whole suite stores its runs and mutant results in a folder of its own.

Without it, verify and gate would write to (and reuse from) ~/.cache/fixguard, so a result an
earlier session stored could stand in for a run a test means to make. A test that checks reuse
sets FIXGUARD_CACHE_DIR itself.
"""

from __future__ import annotations

import os
import shutil
import tempfile

import pytest

_OWNED: list[str] = []


def pytest_configure(config: pytest.Config) -> None:
    if "FIXGUARD_CACHE_DIR" not in os.environ:
        folder = tempfile.mkdtemp(prefix="fixguard-test-cache-")
        _OWNED.append(folder)
        os.environ["FIXGUARD_CACHE_DIR"] = folder


def pytest_unconfigure(config: pytest.Config) -> None:
    for folder in _OWNED:
        shutil.rmtree(folder, ignore_errors=True)
        if os.environ.get("FIXGUARD_CACHE_DIR") == folder:
            del os.environ["FIXGUARD_CACHE_DIR"]
