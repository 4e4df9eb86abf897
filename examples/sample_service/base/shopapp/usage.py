"""Per-account daily request counters: POST /usage/{account_id}."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Request

from .db import Database

router = APIRouter()


class UsageCounter:
    def __init__(self, db: Database):
        self._db = db

    def record(self, account_id: str, day: dt.date, requests: int = 1) -> None:
        self._db.execute(
            "INSERT INTO daily_usage (account_id, day, requests) VALUES (?, ?, ?)"
            " ON CONFLICT (account_id, day)"
            " DO UPDATE SET requests = daily_usage.requests + excluded.requests",
            (account_id, day.isoformat(), requests),
        )

    def total(self, account_id: str, day: dt.date) -> int:
        rows = self._db.query(
            "SELECT requests FROM daily_usage WHERE account_id = ? AND day = ?",
            (account_id, day.isoformat()),
        )
        return sum(int(r[0]) for r in rows)


@router.post("/usage/{account_id}")
def record_usage(account_id: str, request: Request) -> dict[str, object]:
    counter: UsageCounter = request.app.state.shop.usage
    today = dt.date.today()
    counter.record(account_id, today)
    return {"account_id": account_id, "day": today.isoformat(),
            "requests": counter.total(account_id, today)}
