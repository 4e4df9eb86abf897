"""Leaks: fds, sockets, threads and tasks in-process and in the target process, asyncio tasks
that outlive close, DB connections. Importing this package registers its checks."""

from . import db_connections, in_process, target_process, tasks

__all__ = ["db_connections", "in_process", "target_process", "tasks"]
