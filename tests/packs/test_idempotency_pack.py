"""The idempotency pack on a small in-process backup service with one bug per variant."""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from typing import Any

import pytest
from fastapi import HTTPException

import scenarios.idempotency  # noqa: F401 - registers the checks
from harness.errors import UserError
from harness.scenario import run
from harness.targets import TargetSpec, launch
from tests.packs.support import in_process


class Backups:
    """An Idempotency-Key store done right, unless ``bug`` names the one thing it gets wrong."""

    def __init__(self, bug: str = "", raising: bool = False, throttle: bool = False):
        self.bug = bug
        self.raising = raising
        #: A rate limiter in front: every third call (the 2nd, 5th, ...) gets 429, no effect.
        self.throttle = throttle
        self.calls = 0
        self.claims: dict[str, dict[str, Any]] = {}
        self.made: Counter[str] = Counter()
        self.runner: Any = lambda payload: None
        self._lock = threading.Lock()

    def effects(self, payload: str) -> int:
        return self.made[payload]

    def handle(self, key: str | None, payload: str) -> tuple[int, dict[str, Any]]:
        if self.throttle:
            with self._lock:
                self.calls += 1
                limited = self.calls % 3 == 2
            if limited:
                return 429, {"detail": "slow down"}
        status, body = self._handle(key, payload)
        if self.raising and status >= 400:
            raise HTTPException(status, body["detail"])  # the sample's hardened fix does this
        return status, body

    def _handle(self, key: str | None, payload: str) -> tuple[int, dict[str, Any]]:
        if self.bug != "no-validation" and (key is None or not key.strip() or len(key) > 255):
            return 400, {"detail": "Idempotency-Key is required (1-255 characters)"}
        if key is None:
            return self._run(payload)
        claim = self._claim(key, payload)
        if isinstance(claim, tuple):
            return claim
        try:
            response = self._run(payload)
        except Exception:
            if self.bug != "no-rollback":
                with self._lock:
                    if self.claims.get(key) is claim:
                        del self.claims[key]
            return 500, {"detail": "backup failed"}
        claim["response"] = response
        if self.bug == "no-replay":
            del self.claims[key]
        return response

    def _claim(self, key: str, payload: str) -> dict[str, Any] | tuple[int, dict[str, Any]]:
        if self.bug == "racy":
            found = self.claims.get(key)
            if found is None:
                claim: dict[str, Any] = {"payload": payload, "response": None}
                self.claims[key] = claim
                return claim
            return self._existing(key, found, payload)
        with self._lock:
            found = self.claims.get(key)
            if found is None:
                claim = {"payload": payload, "response": None}
                self.claims[key] = claim
                return claim
            return self._existing(key, found, payload)

    def _existing(
        self, key: str, found: dict[str, Any], payload: str
    ) -> tuple[int, dict[str, Any]]:
        if self.bug != "no-fingerprint" and found["payload"] != payload:
            return 422, {"detail": "Idempotency-Key reused with another payload"}
        if found["response"] is None:
            if self.bug == "loser-deletes":
                del self.claims[key]  # the loser's cleanup releases a claim it does not own
            return 409, {"detail": "a request with this key is in flight"}
        status, body = found["response"]
        return status, body

    def _run(self, payload: str) -> tuple[int, dict[str, Any]]:
        self.runner(payload)
        self.made[payload] += 1
        return 201, {"backup_id": uuid.uuid4().hex, "target": payload}


BINDING = {
    "call": "handle",
    "json": "db-{key}",
    "other_json": "other-{key}",
    "effect": {"attr": "effects", "args": ["db-{key}"]},
    "fault_attr": "runner",
    "budget": 1.0,
}


CONCURRENT = "idempotency.concurrent_requests"


def check(
    name: str, bug: str = "", raising: bool = False, throttle: bool = False, **binding: Any
) -> str | None:
    kwargs = {"bug": bug, "raising": raising, "throttle": throttle}
    return in_process(name, {**BINDING, **binding}, Backups, within=15, **kwargs)


#: check -> (the bug that breaks it, what its failure says).
BUGS = {
    "idempotency.key_validation": ("no-validation", "missing key -> 201"),
    "idempotency.replay": ("no-replay", "caused 3 effect(s)"),
    "idempotency.payload_mismatch": ("no-fingerprint", "got 201, not [422]"),
    "idempotency.concurrent_requests": ("racy", "concurrent requests with one Idempotency-Key"),
    "idempotency.failure_rollback": ("no-rollback", "the retry got 409"),
    "idempotency.loser_rollback": ("loser-deletes", "a later request got 201"),
}
#: Behind the rate limiter: its 429 costs the replay one effect, and the mismatch check runs
#: on the correct service only.
THROTTLED = {
    **{name: BUGS[name] for name in ("idempotency.key_validation", CONCURRENT)},
    "idempotency.replay": ("no-replay", "caused 2 effect(s)"),
    "idempotency.payload_mismatch": ("", ""),
}


@pytest.mark.parametrize(("name", "bug", "says"), [(name, *bug) for name, bug in BUGS.items()])
def test_each_check_fails_on_its_bug_and_passes_on_the_correct_service(
    name: str, bug: str, says: str
) -> None:
    failure = check(name, bug)
    assert failure is not None, f"{name} passed on the {bug!r} service"
    assert failure.startswith(f"{name}: ") and says in failure
    assert check(name) is None
    assert check(name, raising=True) is None, "refusals raised as HTTPException count by status"


def test_the_mismatch_check_needs_a_second_payload() -> None:
    with launch(TargetSpec(kind="python", factory=Backups)) as target:
        with pytest.raises(UserError, match=r"binding\.other_json: missing"):
            run("idempotency.payload_mismatch", {**BINDING, "other_json": None}, target)


def test_the_rollback_checks_need_the_step_after_the_claim() -> None:
    with launch(TargetSpec(kind="python", factory=Backups)) as target:
        with pytest.raises(UserError, match=r"binding\.fault_attr: missing"):
            run("idempotency.failure_rollback", {**BINDING, "fault_attr": None}, target)


def test_statuses_that_mean_two_things_are_refused() -> None:
    with launch(TargetSpec(kind="python", factory=Backups)) as target:
        with pytest.raises(UserError, match="success and in_flight share"):
            run("idempotency.replay", {**BINDING, "in_flight": [201]}, target)


@pytest.mark.parametrize(
    ("name", "bug", "says"), [(name, *bug) for name, bug in sorted(THROTTLED.items())]
)
def test_a_429_from_a_rate_limiter_is_a_finding_not_a_duplicate(
    name: str, bug: str, says: str
) -> None:
    from harness.findings import collect

    with collect() as seen:
        assert check(name, throttle=True) is None
    assert seen and all("429" in f.problem for f in seen), [str(f) for f in seen]
    assert all(f.repro.startswith("Backups.handle(") for f in seen if name != CONCURRENT)
    failure = check(name, throttle=True, server_errors="fail")
    assert failure is not None and 'server_errors = "fail"' in failure and "429" in failure
    if bug:  # the limiter does not hide the bug: it still fails, the violation first
        buggy = check(name, bug, throttle=True)
        assert buggy is not None and buggy.startswith(f"{name}: ") and says in buggy, buggy


def test_a_500_on_a_bad_key_is_a_finding_when_nothing_ran() -> None:
    from harness.findings import collect

    class Crashes(Backups):
        def handle(self, key: str | None, payload: str) -> tuple[int, dict[str, Any]]:
            if key is None:
                raise KeyError("Idempotency-Key")  # an unhandled lookup: a 500, no effect
            return super().handle(key, payload)

    with launch(TargetSpec(kind="python", factory=Crashes)) as target:
        with collect() as seen:
            run("idempotency.key_validation", BINDING, target)
        assert [f.problem.split(" got ")[0] for f in seen] == ["a request with a missing key"]
        assert "500 raised KeyError" in seen[0].problem
        with pytest.raises(AssertionError, match='server_errors = "fail"'):
            run("idempotency.key_validation", {**BINDING, "server_errors": "fail"}, target)
