"""The SQLite results store: one row per finished mutant, committed as soon as it finishes.

Rows are keyed by a content hash (`cache_key`) of everything that decides a mutant's outcome:
the mutated file text (via the mutant id), the revision's tree, the tests run, the interpreter,
the pytest arguments and environment, and k-of-n settings. A rerun with the same key reuses the
row instead of running the mutant again, so a run that was interrupted (Ctrl-C or SIGKILL)
resumes where it stopped. WAL journaling and a commit per row make every finished row durable.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
import time
from collections.abc import Iterable
from pathlib import Path

from ..outcomes import MutantStatus
from .options import MutantResult

SCHEMA_VERSION = 1

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
"""


def cache_key(*parts: object) -> str:
    blob = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


class ResultStore:
    """Thread-safe store of finished mutants. `path=None` keeps everything in memory."""

    def __init__(self, path: Path | None):
        self.path = path
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(path) if path else ":memory:", check_same_thread=False)
        if path is not None:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)
        self._db.execute(
            "INSERT OR IGNORE INTO meta(key, value) VALUES ('schema_version', ?)",
            (str(SCHEMA_VERSION),),
        )
        self._db.commit()

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
