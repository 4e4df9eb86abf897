"""Accepts each submission id once."""


class MemoryBackend:
    def __init__(self) -> None:
        self.saved: list[str] = []

    async def save(self, sid: str) -> None:
        self.saved.append(sid)


class Inbox:
    def __init__(self, backend: MemoryBackend) -> None:
        self.backend = backend
        self.seen: set[str] = set()

    async def submit(self, sid: str) -> bool:
        if sid in self.seen:
            return False
        await self.backend.save(sid)
        self.seen.add(sid)
        return True
