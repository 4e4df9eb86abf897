"""Healthy after $HELLO_READY_AFTER seconds (default 0); `/` answers with its pid."""

from __future__ import annotations

import os
import sys
import time
from typing import Any

from asgi_util import make_app

started = time.monotonic()
READY_AFTER = float(os.environ.get("HELLO_READY_AFTER", "0"))
print("hello app: booting", flush=True)
print("hello app: to stderr", file=sys.stderr, flush=True)


async def healthz(scope: dict[str, Any]) -> tuple[int, Any]:
    ready = time.monotonic() - started >= READY_AFTER
    return (200, {"ok": True}) if ready else (503, {"ok": False})


async def index(scope: dict[str, Any]) -> tuple[int, Any]:
    return 200, {"pid": os.getpid()}


async def uptime(scope: dict[str, Any]) -> tuple[int, Any]:
    return 200, {"uptime": time.monotonic() - started}


app = make_app({"/healthz": healthz, "/": index, "/uptime": uptime})
