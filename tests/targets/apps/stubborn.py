"""Ignores SIGTERM once started, so only SIGKILL stops it."""

from __future__ import annotations

import signal
from typing import Any

from asgi_util import make_app


def ignore_sigterm() -> None:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    print("stubborn app: ignoring SIGTERM", flush=True)


async def healthz(scope: dict[str, Any]) -> tuple[int, Any]:
    return 200, {"ok": True}


app = make_app({"/healthz": healthz}, on_startup=ignore_sigterm)
