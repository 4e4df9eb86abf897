"""The bindings of the races, idempotency, replay and lifecycle checks on the sample service, as
its *_sample.py self-tests use them; benchmarks/stability_races.py runs the same ones."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any


def with_sqlite_effect(binding: dict[str, Any], data: Path) -> dict[str, Any]:
    """`binding` with its "effect" query run on the SQLite file of the server whose data dir is
    `data`."""
    effect = {"sql": binding["effect"], "dsn": f"sqlite:///{data / 'shopapp.sqlite3'}"}
    return {**binding, "effect": effect}


#: Over HTTP on a served sample; each "effect" is a query, for `with_sqlite_effect`.
HTTP_RACES: dict[str, dict[str, Any]] = {
    "races.capacity_limit": {
        "call": "POST /tickets",
        "json": {"user_id": "{key}"},
        "cap": 5,
        "workers": 12,
        "success": [201],
        "conflict": [429],
        "effect": "SELECT count(*) FROM tickets WHERE user_id = :key AND used = 0",
    },
    "races.single_consumer": {
        "call": "POST /tickets/{resource}/consume",
        "setup": {"call": "POST /tickets", "json": {"user_id": "{key}"}},
        "setup_field": "ticket",
        "success": [200],
        "conflict": [409],
        "effect": "SELECT count(*) FROM tickets WHERE user_id = :key AND used = 1",
    },
    "races.exclusive_create": {
        "call": "POST /simulations",
        "json": {"simulation_id": "{key}", "client_id": "client-{worker}"},
        "success": [201],
        "conflict": [409],
        "effect": "SELECT count(*) FROM simulations WHERE simulation_id = :key",
    },
}
BACKUPS_OVER_HTTP = {
    "call": "POST /backups",
    "json": {"target": "db-{key}"},
    "other_json": {"target": "other-{key}"},
    "success": [201],
    "effect": "SELECT count(*) FROM backups WHERE target = 'db-' || :key",
}
BACKUPS_IN_PROCESS = {
    "call": "handle",
    "json": "db-{key}",
    "success": [201],
    "effect": {"attr": "count"},
    "fault_attr": "runner",
}
WEBHOOKS_OVER_HTTP = {
    "call": "POST /webhooks",
    "headers": {"X-Webhook-Nonce": "{nonce}", "X-Webhook-Timestamp": "{timestamp}"},
    "accept": [202],
    "reject": [409],
    "max_nonce_length": 128,
}
#: On `shopapp.webhooks:ReplayGuard(max_entries=100)`.
GUARD_IN_PROCESS = {"call": "check", "max_nonce_length": 128, "bound": 100}
#: On `shopapp.lifecycle:PollingService(interval=0.01)`.
LIFECYCLE = {
    "stuck": {"work": "scenarios.lifecycle.stubs:never_returns", "drain_timeout": 0.05},
    "failing": {"work": "scenarios.lifecycle.stubs:raises"},
    "unrestartable_errors": ["ServiceUnrestartableError"],
}


def backup_service(data_dir: str) -> Any:
    """The sample's BackupService on a fresh migrated SQLite file in `data_dir` (`shopapp` is
    imported from whichever tree is on sys.path)."""
    from shopapp.backups import BackupService
    from shopapp.db import Database

    db = Database(str(Path(data_dir) / f"backups-{time.perf_counter_ns()}.sqlite3"))
    db.migrate()
    return BackupService(db)
