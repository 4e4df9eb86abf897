"""A ledger of started process groups, so that groups left by a killed run are reaped later.

Teardown and the atexit hook cover every normal exit, Ctrl-C included. A harness killed with
SIGKILL (a CI step timeout, the OOM killer) runs neither, and its targets live on in their own
sessions. Each process target therefore writes one small record while it runs; the next
process target that starts (or `python -m harness.targets.ledger`) kills the groups whose
owner is gone.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
import tempfile
from pathlib import Path
from typing import Any

import psutil


def ledger_dir() -> Path:
    """One folder per user, under the system temp dir (or $FIXGUARD_LEDGER_DIR)."""
    override = os.environ.get("FIXGUARD_LEDGER_DIR")
    if override:
        return Path(override)
    return Path(tempfile.gettempdir()) / f"fixguard-targets-{os.getuid()}"


def _create_time(pid: int) -> float | None:
    try:
        return float(psutil.Process(pid).create_time())
    except psutil.NoSuchProcess:
        return None


def record(pgid: int, command: str) -> Path | None:
    """Note that this process owns group `pgid`; returns the record to `forget` at teardown."""
    folder = ledger_dir()
    entry = {
        "pgid": pgid,
        "leader_started": _create_time(pgid),
        "owner": os.getpid(),
        "owner_started": _create_time(os.getpid()),
        "command": command,
    }
    path = folder / f"{pgid}.json"
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(entry))
        tmp.replace(path)
    except OSError:
        return None  # best effort: teardown does not depend on the ledger
    return path


def forget(path: Path | None) -> None:
    if path is not None:
        with contextlib.suppress(OSError):
            path.unlink()


def _owner_alive(entry: dict[str, Any]) -> bool:
    started = _create_time(int(entry["owner"]))
    return started is not None and started == entry.get("owner_started")


def _descendants(pid: int) -> list[psutil.Process]:
    try:
        return list(psutil.Process(pid).children(recursive=True))
    except psutil.Error:
        return []


def reap() -> list[dict[str, Any]]:
    """Kill (SIGKILL) every recorded group whose owner has died; returns their records."""
    folder = ledger_dir()
    reaped: list[dict[str, Any]] = []
    if not folder.is_dir():
        return reaped
    for path in folder.glob("*.json"):
        try:
            entry = json.loads(path.read_text())
            pgid = int(entry["pgid"])
        except (OSError, ValueError, KeyError, TypeError):
            forget(path)
            continue
        if _owner_alive(entry):
            continue
        leader_started = _create_time(pgid)
        # Linux never hands out a pid that is still some group's id, so a *different* process
        # with this pid means our group is gone; only then is the number someone else's.
        if leader_started is None or leader_started == entry.get("leader_started"):
            # Children that left the group with setsid are still the leader's descendants.
            strays = _descendants(pgid) if leader_started is not None else []
            try:
                os.killpg(pgid, signal.SIGKILL)
                reaped.append(entry)
            except (ProcessLookupError, PermissionError):
                pass
            for proc in strays:
                with contextlib.suppress(psutil.Error):
                    proc.kill()
        forget(path)
    return reaped


if __name__ == "__main__":  # pragma: no cover - a manual clean-up command
    for gone in reap():
        print(f"killed process group {gone['pgid']}: {gone['command']}")
    sys.exit(0)
