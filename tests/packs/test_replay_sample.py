"""The replay pack against the sample's webhook ReplayGuard: fails on the base, passes on the
fixed head. Freshness goes over HTTP through the `process` launcher; the checks that measure the
guard's own state (or need a window a few bytecodes wide) run on the guard in process."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import scenarios.replay  # noqa: F401 - registers the checks
from harness.scenario import run
from harness.targets import TargetSpec, launch
from harness.targets.base import Target

pytestmark = pytest.mark.slow

IN_PROCESS = {"call": "check", "max_nonce_length": 128, "bound": 100}
OVER_HTTP = {
    "call": "POST /webhooks",
    "headers": {"X-Webhook-Nonce": "{nonce}", "X-Webhook-Timestamp": "{timestamp}"},
    "accept": [202],
    "reject": [409],
    "max_nonce_length": 128,
}


def failure_of(name: str, binding: dict[str, Any], target: Target) -> str | None:
    try:
        run(name, binding, target)
    except AssertionError as exc:
        return str(exc)
    return None


def test_freshness_over_http_fails_on_the_base_and_passes_on_the_fixed_head(
    checkout: Callable[[str], Path],
    fixed: Callable[[str], None],
    sample_spec: Callable[..., dict[str, Any]],
    tmp_path: Path,
) -> None:
    fixed("webhook-nonce")
    results = {}
    for rev in ("base", "head"):
        with launch(TargetSpec(**sample_spec(checkout(rev), tmp_path / rev))) as target:
            results[rev] = failure_of("replay.freshness", OVER_HTTP, target)
    assert results["base"] is not None
    assert "stale timestamp -> HTTP 202" in results["base"]
    assert "NaN timestamp -> HTTP 202" in results["base"]
    assert results["head"] is None, results["head"]


@pytest.mark.parametrize(
    ("name", "says"),
    [
        ("replay.nonce_once", "concurrent deliveries of one nonce were accepted"),
        ("replay.bounded_memory", "above its bound 100"),
        ("replay.out_of_order_eviction", "only 2 are inside"),
    ],
)
def test_in_process_check_fails_on_the_base_and_passes_on_the_fixed_head(
    checkout: Callable[[str], Path],
    fixed: Callable[[str], None],
    sample_modules: Callable[[Path], Any],
    name: str,
    says: str,
) -> None:
    fixed("webhook-nonce")
    results = {}
    for rev in ("base", "head"):
        with sample_modules(checkout(rev)):
            spec = TargetSpec(
                kind="python", factory="shopapp.webhooks:ReplayGuard", kwargs={"max_entries": 100}
            )
            with launch(spec) as target:
                results[rev] = failure_of(name, IN_PROCESS, target)
    assert results["base"] is not None and says in results["base"], results["base"]
    assert results["head"] is None, results["head"]
