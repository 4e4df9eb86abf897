"""A per-key quota: at most `limit` grants per key."""

import threading


class QuotaStore:
    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used: dict[str, int] = {}
        self._lock = threading.Lock()

    def acquire(self, key: str) -> bool:
        with self._lock:
            used = self.used.get(key, 0)
            if used >= self.limit:
                return False
            self.used[key] = used + 1
            return True
