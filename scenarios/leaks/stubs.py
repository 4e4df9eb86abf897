"""Stand-ins a binding can name in ``overrides`` (``"scenarios.leaks.stubs:never_returns"``)."""

from __future__ import annotations

import asyncio
from typing import Any


async def never_returns(*args: Any, **kwargs: Any) -> None:
    """A sink or worker that never finishes: its task is still pending when close() runs.

    It sleeps on a timer (which the loop holds, like real I/O) rather than on an Event only the
    task references: such a task is garbage, and the collector may destroy it mid-check."""
    await asyncio.sleep(24 * 3600)


async def slow_sink(*args: Any, **kwargs: Any) -> None:
    """A sink that takes a second: longer than any close() should wait for it."""
    await asyncio.sleep(1.0)
