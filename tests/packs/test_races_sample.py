"""The races pack against the sample service: each check fails on the buggy base and passes on
the fixed head, over HTTP through the real `process` launcher (uvicorn) or in process."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import scenarios.races  # noqa: F401 - registers the checks
from harness.targets.base import Target
from tests.packs.sample_bindings import HTTP_RACES, with_sqlite_effect
from tests.packs.support import fails_on_base_passes_on_head, failure_of

pytestmark = pytest.mark.slow


@pytest.mark.parametrize(
    ("name", "finding", "says"),
    [
        ("races.capacity_limit", "ticket-cap", "but the cap is 5"),
        ("races.single_consumer", "ticket-consume", "consumed the same resource"),
        ("races.exclusive_create", "simulation-register", "creates of the same key succeeded"),
    ],
)
def test_http_race_fails_on_the_base_and_passes_on_the_fixed_head(
    sample_server: Callable[[str], tuple[Target, Path]],
    fixed: Callable[[str], None],
    name: str,
    finding: str,
    says: str,
) -> None:
    fixed(finding)

    def outcome(rev: str) -> str | None:
        target, data = sample_server(rev)
        return failure_of(name, with_sqlite_effect(HTTP_RACES[name], data), target)

    fails_on_base_passes_on_head(outcome, says, "mode=last-byte")


def test_shared_cache_fails_on_the_base_and_passes_on_the_fixed_head(
    sample_target: Any, fixed: Callable[[str], None]
) -> None:
    fixed("cache-lock")
    cache = {"kind": "python", "factory": "shopapp.cache:LRUCache", "kwargs": {"max_size": 8}}

    def outcome(rev: str) -> str | None:
        with sample_target(rev, cache) as target:
            return failure_of("races.shared_cache", {}, target)

    fails_on_base_passes_on_head(outcome, "races.shared_cache: ")
