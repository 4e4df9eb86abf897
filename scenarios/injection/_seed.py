"""Run a binding's seed statements on SQLite or PostgreSQL, so two tenants' rows exist."""

from __future__ import annotations

import importlib
import sqlite3
from collections.abc import Sequence
from contextlib import closing
from urllib.parse import urlsplit

from harness.pack import UserError


def run_statements(
    dsn: str, statements: Sequence[str], *, where: str = "binding.setup_sql"
) -> None:
    """Execute `statements` in one transaction on `dsn` (``sqlite:///path`` or PostgreSQL)."""
    scheme = urlsplit(dsn).scheme
    if scheme == "sqlite":
        path = dsn.split(":///", 1)[1] if ":///" in dsn else urlsplit(dsn).path
        with closing(sqlite3.connect(path, timeout=10)) as conn, conn:
            for sql in statements:
                conn.execute(sql)
        return
    if scheme not in ("postgres", "postgresql"):
        raise UserError(
            f"dsn={dsn!r}: unknown scheme",
            where="binding.dsn",
            hint="write sqlite:///path/to.db or postgresql://user@host/db",
        )
    psycopg = importlib.import_module("psycopg")
    with psycopg.connect(dsn) as conn:
        for sql in statements:
            conn.execute(sql)
