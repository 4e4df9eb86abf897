"""Starts two helper processes at startup: one in its process group, one in a new session."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

from asgi_util import make_app

children: list[subprocess.Popen[bytes]] = []
SLEEP = [sys.executable, "-c", "import time; time.sleep(300)"]


def spawn() -> None:
    children.append(subprocess.Popen(SLEEP))
    children.append(subprocess.Popen(SLEEP, start_new_session=True))


async def healthz(scope: dict[str, Any]) -> tuple[int, Any]:
    return 200, {"ok": True}


async def pids(scope: dict[str, Any]) -> tuple[int, Any]:
    return 200, [c.pid for c in children]


app = make_app({"/healthz": healthz, "/children": pids}, on_startup=spawn)
