"""The replay pack on small in-process guards and dedup hubs, one bug per variant."""

from __future__ import annotations

import math
import re
import textwrap
import threading
import time
from collections import Counter, OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

import scenarios.replay  # noqa: F401 - registers the checks
from harness.errors import UserError
from harness.scenario import run
from harness.targets import TargetSpec, launch
from tests.packs.support import findings_apart, in_process, serve_app


@dataclass(eq=False)
class Guard:
    """Replay protection done right, unless ``bug`` names the one thing it gets wrong."""

    bug: str = ""
    window: float = 300.0
    max_entries: int = 64
    clock: Callable[[], float] = time.time
    _seen: OrderedDict[str, float] = field(default_factory=OrderedDict, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def __len__(self) -> int:
        return len(self._seen)

    def check(self, nonce: str, timestamp: float) -> bool:
        now = self.clock()
        if self.bug != "no-freshness":
            if not math.isfinite(timestamp) or abs(now - timestamp) > self.window:
                return False
            if len(nonce) > 256:
                return False
        if self.bug == "unlocked":
            return self._record(nonce, timestamp, now)
        with self._lock:
            return self._record(nonce, timestamp, now)

    def _record(self, nonce: str, timestamp: float, now: float) -> bool:
        self._evict(now)
        if nonce in self._seen:
            return False
        self._seen[nonce] = timestamp
        if self.bug != "unbounded":
            while len(self._seen) > self.max_entries:
                self._seen.popitem(last=False)
        return True

    def _evict(self, now: float) -> None:
        if self.bug == "ordered-eviction":
            while self._seen:
                nonce, stamp = next(iter(self._seen.items()))
                if now - stamp <= self.window:
                    break
                del self._seen[nonce]
            return
        for nonce in [n for n, t in self._seen.items() if now - t > self.window]:
            del self._seen[nonce]


GUARD = {"call": "check", "bound": 64, "budget": 1.0}


def check(name: str, factory: Any, binding: dict[str, Any], **kwargs: Any) -> str | None:
    return in_process(name, binding, factory, within=30, **kwargs)


@pytest.mark.parametrize(
    ("name", "bug", "says"),
    [
        ("replay.nonce_once", "unlocked", "concurrent deliveries of one nonce were accepted"),
        ("replay.freshness", "no-freshness", "NaN timestamp -> returned True"),
        ("replay.bounded_memory", "unbounded", "above its bound 64"),
        ("replay.out_of_order_eviction", "ordered-eviction", "only 2 are inside"),
    ],
)
def test_each_check_fails_on_its_bug_and_passes_on_the_correct_guard(
    name: str, bug: str, says: str
) -> None:
    failure = check(name, Guard, GUARD, bug=bug)
    assert failure is not None, f"{name} passed on the {bug!r} guard"
    assert failure.startswith(f"{name}: ") and says in failure
    assert check(name, Guard, GUARD) is None


def test_state_checks_refuse_an_http_binding() -> None:
    with launch(TargetSpec(kind="python", factory=Guard)) as target:
        with pytest.raises(UserError, match=r"binding\.call='POST /webhooks'.*in-process call"):
            run("replay.bounded_memory", {"call": "POST /webhooks"}, target)


class Hub:
    """A per-session dedup window (seeds/002 EventStreamHub), optionally with one bug."""

    def __init__(
        self,
        bug: str = "",
        dedup_ttl_seconds: float = 60.0,
        dedup_max_entries_per_session: int = 100,
        clock: Callable[[], float] = time.time,
    ):
        self.bug = bug
        self.ttl = dedup_ttl_seconds
        self.max_entries = dedup_max_entries_per_session
        self.clock = clock
        self.subscribers: Counter[str] = Counter()
        self.seen: dict[str, OrderedDict[str, float]] = {}
        self.delivered: list[tuple[str, str]] = []
        self._next = 0

    def subscribe(self, session: str) -> int:
        self.subscribers[session] += 1
        self._next += 1
        return self._next

    def unsubscribe(self, session: str, token: int) -> None:
        self.subscribers[session] -= 1
        if self.subscribers[session] == 0 and self.bug != "keeps-window":
            self.seen.pop(session, None)

    async def publish(self, session: str, event_id: str) -> bool:
        now = self.clock()
        if self.subscribers[session] == 0 and self.bug != "records-without-subscribers":
            return False
        window = self.seen.setdefault(session, OrderedDict())
        if self.ttl > 0 or self.bug == "ttl-zero-expires":
            for key in [k for k, t in window.items() if now - t >= self.ttl]:
                del window[key]
        fresh = event_id not in window
        if fresh:  # recorded even with no one to deliver to, and trimmed oldest first
            window[event_id] = now
            while len(window) > self.max_entries:
                window.popitem(last=False)
        if not fresh or self.subscribers[session] == 0:
            return False
        self.delivered.append((session, event_id))
        return True

    def window_size(self, session: str) -> int:
        return len(self.seen.get(session, ()))


WINDOW = {"examples": 25, "steps": 20}


@pytest.mark.parametrize(
    ("bug", "says"),
    [
        ("ttl-zero-expires", "ttl=0"),
        ("records-without-subscribers", "no subscribers"),
        ("keeps-window", "no subscribers"),
    ],
)
def test_the_dedup_window_state_machine_finds_each_bug(bug: str, says: str) -> None:
    failure = check("replay.dedup_window", Hub, WINDOW, bug=bug)
    assert failure is not None, f"the state machine missed {bug!r}"
    assert says in failure


def test_the_dedup_window_state_machine_passes_a_correct_hub() -> None:
    assert check("replay.dedup_window", Hub, WINDOW) is None


# --- precision: a crash on a bad delivery is not an acceptance ---------------------------------


class CrashingGuard(Guard):
    """Correct about replays and freshness, but crashes on what it should refuse politely."""

    def check(self, nonce: str, timestamp: float) -> bool:
        if not math.isfinite(timestamp):
            raise OverflowError("cannot convert float infinity or NaN to a window slot")
        if self.bug == "always-crashes":
            raise RuntimeError("the nonce store is down")
        return super().check(nonce, timestamp)


def test_freshness_reports_a_crash_on_a_non_finite_timestamp_apart() -> None:
    from harness.findings import collect

    with collect() as seen:
        assert check("replay.freshness", CrashingGuard, GUARD) is None
    assert [f.problem for f in seen] == [
        f"{name} timestamp -> raised OverflowError: cannot convert float infinity or NaN to a "
        "window slot"
        for name in ("NaN", "inf", "-inf")
    ]
    assert seen[0].repro.startswith("CrashingGuard.check(")
    failure = check("replay.freshness", CrashingGuard, {**GUARD, "server_errors": "fail"})
    assert failure is not None and 'server_errors = "fail"' in failure
    # The guard with no freshness at all still fails, and leads with what it accepted.
    failure = check("replay.freshness", Guard, GUARD, bug="no-freshness")
    assert failure is not None and "stale timestamp -> returned True" in failure


def test_bounded_memory_cannot_judge_a_guard_that_takes_no_nonce() -> None:
    failure = check("replay.bounded_memory", CrashingGuard, GUARD, bug="always-crashes")
    assert failure is not None and "the check cannot judge its bound" in failure


WEBHOOK_APP = textwrap.dedent("""
    import threading

    from fastapi import FastAPI, Header, HTTPException

    app = FastAPI()
    seen = set()
    lock = threading.Lock()

    @app.get("/healthz")
    def healthz():
        return {"status": "ok"}

    @app.post("/webhooks")
    def webhook(x_nonce: str = Header()):
        with lock:
            if x_nonce in seen:
                # Refused, but by crashing: the replay store raises on a duplicate key.
                raise HTTPException(500, "duplicate key value violates unique constraint")
            seen.add(x_nonce)
        return {"accepted": True}
""")


@pytest.mark.timeout(90)
def test_nonce_once_over_http_reports_a_5xx_replay_apart(tmp_path: Path) -> None:
    binding = {
        "call": "POST /webhooks",
        "headers": {"X-Nonce": "{nonce}"},
        "accept": [200],
        "reject": [409],
        "workers": 4,
        "budget": 1.0,
        "max_attempts": 5,
    }
    with serve_app(tmp_path, "webhook_app", WEBHOOK_APP) as target:
        seen = findings_apart("replay.nonce_once", binding, target)
    problems = [f.problem for f in seen]
    assert problems[0].startswith("the replay of an accepted nonce -> HTTP 500 "), problems
    assert seen[0].repro.startswith("curl ") and "x-nonce: " in seen[0].repro
    assert re.match(
        r"\d+ of \d+ answers to POST /webhooks in \d+ of \d+ attempt\(s\) "
        r"were HTTP 500",
        problems[-1],
    ), problems
