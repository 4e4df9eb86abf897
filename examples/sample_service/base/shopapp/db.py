"""The database layer: SQLite by default, PostgreSQL (psycopg 3) for a postgresql:// DSN.

Every call opens its own connection, the way a pooled web app hands one out per unit of
work. SQL is written with `?` placeholders and translated for PostgreSQL.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

MIGRATIONS_DIR = Path(__file__).resolve().parents[1] / "migrations"

Params = Sequence[Any]


class Database:
    """A thin wrapper that runs one statement per connection and counts fetched rows."""

    def __init__(self, url: str):
        self.url = url
        self.is_postgres = url.startswith(("postgresql://", "postgres://"))
        self.rows_fetched = 0
        self._stats_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"Database({self.url!r})"

    @contextmanager
    def connect(self) -> Iterator[Any]:
        if self.is_postgres:
            import psycopg

            conn = psycopg.connect(self.url, autocommit=True)
        else:
            conn = sqlite3.connect(self.url, timeout=10, isolation_level=None,
                                   check_same_thread=False)
            conn.execute("PRAGMA busy_timeout = 10000")
            conn.execute("PRAGMA synchronous = NORMAL")
        try:
            yield conn
        finally:
            conn.close()

    def _sql(self, sql: str) -> str:
        return sql.replace("?", "%s") if self.is_postgres else sql

    def execute(self, sql: str, params: Params = ()) -> int:
        """Run one write statement; return the number of rows it changed."""
        with self.connect() as conn:
            cur = conn.execute(self._sql(sql), tuple(params))
            return cur.rowcount

    def query(self, sql: str, params: Params = ()) -> list[tuple[Any, ...]]:
        """Run one read statement and fetch every row it returns."""
        with self.connect() as conn:
            rows = [tuple(row) for row in conn.execute(self._sql(sql), tuple(params)).fetchall()]
        with self._stats_lock:
            self.rows_fetched += len(rows)
        return rows

    def query_one(self, sql: str, params: Params = ()) -> tuple[Any, ...] | None:
        rows = self.query(sql, params)
        return rows[0] if rows else None

    def migrate(self) -> None:
        """Apply every migration file in order; they are written to be re-runnable."""
        for path in sorted(MIGRATIONS_DIR.glob("*.sql")):
            script = path.read_text()
            with self.connect() as conn:
                if self.is_postgres:
                    conn.execute(script)
                else:
                    conn.execute("PRAGMA journal_mode = WAL")
                    conn.executescript(script)
