"""Download of generated export files: GET /exports/{name}."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import PlainTextResponse

router = APIRouter()


def read_export(export_dir: str | Path, name: str) -> str:
    """Return the text of export `name`; FileNotFoundError when there is none."""
    path = f"{export_dir}/{name}"
    with open(path, encoding="utf-8") as fh:
        return fh.read()


@router.get("/exports/{name:path}", response_class=PlainTextResponse)
def download_export(name: str, request: Request) -> str:
    try:
        return read_export(request.app.state.shop.settings.export_dir, name)
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        raise HTTPException(404, "no such export") from None
