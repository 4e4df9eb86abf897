"""Listens, but its health check always answers 503."""

from __future__ import annotations

from typing import Any

from asgi_util import make_app

print("never-healthy app: waiting for a database that never comes", flush=True)


async def healthz(scope: dict[str, Any]) -> tuple[int, Any]:
    return 503, {"ok": False}


app = make_app({"/healthz": healthz})
