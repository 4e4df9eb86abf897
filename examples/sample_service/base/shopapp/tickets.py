"""Short-lived auth tickets, capped per user: POST /tickets."""

from __future__ import annotations

import time
import uuid

from fastapi import APIRouter, HTTPException, Request
from pydantic import BaseModel

from .db import Database

router = APIRouter()


class TicketLimitExceededError(Exception):
    """The user already holds the maximum number of pending tickets."""


class TicketStore:
    def __init__(self, db: Database, max_pending: int = 5):
        if max_pending < 1:
            raise ValueError(f"max_pending={max_pending!r}: must be at least 1")
        self._db = db
        self.max_pending = max_pending

    def pending_count(self, user_id: str) -> int:
        row = self._db.query_one(
            "SELECT COUNT(*) FROM tickets WHERE user_id = ? AND used = 0", (user_id,)
        )
        return int(row[0]) if row else 0

    def create(self, user_id: str) -> str:
        """Issue a ticket unless the user already holds `max_pending` unused ones."""
        if self.pending_count(user_id) >= self.max_pending:
            raise TicketLimitExceededError(user_id)
        ticket_id = uuid.uuid4().hex
        self._db.execute(
            "INSERT INTO tickets (id, user_id, used, created_at) VALUES (?, ?, 0, ?)",
            (ticket_id, user_id, time.time()),
        )
        return ticket_id


class TicketRequest(BaseModel):
    user_id: str


@router.post("/tickets", status_code=201)
def create_ticket(body: TicketRequest, request: Request) -> dict[str, str]:
    store: TicketStore = request.app.state.shop.tickets
    try:
        ticket_id = store.create(body.user_id)
    except TicketLimitExceededError:
        raise HTTPException(429, "too many pending tickets") from None
    return {"ticket": ticket_id}
