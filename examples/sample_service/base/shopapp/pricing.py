"""Live prices from the upstream pricing service: GET /prices/{sku}."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import APIRouter, HTTPException, Request

router = APIRouter()


async def fetch_price(base_url: str, sku: str) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=base_url, timeout=None) as client:
        response = await client.get(f"/prices/{sku}")
    if response.status_code != 200:
        raise HTTPException(502, "pricing service error")
    return {"sku": sku, "price": response.json()["price"]}


@router.get("/prices/{sku}")
async def get_price(sku: str, request: Request) -> dict[str, Any]:
    return await fetch_price(request.app.state.shop.settings.upstream_url, sku)
