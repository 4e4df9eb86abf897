"""Fire-and-forget notifications to a sink (e-mail, chat, ...)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

logger = logging.getLogger(__name__)

Sink = Callable[[dict[str, Any]], Awaitable[None]]


async def _log_sink(event: dict[str, Any]) -> None:
    logger.info("notify %s", event)


class Notifier:
    def __init__(self, sink: Sink = _log_sink):
        self._sink = sink
        self.delivered = 0

    async def _deliver(self, event: dict[str, Any]) -> None:
        try:
            await self._sink(event)
            self.delivered += 1
        except Exception:
            logger.exception("notification failed: %s", event)

    def notify(self, event: dict[str, Any]) -> None:
        """Queue a notification without waiting for it."""
        asyncio.create_task(self._deliver(event))

    @property
    def in_flight(self) -> int:
        return 0

    async def aclose(self) -> None:
        """Shut down: nothing is delivered after this returns."""
        logger.info("notifier closed")
