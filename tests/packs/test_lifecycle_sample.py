"""The lifecycle pack against the sample's PollingService: the checks for its bugs fail on the
buggy base and pass on the fixed head; the checks it never broke pass on both."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import scenarios.lifecycle  # noqa: F401 - registers the checks
from harness.scenario import run
from harness.targets import TargetSpec, launch

pytestmark = pytest.mark.slow

BINDING = {
    "stuck": {"work": "scenarios.lifecycle.stubs:never_returns", "drain_timeout": 0.05},
    "failing": {"work": "scenarios.lifecycle.stubs:raises"},
    "unrestartable_errors": ["ServiceUnrestartableError"],
}


def outcome(checkout: Callable[[str], Path], modules: Any, rev: str, name: str) -> str | None:
    with modules(checkout(rev)):
        spec = TargetSpec(
            kind="python", factory="shopapp.lifecycle:PollingService", kwargs={"interval": 0.01}
        )
        with launch(spec) as target:
            try:
                run(name, BINDING, target)
            except AssertionError as exc:
                return str(exc)
    return None


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
    checkout: Callable[[str], Path],
    fixed: Callable[[str], None],
    sample_modules: Any,
    name: str,
    says: str,
) -> None:
    fixed("lifecycle-drain")
    base = outcome(checkout, sample_modules, "base", name)
    assert base is not None and says in base, base
    assert outcome(checkout, sample_modules, "head", name) is None


@pytest.mark.parametrize("name", ["lifecycle.restart", "lifecycle.loop_errors"])
def test_checks_the_sample_never_broke_pass_on_base_and_head(
    checkout: Callable[[str], Path],
    fixed: Callable[[str], None],
    sample_modules: Any,
    name: str,
) -> None:
    fixed("lifecycle-drain")
    for rev in ("base", "head"):
        assert outcome(checkout, sample_modules, rev, name) is None, rev
