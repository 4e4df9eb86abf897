"""Ledger totals over a booking window: GET /ledger/{account_id}/total."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from decimal import Decimal

from fastapi import APIRouter, HTTPException, Request

from .db import Database

router = APIRouter()


@dataclass(frozen=True)
class Entry:
    amount: Decimal
    currency: str
    booked_at: float


def total_in_window(entries: list[Entry], start: float, end: float) -> tuple[Decimal, str | None]:
    """Sum the amounts booked in [start, end); returns (total, currency)."""
    in_window = [e for e in entries if start <= e.booked_at < end]
    total = sum((e.amount for e in in_window), Decimal(0))
    currency = in_window[0].currency if in_window else None
    return total, currency


class Ledger:
    def __init__(self, db: Database):
        self._db = db

    def book(self, account_id: str, amount: Decimal, currency: str,
             booked_at: float | None = None) -> None:
        self._db.execute(
            "INSERT INTO ledger_entries (id, account_id, amount, currency, booked_at)"
            " VALUES (?, ?, ?, ?, ?)",
            (uuid.uuid4().hex, account_id, str(amount), currency,
             time.time() if booked_at is None else booked_at),
        )

    def entries(self, account_id: str) -> list[Entry]:
        rows = self._db.query(
            "SELECT amount, currency, booked_at FROM ledger_entries WHERE account_id = ?",
            (account_id,),
        )
        return [Entry(Decimal(str(a)), c, float(t)) for a, c, t in rows]


@router.get("/ledger/{account_id}/total")
def ledger_total(account_id: str, request: Request, start: float = 0.0,
                 end: float = float("inf")) -> dict[str, object]:
    ledger: Ledger = request.app.state.shop.ledger
    try:
        total, currency = total_in_window(ledger.entries(account_id), start, end)
    except ValueError as exc:
        raise HTTPException(409, str(exc)) from None
    return {"account_id": account_id, "total": str(total), "currency": currency}
