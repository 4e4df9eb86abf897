"""Resource counters: fds, sockets and threads (this process or a target's pid), asyncio tasks,
DB connections (``pg_stat_activity`` or a pool-stats callable).

Every counter reads one integer, and can list what it counts (``items()``), so a leak report
can show *what* is new since the baseline (a file path, a socket's peer, a task's coroutine),
not just how many.
"""

from __future__ import annotations

import asyncio
import os
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any

import psutil

from ..errors import UserError
from ..imports import import_extra


class Counter(ABC):
    """One kind of resource. `read()` is the count; `items()` names each counted resource."""

    #: Short name used in bindings (``tolerance = { fds = 2 }``) and reports.
    name: str = ""

    @abstractmethod
    def read(self) -> int: ...

    def items(self) -> list[str]:
        """A description of each counted resource (may be empty when it cannot be listed)."""
        return []

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


def _process(pid: int | None) -> psutil.Process:
    try:
        return psutil.Process(pid if pid is not None else os.getpid())
    except psutil.NoSuchProcess:
        raise UserError(f"pid={pid}: no such process (did the target exit?)", where="pid") from None


def _fd_targets(pid: int | None) -> list[str]:
    """What each open fd of `pid` points to (`/proc/<pid>/fd`); [] where /proc is missing."""
    folder = f"/proc/{pid if pid is not None else 'self'}/fd"
    found: list[str] = []
    try:
        names = os.listdir(folder)
    except OSError:
        return found
    for name in names:
        try:
            found.append(os.readlink(f"{folder}/{name}"))
        except OSError:
            continue  # closed while we looked (or the listdir fd itself)
    return found


class _ProcessCounter(Counter):
    """Counts something of this process (`pid=None`) or of the process `pid`."""

    def __init__(self, pid: int | None = None) -> None:
        self.pid = pid

    def __repr__(self) -> str:
        return f"{type(self).__name__}(pid={self.pid})"


class FdCounter(_ProcessCounter):
    """Open file descriptors of this process (`pid=None`) or of the process `pid`."""

    name = "fds"

    def read(self) -> int:
        return _process(self.pid).num_fds()

    def items(self) -> list[str]:
        return sorted(t for t in _fd_targets(self.pid) if not t.startswith("socket:"))


class SocketCounter(_ProcessCounter):
    """Sockets (inet and unix) held by this process or by `pid`."""

    name = "sockets"

    def read(self) -> int:
        targets = _fd_targets(self.pid)
        if targets:
            return sum(t.startswith("socket:") for t in targets)
        return len(_process(self.pid).net_connections(kind="all"))

    def items(self) -> list[str]:
        try:
            conns = _process(self.pid).net_connections(kind="inet")
        except psutil.AccessDenied:
            return []
        out = []
        for c in conns:
            peer = f"{c.raddr.ip}:{c.raddr.port}" if c.raddr else "-"
            local = f"{c.laddr.ip}:{c.laddr.port}" if c.laddr else "-"
            out.append(f"tcp {local} -> {peer} {c.status}")
        return sorted(out)


class ThreadCounter(_ProcessCounter):
    """Threads: Python threads of this process, or every OS thread of `pid`."""

    name = "threads"

    def read(self) -> int:
        if self.pid is None:
            return threading.active_count()
        return _process(self.pid).num_threads()

    def items(self) -> list[str]:
        if self.pid is None:
            return sorted(t.name for t in threading.enumerate())
        return []


def _task_name(task: asyncio.Task[Any]) -> str:
    coro = task.get_coro()
    qualname = getattr(coro, "__qualname__", type(coro).__name__)
    return f"{task.get_name()} ({qualname})"


class TaskCounter(Counter):
    """Pending asyncio tasks of `loop` (the running loop when None)."""

    name = "tasks"

    def __init__(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        self.loop = loop

    def _tasks(self) -> set[asyncio.Task[Any]]:
        return {t for t in asyncio.all_tasks(self.loop) if not t.done()}

    def read(self) -> int:
        return len(self._tasks())

    def items(self) -> list[str]:
        return sorted(_task_name(t) for t in self._tasks())


class PgConnectionCounter(Counter):
    """Client connections to `database` in ``pg_stat_activity`` (our own session excluded).

    Needs psycopg (``pip install 'fixguard[postgres]'``). `application_name`, when set, only
    counts connections that announced that name.
    """

    name = "db_connections"

    def __init__(self, dsn: str, database: str, application_name: str | None = None) -> None:
        self.dsn = dsn
        self.database = database
        self.application_name = application_name
        self._conn: Any = None

    def _connection(self) -> Any:
        if self._conn is None or self._conn.closed:
            psycopg = import_extra(
                "psycopg",
                needed_by=f"dsn={self.dsn!r}: counting PostgreSQL connections",
                extra="postgres",
                field="binding.dsn",
            )
            self._conn = psycopg.connect(self.dsn, autocommit=True)
        return self._conn

    def _rows(self) -> list[tuple[Any, ...]]:
        sql = (
            "SELECT pid, state, application_name, left(query, 80) FROM pg_stat_activity "
            "WHERE datname = %s AND backend_type = 'client backend' AND pid <> pg_backend_pid()"
        )
        params: list[Any] = [self.database]
        if self.application_name is not None:
            sql += " AND application_name = %s"
            params.append(self.application_name)
        return list(self._connection().execute(sql, params).fetchall())

    def read(self) -> int:
        return len(self._rows())

    def items(self) -> list[str]:
        return sorted(
            f"pid {p} {state} app={app!r} last query {q!r}" for p, state, app, q in self._rows()
        )

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def __repr__(self) -> str:
        return f"PgConnectionCounter(database={self.database!r})"


class CallableCounter(Counter):
    """A count returned by a user function, e.g. a pool's ``checkedout()`` (pool stats)."""

    def __init__(self, name: str, func: Callable[[], int]) -> None:
        self.name = name
        self._func = func

    def read(self) -> int:
        value = self._func()
        if isinstance(value, bool) or not isinstance(value, int):
            raise UserError(
                f"{self.name}: the counter returned {value!r}, not an int",
                where=f"binding.{self.name}",
            )
        return value

    def __repr__(self) -> str:
        return f"CallableCounter({self.name!r})"
