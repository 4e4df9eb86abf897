"""Readiness details for operators: GET /health (unauthenticated)."""

from __future__ import annotations

import os
import platform
import sys
from typing import Any

from fastapi import APIRouter, Request

from . import __version__

router = APIRouter()


@router.get("/health")
def health(request: Request) -> dict[str, Any]:
    shop = request.app.state.shop
    return {
        "status": "ok",
        "version": __version__,
        "python": sys.version,
        "platform": platform.platform(),
        "database": shop.db.url,
        "data_dir": str(shop.settings.data_dir),
        "environment": shop.settings.environment,
        "env": {k: v for k, v in os.environ.items() if k.startswith("SHOPAPP_")},
    }
