"""On-demand backups: POST /backups (clients send an Idempotency-Key header)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from .db import Database

router = APIRouter()


class BackupService:
    def __init__(self, db: Database, runner: Callable[[str], None] | None = None):
        self._db = db
        # The step that actually copies data; swapped out in tests and dry runs.
        self.runner: Callable[[str], None] = runner or (lambda target: None)

    def count(self) -> int:
        row = self._db.query_one("SELECT COUNT(*) FROM backups")
        return int(row[0]) if row else 0

    def create(self, target: str) -> dict[str, str]:
        self.runner(target)
        backup_id = uuid.uuid4().hex
        self._db.execute(
            "INSERT INTO backups (id, target, created_at) VALUES (?, ?, ?)",
            (backup_id, target, time.time()),
        )
        return {"backup_id": backup_id, "target": target}

    def handle(self, key: str | None, target: str) -> tuple[int, dict[str, str]]:
        """Run a backup request; returns (status code, response body)."""
        return 201, self.create(target)


class BackupRequest(BaseModel):
    target: str


@router.post("/backups")
def create_backup(body: BackupRequest, request: Request) -> JSONResponse:
    service: BackupService = request.app.state.shop.backups
    status, payload = service.handle(request.headers.get("Idempotency-Key"), body.target)
    return JSONResponse(payload, status_code=status)
