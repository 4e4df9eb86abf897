"""The lifecycle pack against the sample's PollingService: the checks for its bugs fail on the
buggy base and pass on the fixed head; the checks it never broke pass on both."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

import scenarios.lifecycle  # noqa: F401 - registers the checks
from tests.packs.sample_bindings import LIFECYCLE
from tests.packs.support import fails_on_base_passes_on_head, failure_of

pytestmark = pytest.mark.slow

SERVICE = {
    "kind": "python",
    "factory": "shopapp.lifecycle:PollingService",
    "kwargs": {"interval": 0.01},
}


@pytest.fixture
def outcome(sample_target: Any, fixed: Callable[[str], None]) -> Callable[[str, str], str | None]:
    """`outcome(name, rev)`: the failure of lifecycle check `name` on the service at `rev`."""
    fixed("lifecycle-drain")

    def judged(name: str, rev: str) -> str | None:
        with sample_target(rev, SERVICE) as target:
            return failure_of(name, LIFECYCLE, target)

    return judged


@pytest.mark.parametrize(
    ("name", "says"),
    [
        ("lifecycle.concurrent_start", "background tasks (PollingService._run"),
        ("lifecycle.drain_timeout", "start() ran again after stop() timed out"),
        ("lifecycle.orphans", "no longer referenced by the service (PollingService._run)"),
        ("lifecycle.lock_identity", "_lifecycle_lock was replaced"),
    ],
)
def test_check_fails_on_the_base_and_passes_on_the_fixed_head(
    outcome: Callable[[str, str], str | None], name: str, says: str
) -> None:
    fails_on_base_passes_on_head(lambda rev: outcome(name, rev), says)


@pytest.mark.parametrize("name", ["lifecycle.restart", "lifecycle.loop_errors"])
def test_checks_the_sample_never_broke_pass_on_base_and_head(
    outcome: Callable[[str, str], str | None], name: str
) -> None:
    for rev in ("base", "head"):
        assert outcome(name, rev) is None, rev
