"""The races pack on small local stores: each check fails on the buggy one, passes on the fixed."""

from __future__ import annotations

import copy
import threading
import time
from collections import OrderedDict
from contextlib import nullcontext
from typing import Any

import pytest

import scenarios.races  # noqa: F401 - registers the checks
from harness.errors import TargetError, UserError
from harness.scenario import run
from harness.targets import TargetSpec, launch
from tests.packs.support import failure, findings_apart, in_process, serve_app

LOCKED = {"locked": True}


class TicketStore:
    """Count-then-insert with no GIL release in between: only preemption opens the window."""

    def __init__(self, cap: int = 3, locked: bool = False):
        self.cap = cap
        self.tickets: dict[str, list[int]] = {}
        self._lock = threading.Lock() if locked else None

    def create(self, user: str) -> int:
        with self._lock or nullcontext():
            return self._create(user)

    def _create(self, user: str) -> int:
        held = self.tickets.get(user, [])
        if len(held) >= self.cap:
            raise OverflowError("cap reached")
        self.tickets[user] = [*held, len(held)]
        return len(held)

    def count(self, user: str) -> int:
        return len(self.tickets.get(user, []))


class Registry:
    def __init__(self, locked: bool = False):
        self.items: dict[str, int] = {}
        self.created = 0
        self._lock = threading.Lock() if locked else None

    def register_if_absent(self, key: str, worker: int) -> bool:
        with self._lock or nullcontext():
            return self._register(key, worker)

    def _register(self, key: str, worker: int) -> bool:
        if key in self.items:
            return False
        self.items[key] = worker
        self.created += 1
        return True

    def issue(self, key: str) -> str:
        self.items[key] = -1
        return key

    def consume(self, key: str) -> bool:
        with self._lock or nullcontext():
            return self._consume(key)

    def _consume(self, key: str) -> bool:
        if self.items.get(key) != -1:
            return False
        self.items[key] = 0
        return True

    def increment(self, key: str) -> None:
        with self._lock or nullcontext():
            self._increment(key)

    def _increment(self, key: str) -> None:
        value = self.items.get(key, 0)
        self.items[key] = value + 1

    def value(self, key: str) -> int:
        return self.items.get(key, 0)


class Cache:
    """The sample's LRU shape; ``fixed`` adds a lock and deep copies."""

    def __init__(self, max_size: int = 6, fixed: bool = False):
        self.max_size = max_size
        self._data: OrderedDict[str, Any] = OrderedDict()
        self._fixed = fixed
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._data)

    def get(self, key: str) -> Any:
        if self._fixed:
            with self._lock:
                if key not in self._data:
                    return None
                self._data.move_to_end(key)
                return copy.deepcopy(self._data[key])
        if key not in self._data:
            return None
        self._data.move_to_end(key)
        return self._data[key]

    def put(self, key: str, value: Any) -> None:
        if self._fixed:
            with self._lock:
                self._data[key] = copy.deepcopy(value)
                self._data.move_to_end(key)
                while len(self._data) > self.max_size:
                    self._data.popitem(last=False)
            return
        self._data[key] = value
        self._data.move_to_end(key)
        while len(self._data) > self.max_size:
            self._data.popitem(last=False)


def check(name: str, factory: Any, binding: dict[str, Any], **kwargs: Any) -> str | None:
    """Run a check on a fresh python target; the failure text, or None when it passed."""
    return in_process(name, {"budget": 1.5, **binding}, factory, within=20, **kwargs)


CAPACITY = {
    "call": "create",
    "args": ["{key}"],
    "cap": 3,
    "workers": 10,
    "conflict_errors": ["OverflowError"],
    "effect": {"attr": "count", "args": ["{key}"]},
}


def test_capacity_limit_fails_on_count_then_insert_and_passes_with_a_lock() -> None:
    failure = check("races.capacity_limit", TicketStore, CAPACITY)
    assert failure is not None
    assert failure.startswith("races.capacity_limit: ")
    assert "but the cap is 3" in failure and "mode=preempt" in failure
    assert "forced yields" in failure and "repro: FIXGUARD_SEED=" in failure
    assert check("races.capacity_limit", TicketStore, CAPACITY, **LOCKED) is None


REGISTER = {
    "call": "register_if_absent",
    "args": ["{key}", "{worker}"],
    "effect": {"attr": "created"},
}
INCREMENT = {"call": "increment", "args": ["{key}"], "effect": {"attr": "value", "args": ["{key}"]}}


@pytest.mark.parametrize(
    ("name", "binding", "says"),
    [
        (
            "races.exclusive_create",
            REGISTER,
            ["observed: successes=", "expected: successes=1 conflicts=7 effects=1"],
        ),
        (
            "races.single_consumer",
            {
                "call": "consume",
                "args": ["{resource}"],
                "setup": {"call": "issue", "args": ["{key}"]},
            },
            ["consumed the same resource"],
        ),
        (
            "races.lost_update",
            INCREMENT,
            ["update(s) were lost"],
        ),
    ],
    ids=[
        "exclusive-create-wants-one-winner-and-one-effect",
        "single-consumer-wants-exactly-one-winner",
        "lost-update-wants-the-final-value-to-equal-the-increments",
    ],
)
def test_registry_race_fails_unlocked_and_passes_locked(
    name: str, binding: dict[str, Any], says: list[str]
) -> None:
    failure = check(name, Registry, binding)
    assert failure is not None and all(part in failure for part in says), failure
    assert check(name, Registry, binding, **LOCKED) is None


class VersionConflict(Exception):
    """What an optimistic-locking store raises when the row changed since it was read."""


class OptimisticCounter:
    """Read, then compare-and-set under a lock: a loser is refused, never silently lost."""

    def __init__(self, checked: bool = True):
        self.items: dict[str, int] = {}
        self.checked = checked
        self._lock = threading.Lock()

    def increment(self, key: str) -> None:
        seen = self.items.get(key, 0)
        with self._lock:
            if self.checked and self.items.get(key, 0) != seen:
                raise VersionConflict(key)
            self.items[key] = seen + 1

    def value(self, key: str) -> int:
        return self.items.get(key, 0)


class FlakyOptimisticCounter(OptimisticCounter):
    """Optimistic locking whose store also drops a connection now and then, before writing."""

    def __init__(self, checked: bool = True):
        super().__init__(checked)
        self.calls = 0

    def increment(self, key: str) -> None:
        self.calls += 1
        if self.calls % 4 == 0:
            raise ConnectionResetError("database connection dropped")
        super().increment(key)


#: Optimistic locking fixes a lost update by refusing the losers (a listed conflict): the
#: counter must equal the acknowledged increments, not the number of callers. The flaky one
#: adds an out-of-class crash beside the refusals and the successes in one round: the counter
#: still equals the acknowledged increments, so nothing was lost.
OPTIMISTIC = {**INCREMENT, "conflict_errors": ["VersionConflict"]}


@pytest.mark.parametrize(
    "factory", [OptimisticCounter, FlakyOptimisticCounter], ids=["refusals", "refusals-and-crashes"]
)
def test_lost_update_counts_only_acknowledged_increments(factory: Any) -> None:
    assert check("races.lost_update", factory, OPTIMISTIC) is None
    failure = check("races.lost_update", factory, OPTIMISTIC, checked=False)
    assert failure is not None and "update(s) were lost" in failure


def test_shared_cache_catches_exceptions_or_shared_objects_and_passes_when_locked() -> None:
    failure = check("races.shared_cache", Cache, {})
    assert failure is not None
    assert "copies" in failure or "raised" in failure or "above its max size" in failure
    assert check("races.shared_cache", Cache, {}, fixed=True) is None


def test_shared_cache_needs_the_hit_path() -> None:
    failure = check("races.shared_cache", Cache, {"keys": 4000, "ops": 10}, fixed=True, max_size=2)
    assert failure is not None and "hit path was not exercised" in failure


@pytest.mark.parametrize(
    ("binding", "field"),
    [
        ({**CAPACITY, "success": [999]}, "binding.success"),
        ({**CAPACITY, "conflict": ["4x"]}, "binding.conflict"),
        ({**CAPACITY, "cap": 20}, "binding"),
        ({k: v for k, v in CAPACITY.items() if k != "cap"}, "binding.cap"),
        ({**CAPACITY, "colour": "red"}, "binding.colour"),
    ],
)
def test_a_bad_binding_names_the_field(binding: dict[str, Any], field: str) -> None:
    with launch(TargetSpec(kind="python", factory=TicketStore)) as target:
        with pytest.raises(UserError) as caught:
            run("races.capacity_limit", binding, target)
    assert field in str(caught.value)


def test_exclusive_create_without_an_effect_counter_is_an_error_naming_it() -> None:
    with launch(TargetSpec(kind="python", factory=Registry)) as target:
        with pytest.raises(UserError, match=r"binding\.effect"):
            run(
                "races.exclusive_create",
                {"call": "register_if_absent", "args": ["{key}", 1]},
                target,
            )


def test_a_misspelt_method_is_an_error_naming_binding_call() -> None:
    with launch(TargetSpec(kind="python", factory=Registry)) as target:
        with pytest.raises(UserError, match=r"binding\.call='register'"):
            run(
                "races.exclusive_create",
                {"call": "register", "effect": {"attr": "created"}},
                target,
            )


def test_an_unreachable_target_is_a_target_error() -> None:
    with launch(TargetSpec(kind="python", factory=Registry)) as target:

        class Gone:
            base_url = "http://127.0.0.1:9"
            spec = target.spec
            obj = None

        binding = {"call": "POST /things", "effect": "GET /things/{key}/count"}
        with pytest.raises(
            TargetError, match=r"target\.base_url='http://127\.0\.0\.1:9': unreachable"
        ):
            run("races.exclusive_create", binding, Gone())  # type: ignore[arg-type]


# --- precision: answers outside the race's bug class are findings, not winners ----------------

SHEDDING_APP = """
import asyncio
import json
import os

BUGGY = os.environ.get("APP_BUG") == "1"
THINGS = {}
IN_FLIGHT = [0]


async def reply(send, status, body):
    data = json.dumps(body).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": data})


async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    path = scope["path"]
    if scope["method"] == "GET":
        key = path.rsplit("/", 2)[-2] if path.startswith("/things/") else ""
        return await reply(send, 200, {"count": THINGS.get(key, 0)})
    if IN_FLIGHT[0] >= 3:  # load shedding: a 503 creates nothing
        return await reply(send, 503, {"detail": "overloaded"})
    IN_FLIGHT[0] += 1
    try:
        key = json.loads(body)["key"]
        if BUGGY:  # check, yield, then insert: two admitted requests both win
            exists = key in THINGS
            await asyncio.sleep(0.005)
            if exists:
                return await reply(send, 409, {"detail": "exists"})
            THINGS[key] = THINGS.get(key, 0) + 1
            return await reply(send, 201, {"key": key})
        await asyncio.sleep(0.005)
        if key in THINGS:  # check and insert with no await between: atomic on the loop
            return await reply(send, 409, {"detail": "exists"})
        THINGS[key] = 1
        return await reply(send, 201, {"key": key})
    finally:
        IN_FLIGHT[0] -= 1
"""

SHED_BINDING = {
    "call": "POST /things",
    "json": {"key": "{key}"},
    "success": [201],
    "conflict": [409],
    "effect": "GET /things/{key}/count",
    "workers": 8,
    "budget": 1.0,
    "max_attempts": 30,
}


@pytest.fixture(params=["fixed", "buggy"])
def shedding_server(request: pytest.FixtureRequest, tmp_path: Any) -> Any:
    env = {"APP_BUG": "1" if request.param == "buggy" else "0"}
    with serve_app(tmp_path, "shedding_app", SHEDDING_APP, env=env) as target:
        yield request.param, target


def test_a_503_under_load_is_a_finding_and_never_a_second_winner(shedding_server: Any) -> None:
    from harness.findings import collect

    variant, target = shedding_server
    started = time.perf_counter()
    if variant == "buggy":
        with collect() as seen:
            message = failure("races.exclusive_create", SHED_BINDING, target)
        assert message.startswith("races.exclusive_create: "), message  # the violation leads
        assert "creates of the same key succeeded" in message
    else:
        seen = findings_apart("races.exclusive_create", SHED_BINDING, target)
    shed = [f for f in seen if "were HTTP 503" in f.problem]
    assert len(shed) == 1, [str(f) for f in seen]
    assert shed[0].repro.startswith("curl -s -i -X POST ") and "/things" in shed[0].repro
    assert time.perf_counter() - started < 30


class CrashingRegistry(Registry):
    """Race-safe (locked), but every third contender's call crashes before touching the store."""

    def register_if_absent(self, key: str, worker: int) -> bool:
        if worker % 3 == 0:
            raise ConnectionResetError("database connection dropped")
        return super().register_if_absent(key, worker)

    def increment(self, key: str, worker: int = 1) -> None:
        if worker % 3 == 0:
            raise ConnectionResetError("database connection dropped")
        super().increment(key)


@pytest.mark.parametrize(
    ("name", "binding", "says"),
    [
        (
            "races.exclusive_create",
            REGISTER,
            "creates of the same key succeeded",
        ),
        (
            "races.lost_update",
            {**INCREMENT, "args": ["{key}", "{worker}"]},
            "update(s) were lost",
        ),
    ],
)
def test_an_in_process_crash_is_a_finding_not_a_violation(
    name: str, binding: dict[str, Any], says: str
) -> None:
    from harness.findings import collect

    with collect() as seen:
        assert check(name, CrashingRegistry, binding, **LOCKED) is None
    assert any("raised ConnectionResetError" in f.problem for f in seen), [str(f) for f in seen]
    failure = check(name, CrashingRegistry, {**binding, "server_errors": "fail"}, **LOCKED)
    assert failure is not None and "ConnectionResetError" in failure
    buggy = check(name, CrashingRegistry, binding)  # no lock: the race is still caught
    assert buggy is not None and buggy.startswith(f"{name}: ") and says in buggy


def test_a_sql_effect_on_postgres_keeps_literal_percent_signs(postgres_db: str) -> None:
    """psycopg reads %(name)s: a LIKE pattern's % must survive, with and without :key."""
    import psycopg

    from harness.bindings import EffectCounter
    from harness.targets import create

    with psycopg.connect(postgres_db, autocommit=True) as conn:
        conn.execute("CREATE TABLE items (sku text, owner text)")
        conn.execute("INSERT INTO items VALUES ('A-1', 'k'), ('A-2', 'k'), ('B-1', 'k')")
    target = create(
        {
            "kind": "process",
            "command": "{python} -m http.server {port}",
            "env": {"DATABASE_URL": postgres_db},
        }
    )  # never started: a SQL count reads only its spec's env
    plain = EffectCounter.model_validate("SELECT count(*) FROM items WHERE sku LIKE 'A%'")
    keyed = EffectCounter.model_validate(
        "SELECT count(*) FROM items WHERE sku LIKE 'A%' AND owner = :key"
    )
    assert plain.count(target) == 2
    assert keyed.count(target, {"key": "k"}) == 2
