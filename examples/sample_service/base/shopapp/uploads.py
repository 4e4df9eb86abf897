"""Upload normalisation: POST /uploads stages the body in a temp file, then processes it."""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from fastapi import APIRouter, Request

router = APIRouter()


def _normalise(path: Path) -> bytes:
    return path.read_bytes().replace(b"\r\n", b"\n")


def process_upload(data: bytes, step: Callable[[Path], bytes] = _normalise) -> bytes:
    """Stage `data` on disk, run `step` on the staged file, and clean up."""
    path = Path(tempfile.gettempdir()) / "shopapp-upload.tmp"
    path.write_bytes(data)
    try:
        return step(path)
    finally:
        if path.exists():
            os.unlink(path)


@router.post("/uploads")
async def upload(request: Request) -> dict[str, object]:
    result = process_upload(await request.body())
    return {"size": len(result), "sha256": hashlib.sha256(result).hexdigest()}
