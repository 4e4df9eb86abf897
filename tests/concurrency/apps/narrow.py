"""Count-then-insert stores with a window a few bytecodes wide (nothing releases the GIL)."""

import threading


class BuggyStore:
    def __init__(self, cap: int):
        self.cap = cap
        self.items: dict[int, bool] = {}

    def create(self, key: int) -> int:
        if len(self.items) >= self.cap:
            raise OverflowError("cap reached")
        self.items[key] = True
        return key


class FixedStore(BuggyStore):
    def __init__(self, cap: int):
        super().__init__(cap)
        self._lock = threading.Lock()

    def create(self, key: int) -> int:
        with self._lock:
            if len(self.items) >= self.cap:
                raise OverflowError("cap reached")
            self.items[key] = True
            return key
