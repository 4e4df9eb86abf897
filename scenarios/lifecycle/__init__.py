"""Lifecycle: objects with async start()/stop() and one background task.

Importing this package registers its checks with ``harness.scenario``.
"""

from . import concurrent_start, drain_timeout, lock_identity, loop_errors, orphans, restart

__all__ = [
    "concurrent_start",
    "drain_timeout",
    "lock_identity",
    "loop_errors",
    "orphans",
    "restart",
]
