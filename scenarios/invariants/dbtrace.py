"""Run a program with its database fetches traced: ``python -m scenarios.invariants.dbtrace -m uvicorn ...``.

Rows fetched through sqlite3 and psycopg cursors are appended to the file named by
``FIXGUARD_DBTRACE``, one ``<rows>\\t<bytes>`` line per fetch call, so a check can tell how many
rows an endpoint pulled out of the database. The hooks wrap the driver, not the app: no change
to the code under test.
"""

from __future__ import annotations

import os
import runpy
import sqlite3
import sys
import threading
from typing import Any

ENV = "FIXGUARD_DBTRACE"
_lock = threading.Lock()


def _record(rows: list[Any] | tuple[Any, ...] | None, path: str) -> None:
    if rows is None:
        return
    count = len(rows)
    size = sum(len(repr(r)) for r in rows)
    with _lock, open(path, "a", encoding="ascii") as fh:
        fh.write(f"{count}\t{size}\n")


def _install_sqlite(path: str) -> None:
    class TracingCursor(sqlite3.Cursor):
        def fetchone(self) -> Any:
            row = super().fetchone()
            _record([] if row is None else [row], path)
            return row

        def fetchmany(self, size: int | None = None) -> list[Any]:
            rows = super().fetchmany(self.arraysize if size is None else size)
            _record(rows, path)
            return rows

        def fetchall(self) -> list[Any]:
            rows = super().fetchall()
            _record(rows, path)
            return rows

        def __next__(self) -> Any:
            row = super().__next__()
            _record([row], path)
            return row

    class TracingConnection(sqlite3.Connection):
        # Connection.execute() makes its cursor in C, bypassing cursor(): route it through.
        def cursor(self, factory: Any = TracingCursor) -> Any:
            return super().cursor(factory)

        def execute(self, sql: str, parameters: Any = (), /) -> Any:
            return self.cursor().execute(sql, parameters)

        def executemany(self, sql: str, parameters: Any, /) -> Any:
            return self.cursor().executemany(sql, parameters)

    original = sqlite3.connect

    def connect(*args: Any, **kwargs: Any) -> sqlite3.Connection:
        kwargs.setdefault("factory", TracingConnection)
        return original(*args, **kwargs)

    sqlite3.connect = connect  # type: ignore[assignment]


def _install_psycopg(path: str) -> None:
    try:
        import psycopg
    except ImportError:
        return
    cursor = psycopg.Cursor
    fetchone, fetchmany, fetchall = cursor.fetchone, cursor.fetchmany, cursor.fetchall

    def traced_fetchone(self: Any) -> Any:
        row = fetchone(self)
        _record([] if row is None else [row], path)
        return row

    def traced_fetchmany(self: Any, size: int = 0) -> Any:
        rows = fetchmany(self, size)
        _record(rows, path)
        return rows

    def traced_fetchall(self: Any) -> Any:
        rows = fetchall(self)
        _record(rows, path)
        return rows

    cursor.fetchone = traced_fetchone  # type: ignore[method-assign]
    cursor.fetchmany = traced_fetchmany  # type: ignore[method-assign]
    cursor.fetchall = traced_fetchall  # type: ignore[method-assign]


def install(path: str) -> None:
    """Trace every fetch of this process into `path` (created empty now)."""
    open(path, "a").close()
    _install_sqlite(path)
    _install_psycopg(path)


def read(path: str, offset: int = 0) -> tuple[int, int, int]:
    """(rows, bytes, fetch calls) recorded after byte `offset` of the trace file."""
    with open(path, encoding="ascii") as fh:
        fh.seek(offset)
        lines = [line.split("\t") for line in fh.read().splitlines() if line]
    return sum(int(r) for r, _ in lines), sum(int(b) for _, b in lines), len(lines)


def main() -> None:
    path = os.environ.get(ENV)
    if not path:
        sys.exit(f"{ENV} is not set: name the file the trace goes to")
    if len(sys.argv) < 3 or sys.argv[1] != "-m":
        sys.exit("usage: python -m scenarios.invariants.dbtrace -m module [args...]")
    install(path)
    module = sys.argv[2]
    sys.argv = [module, *sys.argv[3:]]
    runpy.run_module(module, run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
