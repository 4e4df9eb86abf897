"""The SQLite results store: one row per finished mutant, committed as soon as it finishes.

Rows are keyed by a content hash (`cache_key`) of everything that decides a mutant's outcome:
the mutated file text (via the mutant id) and the mutant's diff, what the tests it runs depend on
(`harness.mutation.inputs`: their modules, their conftest files, the project's code, config and
data), the interpreter with its installed distributions, the pytest arguments and environment,
and k-of-n settings. The `records` table keeps other reusable results the same way, as JSON: a
baseline's coverage map, a claim's base and head runs. A rerun with the same key reuses the
row instead of running the mutant again, so a run that was interrupted (Ctrl-C or SIGKILL)
resumes where it stopped. WAL journaling and a commit per row make every finished row durable.

Two runs of the same repository at once (two CI jobs on one runner) share the file. One shared
store with WAL and a long busy timeout was chosen over per-run stores merged at the end: a row
is a pure function of its key, so two runs writing the same key write the same outcome and
`INSERT OR REPLACE` of one over the other loses nothing; each write is one short transaction,
so a writer waits milliseconds, never a run; WAL lets readers go on while one writes; and a
run killed before a merge step would lose its finished rows, where here they are already
committed for the next run to reuse.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from ..outcomes import MutantStatus
from .options import MutantResult

SCHEMA_VERSION = 1

#: Seconds a write waits for another run's transaction before giving up; each holds the lock
#: for one row, so only a stalled disk could reach it.
BUSY_TIMEOUT = 60.0

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS mutants (
    cache_key TEXT PRIMARY KEY,
    id TEXT NOT NULL,
    family TEXT NOT NULL,
    operator TEXT NOT NULL,
    file TEXT NOT NULL,
    line INTEGER NOT NULL,
    diff TEXT NOT NULL,
    status TEXT NOT NULL,
    killing_test TEXT,
    runs INTEGER NOT NULL,
    kills INTEGER NOT NULL,
    duration REAL NOT NULL,
    tests TEXT NOT NULL,
    rev TEXT NOT NULL,
    finished_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS mutants_by_id ON mutants(id);
CREATE TABLE IF NOT EXISTS records (
    key TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    value TEXT NOT NULL,
    finished_at REAL NOT NULL
);
"""


def cache_key(*parts: object) -> str:
    blob = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


def _retry_busy(db: sqlite3.Connection, script: str) -> None:
    """Run `script`, retrying while another connection holds the lock.

    Switching to WAL and a first schema write can answer SQLITE_BUSY at once, without waiting
    for the busy timeout (SQLite does not wait where waiting could deadlock), so the wait is here.
    """
    deadline = time.monotonic() + BUSY_TIMEOUT
    while True:
        try:
            db.executescript(script)
            return
        except sqlite3.OperationalError as exc:
            if db.in_transaction:
                db.execute("ROLLBACK")
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


class ResultStore:
    """Thread-safe store of finished mutants. `path=None` keeps everything in memory."""

    def __init__(self, path: Path | None):
        self.path = path
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(
            str(path) if path else ":memory:", timeout=BUSY_TIMEOUT, check_same_thread=False
        )
        self._db.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT * 1000)}")
        if path is not None:
            _retry_busy(self._db, "PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
        # executescript commits first and runs outside Python's implicit transactions, so the
        # schema and the version row go in one explicit transaction: another run opening the
        # same file at this moment waits, then finds both.
        _retry_busy(
            self._db,
            f"BEGIN IMMEDIATE;{_SCHEMA}INSERT OR IGNORE INTO meta(key, value)"
            f" VALUES ('schema_version', '{SCHEMA_VERSION}');COMMIT;",
        )

    def get(self, key: str) -> MutantResult | None:
        with self._lock:
            row = self._db.execute(
                "SELECT id, family, operator, file, line, diff, status, killing_test, runs, kills,"
                " duration, tests FROM mutants WHERE cache_key = ?",
                (key,),
            ).fetchone()
        if row is None:
            return None
        return MutantResult(
            id=row[0],
            family=row[1],
            operator=row[2],
            file=row[3],
            line=row[4],
            diff=row[5],
            status=MutantStatus(row[6]),
            killing_test=row[7],
            runs=row[8],
            kills=row[9],
            duration=row[10],
            tests=tuple(json.loads(row[11])),
            cached=True,
        )

    def put(self, key: str, result: MutantResult, *, rev: str) -> None:
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO mutants VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    key,
                    result.id,
                    result.family,
                    result.operator,
                    result.file,
                    result.line,
                    result.diff,
                    result.status.value,
                    result.killing_test,
                    result.runs,
                    result.kills,
                    result.duration,
                    json.dumps(list(result.tests)),
                    rev,
                    time.time(),
                ),
            )
            self._db.commit()

    def get_record(self, key: str) -> dict[str, Any] | None:
        """A stored JSON record (a baseline's coverage map, a claim's run), or None."""
        with self._lock:
            row = self._db.execute("SELECT value FROM records WHERE key = ?", (key,)).fetchone()
        if row is None:
            return None
        value = json.loads(row[0])
        return value if isinstance(value, dict) else None

    def put_record(self, key: str, kind: str, value: Mapping[str, Any]) -> None:
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO records VALUES (?,?,?,?)",
                (key, kind, json.dumps(value, sort_keys=True), time.time()),
            )
            self._db.commit()

    def ids(self) -> list[str]:
        with self._lock:
            return [r[0] for r in self._db.execute("SELECT id FROM mutants ORDER BY finished_at")]

    def all(self) -> Iterable[tuple[str, str, int, int]]:
        """(id, status, kills, runs) of every stored row, oldest first."""
        with self._lock:
            return list(
                self._db.execute("SELECT id, status, kills, runs FROM mutants ORDER BY finished_at")
            )

    def close(self) -> None:
        with self._lock:
            self._db.close()
