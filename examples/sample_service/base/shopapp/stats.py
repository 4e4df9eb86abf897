"""Operational counters: GET /stats."""

from __future__ import annotations

from fastapi import APIRouter, Request

from .db import Database

router = APIRouter()


def ticket_count(db: Database) -> int:
    rows = db.query("SELECT id FROM tickets")
    return len(rows)


@router.get("/stats")
def stats(request: Request) -> dict[str, int]:
    return {"tickets": ticket_count(request.app.state.shop.db)}
