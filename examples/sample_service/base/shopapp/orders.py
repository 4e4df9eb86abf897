"""Order listing: GET /orders."""

from __future__ import annotations

from fastapi import APIRouter, Request

from .db import Database

router = APIRouter()


class OrderBook:
    def __init__(self, db: Database):
        self._db = db

    def add(self, order_id: str, customer: str, total_cents: int, created_at: float) -> None:
        self._db.execute(
            "INSERT INTO orders (id, customer, total_cents, created_at) VALUES (?, ?, ?, ?)",
            (order_id, customer, total_cents, created_at),
        )

    def page(self) -> list[dict[str, object]]:
        rows = self._db.query("SELECT id, customer, total_cents FROM orders ORDER BY id")
        return [{"id": r[0], "customer": r[1], "total_cents": int(r[2])} for r in rows]


@router.get("/orders")
def list_orders(request: Request) -> dict[str, object]:
    book: OrderBook = request.app.state.shop.orders
    items = book.page()
    return {"items": items, "next": None}
