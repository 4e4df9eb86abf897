"""The idempotency pack against the sample's POST /backups: fails on the base, passes on the
fixed head. Key, replay, mismatch and concurrency checks go over HTTP through the `process`
launcher; the rollback checks inject faults, so they run on the service in process."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import scenarios.idempotency  # noqa: F401 - registers the checks
from harness.targets.base import Target
from tests.packs.sample_bindings import (
    BACKUPS_IN_PROCESS,
    BACKUPS_OVER_HTTP,
    backup_service,
    with_sqlite_effect,
)
from tests.packs.support import fails_on_base_passes_on_head, failure_of

pytestmark = pytest.mark.slow


@pytest.mark.parametrize(
    ("name", "says"),
    [
        ("idempotency.key_validation", "missing key -> 201"),
        ("idempotency.replay", "caused 3 effect(s)"),
        ("idempotency.payload_mismatch", "got 201, not [422]"),
        ("idempotency.concurrent_requests", "concurrent requests with one Idempotency-Key caused"),
    ],
)
def test_http_check_fails_on_the_base_and_passes_on_the_fixed_head(
    sample_server: Callable[[str], tuple[Target, Path]],
    fixed: Callable[[str], None],
    name: str,
    says: str,
) -> None:
    fixed("backup-idempotency")

    def outcome(rev: str) -> str | None:
        target, data = sample_server(rev)
        return failure_of(name, with_sqlite_effect(BACKUPS_OVER_HTTP, data), target)

    fails_on_base_passes_on_head(outcome, says)


@pytest.mark.parametrize(
    ("name", "says"),
    [
        ("idempotency.failure_rollback", "with 2 effect(s)"),
        ("idempotency.loser_rollback", "the losers got [201, 201, 201]"),
    ],
)
def test_rollback_check_fails_on_the_base_and_passes_on_the_fixed_head(
    sample_target: Any, fixed: Callable[[str], None], tmp_path: Path, name: str, says: str
) -> None:
    fixed("backup-idempotency")
    service = {"kind": "python", "factory": backup_service, "kwargs": {"data_dir": str(tmp_path)}}

    def outcome(rev: str) -> str | None:
        with sample_target(rev, service) as target:
            return failure_of(name, BACKUPS_IN_PROCESS, target)

    fails_on_base_passes_on_head(outcome, says)
