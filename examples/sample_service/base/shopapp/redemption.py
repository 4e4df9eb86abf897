"""Single-use ticket redemption: POST /tickets/{ticket_id}/consume."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request

from .db import Database

router = APIRouter()


class TicketRedeemer:
    def __init__(self, db: Database):
        self._db = db

    def consume(self, ticket_id: str) -> bool:
        """Mark the ticket used; True for the one caller that redeemed it."""
        row = self._db.query_one("SELECT used FROM tickets WHERE id = ?", (ticket_id,))
        if row is None or row[0]:
            return False
        self._db.execute("UPDATE tickets SET used = 1 WHERE id = ?", (ticket_id,))
        return True


@router.post("/tickets/{ticket_id}/consume")
def consume_ticket(ticket_id: str, request: Request) -> dict[str, bool]:
    redeemer: TicketRedeemer = request.app.state.shop.redeemer
    if not redeemer.consume(ticket_id):
        raise HTTPException(409, "ticket already used or unknown")
    return {"consumed": True}
