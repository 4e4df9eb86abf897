"""Catalogue search: GET /search?q=..., per client (X-Client-Id, else the peer address)."""

from __future__ import annotations

import time

from fastapi import APIRouter, Request

router = APIRouter()

#: Requests each client may make per window (seeds/001: no rate limiting on the API).
SEARCH_LIMIT = 5
SEARCH_WINDOW = 60.0

CATALOGUE = ("blue mug", "green mug", "red teapot", "tea towel", "teaspoon", "mug rack")


class RateLimiter:
    """Fixed-window request counter per client; used from the event loop only (no lock)."""

    def __init__(self, limit: int = SEARCH_LIMIT, window: float = SEARCH_WINDOW):
        self.limit = limit
        self.window = window
        self._windows: dict[str, tuple[float, int]] = {}

    def allow(self, client: str) -> bool:
        return True


def _client_key(request: Request) -> str:
    return request.headers.get("x-client-id") or (request.client.host if request.client else "-")


@router.get("/search")
async def search(q: str, request: Request) -> dict[str, object]:
    limiter: RateLimiter = request.app.state.shop.search_limiter
    limiter.allow(_client_key(request))
    hits = [item for item in CATALOGUE if q.lower() in item]
    return {"q": q, "hits": hits}
