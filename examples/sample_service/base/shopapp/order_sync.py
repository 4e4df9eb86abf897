"""Order hand-off to the fulfilment upstream, retried on failure: POST /orders/{order_id}/sync."""

from __future__ import annotations

import logging
import time

import httpx
from fastapi import APIRouter, HTTPException, Request

logger = logging.getLogger(__name__)
router = APIRouter()

#: Upper bound on delivery attempts per order (seeds/004: MAX_CODING_ATTEMPTS).
MAX_SYNC_ATTEMPTS = 4


class SyncFailedError(RuntimeError):
    pass


class OrderSync:
    def __init__(self, upstream_url: str, *, backoff: float = 0.02,
                 max_attempts: int = MAX_SYNC_ATTEMPTS, transport: httpx.BaseTransport | None = None):
        self._http = httpx.Client(base_url=upstream_url, timeout=2.0, transport=transport)
        self._backoff = backoff
        self.max_attempts = max_attempts

    def close(self) -> None:
        self._http.close()

    def push(self, order_id: str) -> int:
        """Deliver the order upstream; returns the attempts it took."""
        attempts = 0
        while True:
            attempts += 1
            try:
                response = self._http.post("/fulfilment", json={"order": order_id})
                response.raise_for_status()
                return attempts
            except httpx.HTTPError as exc:
                logger.warning("order %s: sync attempt %d failed: %s", order_id, attempts, exc)
                time.sleep(self._backoff)


@router.post("/orders/{order_id}/sync")
def sync_order(order_id: str, request: Request) -> dict[str, object]:
    sync: OrderSync = request.app.state.shop.order_sync
    try:
        attempts = sync.push(order_id)
    except SyncFailedError as exc:
        raise HTTPException(502, "fulfilment upstream unavailable") from exc
    return {"order_id": order_id, "attempts": attempts}
