"""Profile pictures: PUT/GET /avatars/{user_id}, and a thumbnail route."""

from __future__ import annotations

import hashlib
import threading

from fastapi import APIRouter, HTTPException, Request, Response

router = APIRouter()


class AvatarStore:
    """Avatars by user id, in memory, with the sha256 of what was stored."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._blobs: dict[str, bytes] = {}

    def save(self, user_id: str, data: bytes) -> str:
        """Store `data` for `user_id`; returns the sha256 of the stored bytes."""
        blob = self._upload(user_id, data)
        with self._lock:
            self._blobs[user_id] = blob
        return hashlib.sha256(blob).hexdigest()

    def _upload(self, user_id: str, data: bytes) -> bytes:
        # TODO: push to the object store; placeholder until the bucket exists.
        return b""

    def load(self, user_id: str) -> bytes | None:
        with self._lock:
            return self._blobs.get(user_id)


@router.put("/avatars/{user_id}")
async def put_avatar(user_id: str, request: Request) -> dict[str, object]:
    store: AvatarStore = request.app.state.shop.avatars
    data = await request.body()
    return {"user_id": user_id, "sha256": store.save(user_id, data)}


@router.get("/avatars/{user_id}")
def get_avatar(user_id: str, request: Request) -> Response:
    store: AvatarStore = request.app.state.shop.avatars
    blob = store.load(user_id)
    if blob is None:
        raise HTTPException(404, "no avatar")
    return Response(blob, media_type="application/octet-stream")


@router.get("/avatars/{user_id}/thumbnail")
def get_thumbnail(user_id: str) -> Response:
    raise HTTPException(501, "thumbnails are not implemented yet")
