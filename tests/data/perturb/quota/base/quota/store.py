"""A per-key quota: at most `limit` grants per key."""


class QuotaStore:
    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used: dict[str, int] = {}

    def acquire(self, key: str) -> bool:
        used = self.used.get(key, 0)
        if used >= self.limit:
            return False
        self.used[key] = used + 1
        return True
