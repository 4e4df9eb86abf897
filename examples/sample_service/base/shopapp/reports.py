"""Back-office reports: GET /reports/summary."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from .db import Database

router = APIRouter()


def build_summary(db: Database) -> dict[str, Any]:
    rows = db.query("SELECT used, COUNT(*) FROM tickets GROUP BY used")
    counts = {bool(used): int(n) for used, n in rows}
    return {"pending": counts.get(False, 0), "used": counts.get(True, 0)}


@router.get("/reports/summary")
async def summary(request: Request) -> dict[str, Any]:
    db: Database = request.app.state.shop.db
    return build_summary(db)
