"""Stock level sync to the upstream catalogue: PATCH /inventory/{sku}."""

from __future__ import annotations

import logging

from fastapi import APIRouter, HTTPException, Request
from pydantic import BaseModel

from .upstream import UpstreamClient

logger = logging.getLogger(__name__)
router = APIRouter()


class InventorySync:
    def __init__(self, upstream: UpstreamClient):
        self._upstream = upstream

    async def push_stock(self, sku: str, quantity: int) -> bool:
        """Send the new stock level upstream; True when the upstream accepted it."""
        await self._upstream.http.patch(f"/items/{sku}", json={"quantity": quantity})
        return True


class StockUpdate(BaseModel):
    quantity: int


@router.patch("/inventory/{sku}")
async def update_stock(sku: str, body: StockUpdate, request: Request) -> dict[str, object]:
    sync: InventorySync = request.app.state.shop.inventory
    if not await sync.push_stock(sku, body.quantity):
        raise HTTPException(502, "upstream rejected the stock update")
    return {"sku": sku, "quantity": body.quantity, "synced": True}
