"""Loyalty points: POST /loyalty/{customer_id}/{program} adds points, GET reads the balance."""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel

from .db import Database

router = APIRouter()


class LoyaltyBook:
    def __init__(self, db: Database):
        self._db = db

    def award(self, customer_id: str, program: str, points: int) -> None:
        self._db.execute(
            "INSERT INTO loyalty_points (customer_id, program, points) VALUES (?, ?, ?)"
            " ON CONFLICT (customer_id)"
            " DO UPDATE SET points = loyalty_points.points + excluded.points",
            (customer_id, program, points),
        )

    def balance(self, customer_id: str, program: str) -> int:
        row = self._db.query_one(
            "SELECT points FROM loyalty_points WHERE customer_id = ? AND program = ?",
            (customer_id, program),
        )
        return int(row[0]) if row else 0


class Award(BaseModel):
    points: int


@router.post("/loyalty/{customer_id}/{program}")
def award_points(customer_id: str, program: str, body: Award,
                 request: Request) -> dict[str, object]:
    book: LoyaltyBook = request.app.state.shop.loyalty
    book.award(customer_id, program, body.points)
    return {"customer_id": customer_id, "program": program,
            "points": book.balance(customer_id, program)}
