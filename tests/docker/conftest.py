"""Fixtures for the docker target tests: a real engine or a loud skip, and the test image.

Without an engine these tests skip, naming the reason `.ci/docker-setup` recorded. Set
FIXGUARD_REQUIRE_DOCKER=1 (CI does) to make a missing engine a failure instead of a skip.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

IMAGE = os.environ.get("FIXGUARD_DOCKER_IMAGE", "fixguard/python:local")
APPS = Path(__file__).parent / "apps"
STATUS = Path(os.environ.get("FIXGUARD_CACHE", "/var/cache/fixguard")) / "docker-setup.status"


def pytest_configure(config: pytest.Config) -> None:
    # Registered by pytest-xdist; also here so `-p no:xdist` runs pass --strict-markers.
    config.addinivalue_line("markers", "xdist_group(name): run these tests on one xdist worker")


def _no_engine(reason: str) -> None:
    recorded = STATUS.read_text().strip() if STATUS.exists() else "no status: run .ci/docker-setup"
    message = f"NO DOCKER ENGINE: {reason} [.ci/docker-setup said: {recorded}]"
    if os.environ.get("FIXGUARD_REQUIRE_DOCKER") == "1":
        pytest.fail(f"{message} (FIXGUARD_REQUIRE_DOCKER=1)", pytrace=False)
    warnings.warn(message, pytest.PytestWarning, stacklevel=2)
    pytest.skip(message)


@pytest.fixture(scope="session")
def docker_client() -> Iterator[Any]:
    """A Docker SDK client for a live engine that has the test image; skips loudly otherwise."""
    try:
        import docker  # noqa: F401  (the SDK, not this directory: it has no __init__.py)

        from harness.errors import TargetError
        from harness.targets.docker_engine import engine
    except ImportError as exc:
        _no_engine(f"the Docker SDK is not installed ({exc}); pip install 'fixguard[docker]'")
        raise AssertionError("unreachable") from None
    try:
        client = engine(timeout=30)
    except TargetError as exc:
        _no_engine(exc.one_line())
        raise AssertionError("unreachable") from None
    try:
        client.images.get(IMAGE)
    except Exception as exc:
        _no_engine(f"the engine is up but image {IMAGE!r} is missing ({exc})")
    yield client
    client.close()


def hello_spec(**overrides: Any) -> dict[str, Any]:
    """A docker spec that serves tests/docker/apps/hello.py from a read-only mount at /src."""
    spec: dict[str, Any] = {
        "kind": "docker",
        "image": IMAGE,
        "command": "python3 -m uvicorn hello:app --host {host} --port {port}",
        "mounts": {str(APPS): "/src:ro"},
        "cwd": "/src",
        "health": "/healthz",
        "startup_timeout": 20,
        "stop_timeout": 3,
    }
    spec.update(overrides)
    return spec


@pytest.fixture
def make_spec() -> Any:
    """`make_spec(**overrides)`: the hello app's docker spec (a fixture, so tests need no import)."""
    return hello_spec
