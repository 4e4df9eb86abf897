"""The idempotency pack against the sample's POST /backups: fails on the base, passes on the
fixed head. Key, replay, mismatch and concurrency checks go over HTTP through the `process`
launcher; the rollback checks inject faults, so they run on the service in process."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

import scenarios.idempotency  # noqa: F401 - registers the checks
from harness.scenario import run
from harness.targets import TargetSpec, launch
from harness.targets.base import Target

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def served(
    checkout: Callable[[str], Path],
    sample_spec: Callable[..., dict[str, Any]],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Callable[[str], tuple[Target, Path]]]:
    with ExitStack() as stack:
        running: dict[str, tuple[Target, Path]] = {}

        def get(rev: str) -> tuple[Target, Path]:
            if rev not in running:
                data = tmp_path_factory.mktemp(f"idem-{rev}")
                target = stack.enter_context(launch(TargetSpec(**sample_spec(checkout(rev), data))))
                running[rev] = (target, data)
            return running[rev]

        yield get


def failure_of(name: str, binding: dict[str, Any], target: Target) -> str | None:
    try:
        run(name, binding, target)
    except AssertionError as exc:
        return str(exc)
    return None


def over_http(data: Path) -> dict[str, Any]:
    return {
        "call": "POST /backups",
        "json": {"target": "db-{key}"},
        "other_json": {"target": "other-{key}"},
        "success": [201],
        "effect": {
            "sql": "SELECT count(*) FROM backups WHERE target = 'db-' || :key",
            "dsn": f"sqlite:///{data / 'shopapp.sqlite3'}",
        },
    }


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
    served: Callable[[str], tuple[Target, Path]],
    fixed: Callable[[str], None],
    name: str,
    says: str,
) -> None:
    fixed("backup-idempotency")
    base, base_data = served("base")
    failure = failure_of(name, over_http(base_data), base)
    assert failure is not None, f"{name} passed on the sample's base"
    assert says in failure, failure
    head, head_data = served("head")
    assert failure_of(name, over_http(head_data), head) is None


def backup_service(data_dir: str) -> Any:
    """The sample's BackupService on a fresh migrated SQLite file (imported from the tree)."""
    from shopapp.backups import BackupService
    from shopapp.db import Database

    db = Database(str(Path(data_dir) / "backups.sqlite3"))
    db.migrate()
    return BackupService(db)


IN_PROCESS = {
    "call": "handle",
    "json": "db-{key}",
    "success": [201],
    "effect": {"attr": "count"},
    "fault_attr": "runner",
}


@pytest.mark.parametrize(
    ("name", "says"),
    [
        ("idempotency.failure_rollback", "with 2 effect(s)"),
        ("idempotency.loser_rollback", "the losers got [201, 201, 201]"),
    ],
)
def test_rollback_check_fails_on_the_base_and_passes_on_the_fixed_head(
    checkout: Callable[[str], Path],
    fixed: Callable[[str], None],
    sample_modules: Callable[[Path], Any],
    tmp_path: Path,
    name: str,
    says: str,
) -> None:
    fixed("backup-idempotency")
    results = {}
    for rev in ("base", "head"):
        data = tmp_path / rev
        data.mkdir()
        with sample_modules(checkout(rev)):
            spec = TargetSpec(kind="python", factory=backup_service, kwargs={"data_dir": str(data)})
            with launch(spec) as target:
                results[rev] = failure_of(name, IN_PROCESS, target)
    assert results["base"] is not None and says in results["base"], results["base"]
    assert results["head"] is None, results["head"]
