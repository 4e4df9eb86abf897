"""Becomes healthy 0.3 s after startup; `/` answers with its pid."""

from __future__ import annotations

import os
import sys
import time
from typing import Any

from asgi_util import make_app

started = time.monotonic()
print("hello app: booting", flush=True)
print("hello app: to stderr", file=sys.stderr, flush=True)


async def healthz(scope: dict[str, Any]) -> tuple[int, Any]:
    ready = time.monotonic() - started > 0.3
    return (200, {"ok": True}) if ready else (503, {"ok": False})


async def index(scope: dict[str, Any]) -> tuple[int, Any]:
    return 200, {"pid": os.getpid()}


app = make_app({"/healthz": healthz, "/": index})
