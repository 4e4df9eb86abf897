"""The leaks pack: each check fails on the sample's buggy base and passes on its fixed head.

In-process checks load `shopapp` from a checkout (`sample_target`); the target-process and
DB-connection checks serve the sample with uvicorn (`sample_spec`) and count by pid.
"""

from __future__ import annotations

import gc
import json
import re
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from harness.leaks import (
    FdCounter,
    SocketCounter,
    StubUpstream,
    ThreadCounter,
    assert_no_leaks,
    collect_problems,
    measure,
)
from harness.scenario import run
from harness.targets import launch
from harness.targets.base import Target
from tests.packs.standins import LEAKY_APP
from tests.packs.support import failure, serve_app

Checkout = Callable[[str], Path]


@pytest.fixture
def settings_file(tmp_path: Path) -> Path:
    path = tmp_path / "overrides.json"
    path.write_text(json.dumps({"max_pending_tickets": 7}))
    return path


def settings_binding(path: Path) -> dict[str, Any]:
    return {
        "steps": [{"call": "load_settings_file", "args": [str(path)]}],
        "warmup": 2,
        "iterations": 20,
    }


def test_settings_file_leak_fails_on_base_with_the_line_that_opened_it(
    sample_target: Any, settings_file: Path
) -> None:
    with sample_target("base", "shopapp.settings") as target:
        message = failure("leaks.in_process", settings_binding(settings_file), target)
    assert "22 ResourceWarning/unraisable exception(s)" in message  # 2 warm-up + 20, one each
    assert f"unclosed file <_io.TextIOWrapper name='{settings_file}'" in message
    assert re.search(
        r"allocated at \S+/shopapp/settings\.py:11: data = json\.load\(open\(path\)\)", message
    ), message


def test_settings_file_leak_passes_on_the_fixed_head(
    sample_target: Any, settings_file: Path, fixed: Callable[[str], None]
) -> None:
    fixed("settings-file-leak")
    with sample_target("head", "shopapp.settings") as target:
        run("leaks.in_process", settings_binding(settings_file), target)


@pytest.fixture
def upstream_client(sample_target: Any) -> Callable[[str], Any]:
    """`with upstream_client(rev) as (target, stub):` the sample's UpstreamClient at `rev`,
    talking to a stub upstream."""

    @contextmanager
    def start(rev: str) -> Iterator[tuple[Target, StubUpstream]]:
        with StubUpstream() as stub:
            client = {"base_url": stub.url}
            spec = {
                "kind": "python",
                "factory": "shopapp.upstream:UpstreamClient",
                "kwargs": client,
            }
            with sample_target(rev, spec) as target:
                yield target, stub

    return start


#: Each iteration is one app lifetime: startup, one pooled request, shutdown.
LIFETIMES = {"steps": ["startup", "http.get /items/1", "shutdown"], "warmup": 1, "iterations": 4}


def test_unclosed_upstream_client_fails_on_base_with_its_open_socket(upstream_client: Any) -> None:
    with upstream_client("base") as (target, _):
        message = failure("leaks.in_process", {**LIFETIMES, "allocation_sites": False}, target)
    assert "[startup(), http.get('/items/1'), shutdown()]" in message
    assert "5× ResourceWarning: unclosed transport <_SelectorSocketTransport" in message
    assert "ResourceWarning: unclosed <socket.socket" in message


def test_unclosed_upstream_client_passes_on_the_fixed_head(
    upstream_client: Any, fixed: Callable[[str], None]
) -> None:
    fixed("upstream-client-close")
    with upstream_client("head") as (target, stub):
        run("leaks.in_process", {**LIFETIMES, "allocation_sites": False}, target)
        assert len(stub.requests) == 5


def test_upstream_leak_held_until_gc_is_counted_as_sockets_with_gc_off(
    upstream_client: Any,
) -> None:
    binding = {**LIFETIMES, "gc": "off", "warnings": False, "count": ["sockets"]}
    with upstream_client("base") as (target, _):
        message = failure("leaks.in_process", binding, target)
    # One client socket per lifetime, plus the stub's end of it in this same process (the
    # warm-up's server end may still be closing when the baseline is read: 7 or 8).
    grown = re.search(r"sockets grew by (\d+)", message)
    assert grown is not None and 7 <= int(grown.group(1)) <= 8, message


NOTIFIER = {"kind": "python", "factory": "shopapp.notifier:Notifier"}
NOTIFY = {
    "call": {"call": "notify", "args": [{"event": "x"}]},
    "calls": 3,
    "close": "aclose",
    "overrides": {"sink": "scenarios.leaks.stubs:never_returns"},
}


def test_fire_and_forget_tasks_fail_on_base_naming_where_they_were_created(
    sample_target: Any,
) -> None:
    with sample_target("base", NOTIFIER) as target:
        message = failure("leaks.tasks", NOTIFY, target)
    assert message.startswith(
        "leaks.tasks: 3 asyncio task(s) started by 3 × notify({'event': "
        "'x'}) were still pending after aclose()"
    )
    assert message.count("Notifier._deliver [running], created at ") == 3
    assert "shopapp/notifier.py:33 (asyncio.create_task(self._deliver(event)))" in message


def test_fire_and_forget_tasks_pass_on_the_fixed_head(
    sample_target: Any, fixed: Callable[[str], None]
) -> None:
    fixed("notifier-tasks")
    with sample_target("head", NOTIFIER) as target:
        run("leaks.tasks", NOTIFY, target)


# --- the primitives the checks stand on ------------------------------------------------------


@contextmanager
def opening_per_call(tmp_path: Path) -> Iterator[tuple[Path, Callable[[], None]]]:
    """(a file, a call that opens it and keeps it open); all it opened is closed after."""
    path = tmp_path / "leaked.txt"
    path.write_text("x")
    held: list[Any] = []
    try:
        yield path, lambda: held.append(path.open())
    finally:
        for fh in held:
            fh.close()


def test_one_fd_per_call_is_caught_within_50_iterations(tmp_path: Path) -> None:
    with opening_per_call(tmp_path) as (target, call):
        counters = [FdCounter(), SocketCounter()]
        report = measure(call, counters, warmup=5, iterations=50, problems=False)
    with pytest.raises(AssertionError) as caught:
        assert_no_leaks(report)
    message = str(caught.value)
    assert "fds grew by 50" in message
    assert "1.00/iteration" in message
    assert f"new: {target} ×50" in message
    assert "sockets: " in message and "sockets grew" not in message


def test_the_tolerance_is_the_users_to_set(tmp_path: Path) -> None:
    with opening_per_call(tmp_path) as (_, call):
        tolerance = {"fds": 20}
        report = measure(
            call, [FdCounter()], warmup=0, iterations=20, tolerance=tolerance, problems=False
        )
    assert not report.leaked  # 20 new fds, and 20 allowed
    assert report.readings[0].delta == 20


def test_a_thread_started_per_call_and_never_joined_is_caught() -> None:
    stop = threading.Event()
    try:
        report = measure(
            lambda: threading.Thread(target=stop.wait, name="orphan", daemon=True).start(),
            [ThreadCounter()],
            warmup=2,
            iterations=10,
            problems=False,
        )
    finally:
        stop.set()
    with pytest.raises(AssertionError) as caught:
        assert_no_leaks(report)
    assert "threads grew by 10" in str(caught.value)
    assert "new: orphan ×10" in str(caught.value)


_GROWING: list[bytes] = []


def test_memory_growth_per_iteration_is_measured_with_tracemalloc() -> None:
    def hoard() -> None:
        _GROWING.append(bytes(20_000))  # a cache that is never evicted

    try:
        report = measure(hoard, [], warmup=2, iterations=20, problems=False, memory_limit=4096)
    finally:
        _GROWING.clear()
    with pytest.raises(AssertionError) as caught:
        assert_no_leaks(report)
    message = str(caught.value)
    assert re.search(r"memory grew 2\d{4} B/iteration \(limit 4096 B\)", message), message
    assert re.search(r"test_leaks_pack\.py:\d+: \+\d+ B", message), message  # the hoarding line


def test_a_bounded_cache_is_not_a_memory_leak() -> None:
    cache: dict[int, bytes] = {}

    def bounded() -> None:
        cache[len(cache) % 4] = bytes(20_000)

    assert_no_leaks(
        measure(bounded, [], warmup=4, iterations=20, problems=False, memory_limit=4096)
    )


def test_a_balanced_operation_is_not_a_leak() -> None:
    def balanced() -> None:
        with open(__file__, encoding="utf-8") as fh:
            fh.read(10)

    report = assert_no_leaks(measure(balanced, [FdCounter()], warmup=2, iterations=50))
    assert report.readings[0].delta <= 0


class _Cycle:
    """An open file that only the cycle collector can reach: released during GC, not before."""

    def __init__(self, path: Path) -> None:
        self.me = self
        self.fh = path.open(encoding="utf-8")


def test_resource_warnings_raised_during_gc_are_collected(tmp_path: Path) -> None:
    path = tmp_path / "cycle.txt"
    path.write_text("x")
    gc.collect()
    with collect_problems() as problems:
        _Cycle(path)
        assert not problems  # nothing yet: the file is open until the collector runs
    assert len(problems) == 1
    assert f"unclosed file <_io.FileIO name='{path}'" in problems.summary()[0]
    assert "test_leaks_pack.py" in problems.items[0].allocated_at


def test_unraisable_exceptions_from_finalisers_are_collected() -> None:
    class Broken:
        def __del__(self) -> None:
            raise RuntimeError("close failed in __del__")

    with collect_problems() as problems:
        Broken()
    assert [p.kind for p in problems.items] == ["unraisable"]
    assert "RuntimeError: close failed in __del__" in problems.items[0].message


def test_warnings_filter_error_alone_misses_the_gc_leak(tmp_path: Path) -> None:
    """Why the collector exists: `-W error::ResourceWarning` turns the finaliser's warning into
    an unraisable exception, which never reaches the test."""
    import warnings

    path = tmp_path / "cycle.txt"
    path.write_text("x")
    seen: list[Any] = []
    old = sys.unraisablehook
    sys.unraisablehook = seen.append
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", ResourceWarning)
            _Cycle(path)
            gc.collect()  # no exception propagates here
    finally:
        sys.unraisablehook = old
    assert len(seen) == 1 and isinstance(seen[0].exc_value, ResourceWarning)


# --- target process, by pid ------------------------------------------------------------------


def test_target_process_counts_pass_on_the_sample(
    tmp_path: Path, checkout: Checkout, sample_spec: Any
) -> None:
    with launch(sample_spec(checkout("base"), tmp_path / "data")) as target:
        run("leaks.target_process", {"call": "GET /stats", "warmup": 5, "iterations": 50}, target)


@pytest.fixture
def leaky_server(tmp_path: Path) -> Iterator[Any]:
    with serve_app(tmp_path, "leaky_app", LEAKY_APP, health="/") as target:
        yield target


def test_target_process_fd_leak_is_caught_by_pid(leaky_server: Any) -> None:
    started = time.perf_counter()
    with pytest.raises(AssertionError) as caught:
        run(
            "leaks.target_process",
            {"call": "GET /leak", "warmup": 3, "iterations": 50, "settle": 0.2},
            leaky_server,
        )
    message = str(caught.value)
    assert f"leaks.target_process [GET /leak on pid {leaky_server.pid}]" in message
    assert "fds grew by 50" in message
    assert "new: /dev/null ×50" in message
    assert time.perf_counter() - started < 30


def test_target_process_needs_a_pid(sample_target: Any) -> None:
    from harness.errors import UserError

    with sample_target("base", NOTIFIER) as t:
        with pytest.raises(UserError, match="has no pid"):
            run("leaks.target_process", {"call": "GET /stats"}, t)


# --- DB connections (PostgreSQL) ---------------------------------------------------------------


@pytest.mark.postgres
def test_db_connections_pass_on_the_sample_over_postgres(
    tmp_path: Path, checkout: Checkout, sample_spec: Any, postgres_db: str
) -> None:
    """The sample opens and closes one connection per statement; nothing may stay open."""
    spec = sample_spec(checkout("base"), tmp_path / "data", SHOPAPP_DB=postgres_db)
    with launch(spec) as target:
        run(
            "leaks.db_connections",
            {"call": "GET /stats", "dsn": postgres_db, "warmup": 2, "iterations": 15},
            target,
        )


@pytest.mark.postgres
def test_db_connection_leak_is_caught_in_pg_stat_activity(
    checkout: Checkout, sample_modules: Any, postgres_db: str
) -> None:
    """The sample has no connection leak to reproduce (see the README); this one forgets to
    close the connection its query opened, as a hand-rolled `conn = connect()` would."""
    import psycopg

    held: list[Any] = []

    class ForgetfulQueries:
        def ticket_count(self) -> int:
            conn = psycopg.connect(postgres_db, autocommit=True)
            held.append(conn)  # the bug: never closed
            row = conn.execute("SELECT count(*) FROM pg_class").fetchone()
            assert row is not None
            return int(row[0])

    try:
        with (
            launch({"kind": "python", "factory": ForgetfulQueries}) as target,
            pytest.raises(AssertionError) as caught,
        ):
            run(
                "leaks.db_connections",
                {
                    "steps": ["ticket_count"],
                    "dsn": postgres_db,
                    "warmup": 2,
                    "iterations": 10,
                    "settle": 0.2,
                },
                target,
            )
    finally:
        for conn in held:
            conn.close()
    message = str(caught.value)
    assert "db_connections grew by 10" in message
    assert "last query 'SELECT count(*) FROM pg_class'" in message


# --- precision: a 5xx or a warming pool is a finding, growth that goes on is the leak ----------


def test_a_5xx_that_holds_nothing_is_a_finding_not_a_leak(leaky_server: Any) -> None:
    from harness.findings import collect

    binding = {"call": "GET /boom", "warmup": 3, "iterations": 30, "settle": 0.2}
    with collect() as seen:
        run("leaks.target_process", binding, leaky_server)
    assert len(seen) == 1 and "33 of 33 calls got HTTP 500" in seen[0].problem, seen
    assert seen[0].repro.startswith("curl -s -i -X GET ") and seen[0].repro.endswith("/boom")
    with pytest.raises(AssertionError, match='server_errors = "fail"'):
        run("leaks.target_process", {**binding, "server_errors": "fail"}, leaky_server)
    with pytest.raises(AssertionError) as caught:  # failing and leaking: the leak leads
        run("leaks.target_process", {**binding, "call": "GET /boom-leak"}, leaky_server)
    message = str(caught.value)
    assert (
        message.startswith("leaks.target_process [GET /boom-leak") and "fds grew by 30" in message
    )
    assert "calls got HTTP 500" in message.split("not this check's bug class", 1)[1]


class WarmingPool:
    """Opens one connection-like fd per call until it holds `size`, then reuses them: a pool
    that is still filling after the warm-up, not a leak. `size=None` never stops (the leak)."""

    def __init__(self, size: int | None = 8) -> None:
        self.size = size
        self.held: list[Any] = []

    def query(self) -> None:
        if self.size is None or len(self.held) < self.size:
            self.held.append(open(__file__, encoding="utf-8"))

    def close(self) -> None:
        for fh in self.held:
            fh.close()


@pytest.mark.parametrize("size", [8, None])
def test_a_pool_still_warming_up_is_a_finding_and_a_leak_grows_on(size: int | None) -> None:
    from harness.findings import collect

    binding = {
        "steps": ["query"],
        "warmup": 2,
        "iterations": 20,
        "count": ["fds"],
        "warnings": False,
        "allocation_sites": False,
    }
    pools: list[WarmingPool] = []

    def fresh() -> WarmingPool:
        pools.append(WarmingPool(size))
        return pools[-1]

    try:
        with launch({"kind": "python", "factory": fresh}) as target:
            if size is None:
                with pytest.raises(AssertionError) as caught:
                    run("leaks.in_process", binding, target)
                message = str(caught.value)
                assert "fds grew by 20" in message
                assert "and again over 20 more iterations: fds grew by 20" in message
                return
            with collect() as seen:
                run("leaks.in_process", binding, target)
            assert len(seen) == 1, seen
            assert "fds grew by 6 (" in seen[0].problem
            assert "after 2 warm-up, then held over 20 more: a pool" in seen[0].problem
        with launch({"kind": "python", "factory": fresh}) as target:
            with pytest.raises(AssertionError, match='server_errors = "fail"'):
                run("leaks.in_process", {**binding, "server_errors": "fail"}, target)
    finally:
        for pool in pools:
            pool.close()
