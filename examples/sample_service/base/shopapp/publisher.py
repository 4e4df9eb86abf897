"""Order events pushed to the upstream event feed: POST /orders/{order_id}/events/{event}."""

from __future__ import annotations

import httpx
from fastapi import APIRouter, Request

router = APIRouter()


class Publisher:
    """Posts order events upstream; a failed post is kept as a dead letter to retry later."""

    def __init__(self, upstream_url: str, *, timeout: float = 2.0):
        self._url = upstream_url.rstrip("/")
        self._timeout = timeout
        self.dead_letters: list[dict[str, str]] = []

    def publish(self, order_id: str, event: str) -> bool:
        """True when the upstream took the event; False when it was dead-lettered."""
        try:
            response = httpx.post(f"{self._url}/events", json={"order": order_id, "event": event},
                                  timeout=self._timeout)
            response.raise_for_status()
        except httpx.HTTPError as exc:
            self.dead_letters.append({
                "order_id": order_id,
                "event": event,
                "error": type(exc).__name__,
                "failed_at": datetime.now(timezone.utc).isoformat(),
            })
            return False
        return True


@router.post("/orders/{order_id}/events/{event}")
def publish_event(order_id: str, event: str, request: Request) -> dict[str, object]:
    publisher: Publisher = request.app.state.shop.publisher
    delivered = publisher.publish(order_id, event)
    return {"order_id": order_id, "event": event, "delivered": delivered,
            "dead_letters": len(publisher.dead_letters)}
