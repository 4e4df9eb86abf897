"""Fixtures for the engine's own tests: a real uvicorn process serving a small racy app."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

HERE = Path(__file__).parent


def _launch(variant: str) -> Iterator[str]:
    from harness.targets import TargetSpec, launch

    spec = TargetSpec(
        kind="process",
        command="{python} -m uvicorn apps.register_app:app --port {port} --log-level warning",
        health="/healthz",
        cwd=HERE,
        env={"REGISTER_VARIANT": variant, "PYTHONPATH": str(HERE)},
        startup_timeout=30,
    )
    with launch(spec) as target:
        yield target.base_url


@pytest.fixture(scope="session")
def buggy_register_url() -> Iterator[str]:
    yield from _launch("buggy")


@pytest.fixture(scope="session")
def fixed_register_url() -> Iterator[str]:
    yield from _launch("fixed")


@pytest.fixture(autouse=True)
def _no_replay_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """A developer's FIXGUARD_SEED/ATTEMPT must not leak into the engine's own tests."""
    monkeypatch.delenv("FIXGUARD_SEED", raising=False)
    monkeypatch.delenv("FIXGUARD_ATTEMPT", raising=False)


sys.path.insert(0, str(HERE))
