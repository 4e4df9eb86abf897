"""Background work a binding can inject to force the paths under test.

Each stub counts how often it began, so a check can wait until the background loop is really
inside its work before it calls stop() (otherwise a stop that wins the race to the first
iteration drains cleanly and the timeout path is never taken).
"""

from __future__ import annotations

import asyncio

_entered = {"count": 0}


def entered() -> int:
    return _entered["count"]


async def never_returns() -> None:
    """Work that ignores the stop signal (it can only be cancelled): forces a drain timeout."""
    _entered["count"] += 1
    await asyncio.Event().wait()


async def raises() -> None:
    """Work that fails: the background loop dies with this error."""
    _entered["count"] += 1
    raise RuntimeError("background work failed (injected by the lifecycle pack)")
