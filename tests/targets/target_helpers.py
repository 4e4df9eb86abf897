"""Helpers for the launcher tests: real uvicorn apps under apps/, and a no-orphans check."""

from __future__ import annotations

import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import psutil
import pytest

APPS = Path(__file__).parent / "apps"


def uvicorn_spec(module: str, **overrides: Any) -> dict[str, Any]:
    """A process spec that serves `apps/<module>.py:app` with uvicorn on the harness's port."""
    spec: dict[str, Any] = {
        "kind": "process",
        "command": f"{{python}} -m uvicorn {module}:app --host 127.0.0.1 --port {{port}} "
        "--log-level info",
        "cwd": APPS,
        "health": "/healthz",
        "startup_timeout": 10,
        "stop_timeout": 3,
    }
    spec.update(overrides)
    return spec


def alive(pid: int) -> bool:
    """True while `pid` runs; a zombie (dead, not yet reaped by init) counts as gone."""
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def assert_gone(pids: Iterable[int], within: float = 3.0) -> None:
    __tracebackhide__ = True
    pids = list(pids)
    deadline = time.monotonic() + within
    while any(alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    left = [p for p in pids if alive(p)]
    if left:
        pytest.fail(f"processes left behind: {left}")


def tree(pid: int) -> list[int]:
    proc = psutil.Process(pid)
    return [pid, *(c.pid for c in proc.children(recursive=True))]
