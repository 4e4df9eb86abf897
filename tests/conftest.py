"""The whole suite stores its runs and mutant results in a folder of its own.

Without it, verify and gate would write to (and reuse from) ~/.cache/fixguard, so a result an
earlier session stored could stand in for a run a test means to make. A test that checks reuse
sets FIXGUARD_CACHE_DIR itself.

`ctrl_c` gives a Ctrl-C test the terminal's SIGINT whatever the suite inherited.
"""

from __future__ import annotations

import os
import shutil
import signal
import tempfile
from collections.abc import Iterator

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


@pytest.fixture
def ctrl_c() -> Iterator[None]:
    """SIGINT raises KeyboardInterrupt here and in the processes the test starts, as at a
    terminal. A suite started as a script's background job (or under nohup) inherits SIGINT
    ignored, and its children would too: a Ctrl-C test would then prove nothing."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
