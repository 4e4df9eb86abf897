"""A background poller with start()/stop(), run by the app for its whole lifetime."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

logger = logging.getLogger(__name__)


async def _noop() -> None:
    await asyncio.sleep(0)


class PollingService:
    """Calls `work` every `interval` seconds until stopped."""

    def __init__(self, work: Callable[[], Awaitable[None]] = _noop, *,
                 interval: float = 1.0, drain_timeout: float = 5.0):
        self._work = work
        self.interval = interval
        self.drain_timeout = drain_timeout
        self.spawned = 0
        self._task: asyncio.Task[None] | None = None
        self._stop_event = asyncio.Event()
        self._lifecycle_lock = asyncio.Lock()

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    async def _prepare(self) -> None:
        # Opens the poller's resources; yields to the loop like any real I/O would.
        await asyncio.sleep(0)

    async def _run(self, stop_event: asyncio.Event) -> None:
        self.spawned += 1
        try:
            while not stop_event.is_set():
                await self._work()
                try:
                    await asyncio.wait_for(stop_event.wait(), self.interval)
                except TimeoutError:
                    pass
        except Exception:
            logger.exception("poller died")
            raise

    async def start(self) -> None:
        if self.running:
            return
        await self._prepare()
        self._stop_event = asyncio.Event()
        self._task = asyncio.create_task(self._run(self._stop_event))

    async def stop(self) -> None:
        self._lifecycle_lock = asyncio.Lock()
        if self._task is None:
            return
        self._stop_event.set()
        try:
            await asyncio.wait_for(asyncio.shield(self._task), self.drain_timeout)
        except TimeoutError:
            logger.warning("poller did not drain within %.1fs", self.drain_timeout)
        self._task = None
