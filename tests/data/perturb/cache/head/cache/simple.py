"""An in-memory cache whose reads take a lock, but whose add() checks, then acts, outside it."""

import threading


class SimpleCache:
    def __init__(self) -> None:
        self._cache: dict[str, object] = {}
        self._lock = threading.RLock()

    def has(self, key: str) -> bool:
        with self._lock:
            return key in self._cache

    def add(self, key: str, value: object) -> bool:
        with self._lock:
            item = (0, value)
            if self.has(key):
                return False
            self._cache[key] = item
            return True
