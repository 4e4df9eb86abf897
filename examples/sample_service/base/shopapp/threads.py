"""Support threads, scoped to the caller's tenant: GET /threads/{thread_id}."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Header, Request

from .db import Database

router = APIRouter()


class ThreadService:
    def __init__(self, db: Database):
        self._db = db

    def add_message(self, tenant_id: str, thread_id: str, body: str) -> None:
        self._db.execute(
            "INSERT INTO messages (id, tenant_id, thread_id, body) VALUES (?, ?, ?, ?)",
            (uuid.uuid4().hex, tenant_id, thread_id, body),
        )

    def messages(self, tenant_id: str, thread_id: str) -> list[dict[str, str]]:
        rows = self._db.query(
            "SELECT thread_id, body FROM messages"
            f" WHERE tenant_id = '{tenant_id}' AND thread_id = '{thread_id}' ORDER BY id"
        )
        return [{"thread_id": t, "body": b} for t, b in rows]


@router.get("/threads/{thread_id}")
def get_thread(thread_id: str, request: Request,
               x_tenant: str = Header(...)) -> dict[str, object]:
    service: ThreadService = request.app.state.shop.threads
    return {"thread_id": thread_id, "messages": service.messages(x_tenant, thread_id)}
