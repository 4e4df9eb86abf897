"""The replay pack against the sample's webhook ReplayGuard: fails on the base, passes on the
fixed head. Freshness goes over HTTP through the `process` launcher; the checks that measure the
guard's own state (or need a window a few bytecodes wide) run on the guard in process."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import scenarios.replay  # noqa: F401 - registers the checks
from harness.targets.base import Target
from tests.packs.sample_bindings import GUARD_IN_PROCESS, WEBHOOKS_OVER_HTTP
from tests.packs.support import fails_on_base_passes_on_head, failure_of

pytestmark = pytest.mark.slow


def test_freshness_over_http_fails_on_the_base_and_passes_on_the_fixed_head(
    sample_server: Callable[[str], tuple[Target, Path]], fixed: Callable[[str], None]
) -> None:
    fixed("webhook-nonce")
    fails_on_base_passes_on_head(
        lambda rev: failure_of("replay.freshness", WEBHOOKS_OVER_HTTP, sample_server(rev)[0]),
        "stale timestamp -> HTTP 202",
        "NaN timestamp -> HTTP 202",
    )


@pytest.mark.parametrize(
    ("name", "says"),
    [
        ("replay.nonce_once", "concurrent deliveries of one nonce were accepted"),
        ("replay.bounded_memory", "above its bound 100"),
        ("replay.out_of_order_eviction", "only 2 are inside"),
    ],
)
def test_in_process_check_fails_on_the_base_and_passes_on_the_fixed_head(
    sample_target: Any, fixed: Callable[[str], None], name: str, says: str
) -> None:
    fixed("webhook-nonce")
    guard = {
        "kind": "python",
        "factory": "shopapp.webhooks:ReplayGuard",
        "kwargs": {"max_entries": 100},
    }

    def outcome(rev: str) -> str | None:
        with sample_target(rev, guard) as target:
            return failure_of(name, GUARD_IN_PROCESS, target)

    fails_on_base_passes_on_head(outcome, says)
