"""The controlled loop: virtual time, deadlock and orphan detection, real primitives, refusals."""

from __future__ import annotations

import asyncio
import socket
import time

import pytest

from harness import UserError
from harness.concurrency.explore import (
    FailureKind,
    UncontrolledOperationError,
    explore,
    fifo,
    hypothesis,
    random,
    replay,
)


def test_virtual_time_makes_an_hour_of_sleeps_and_timeouts_instant() -> None:
    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        start = loop.time()
        await asyncio.sleep(3600)
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(asyncio.Event().wait(), timeout=600)
        async with asyncio.timeout(30):
            await asyncio.sleep(29)
        assert loop.time() - start == pytest.approx(3600 + 600 + 29)

    began = time.perf_counter()
    result = explore(scenario, random(seed=1), schedules=20)
    assert result.ok, result.report()
    assert time.perf_counter() - began < 5


def test_timers_fire_in_deadline_order_on_the_virtual_clock() -> None:
    order: list[float] = []

    async def scenario() -> None:
        order.clear()

        async def at(delay: float) -> None:
            await asyncio.sleep(delay)
            order.append(asyncio.get_running_loop().time())

        await asyncio.gather(at(3), at(1), at(2))
        assert order == [1, 2, 3]

    assert explore(scenario, random(seed=0), schedules=30).ok


def test_a_lock_order_inversion_is_reported_as_a_deadlock_with_where_each_task_waits() -> None:
    async def scenario() -> None:
        a, b = asyncio.Lock(), asyncio.Lock()

        async def one() -> None:
            async with a:
                await asyncio.sleep(0)
                async with b:
                    pass

        async def two() -> None:
            async with b:
                await asyncio.sleep(0)
                async with a:
                    pass

        await asyncio.gather(one(), two())

    result = explore(scenario, random(seed=0), schedules=50)
    assert result.failure is not None and result.failure.kind is FailureKind.DEADLOCK
    assert "blocked forever" in result.failure.message
    assert "async with" in result.failure.detail  # the line each task is stuck on


def test_an_event_nobody_sets_is_a_deadlock_not_a_hang() -> None:
    async def scenario() -> None:
        await asyncio.Event().wait()

    result = explore(scenario, fifo())
    assert result.failure is not None and result.failure.kind is FailureKind.DEADLOCK


def test_a_task_left_pending_at_the_end_is_an_orphan() -> None:
    async def scenario() -> None:
        async def forever() -> None:
            await asyncio.sleep(10)

        asyncio.create_task(forever())  # noqa: RUF006 - the leak under test

    result = explore(scenario, fifo())
    assert result.failure is not None and result.failure.kind is FailureKind.ORPHAN_TASKS
    assert "forever" in result.failure.message
    assert explore(scenario, fifo(), check_orphans=False).ok


def test_an_endless_loop_hits_the_step_limit() -> None:
    async def scenario() -> None:
        while True:
            await asyncio.sleep(0)

    result = explore(scenario, fifo(), max_steps=500)
    assert result.failure is not None and result.failure.kind is FailureKind.STEP_LIMIT


def test_an_exception_in_a_plain_callback_is_a_failure_not_a_log_line() -> None:
    async def scenario() -> None:
        asyncio.get_running_loop().call_soon(lambda: 1 / 0)
        await asyncio.sleep(0)

    result = explore(scenario, fifo())
    assert result.failure is not None and result.failure.kind is FailureKind.CALLBACK_ERROR
    assert "ZeroDivisionError" in result.failure.message


def test_real_primitives_work_under_every_schedule() -> None:
    async def scenario() -> None:
        queue: asyncio.Queue[int] = asyncio.Queue(maxsize=2)
        sem = asyncio.Semaphore(2)
        cond = asyncio.Condition()
        got: list[int] = []

        async def producer() -> None:
            for i in range(5):
                await queue.put(i)
            await queue.put(-1)

        async def consumer() -> None:
            while (item := await queue.get()) != -1:
                async with sem:
                    got.append(item)
            async with cond:
                cond.notify_all()

        async def waiter() -> None:
            async with cond:
                await cond.wait_for(lambda: len(got) == 5)

        async with asyncio.TaskGroup() as group:
            group.create_task(producer())
            group.create_task(consumer())
            group.create_task(waiter())
        inner = asyncio.create_task(asyncio.sleep(1, result="done"))
        assert await asyncio.shield(inner) == "done"
        assert await asyncio.wait_for(asyncio.sleep(0, result=7), timeout=1) == 7
        assert got == [0, 1, 2, 3, 4]

    result = explore(scenario, random(seed=2), schedules=100)
    assert result.ok, result.report()
    assert result.distinct > 10


def test_taskgroup_cancellation_is_explored_too() -> None:
    async def scenario() -> None:
        async def boom() -> None:
            await asyncio.sleep(0)
            raise ValueError("boom")

        with pytest.raises(ExceptionGroup):
            async with asyncio.TaskGroup() as group:
                group.create_task(boom())
                group.create_task(asyncio.sleep(5))

    assert explore(scenario, random(seed=0), schedules=50).ok


@pytest.mark.parametrize(
    "use",
    ["to_thread", "run_in_executor", "open_connection", "getaddrinfo", "sock_recv"],
)
def test_threads_and_real_io_are_refused_with_the_operation_named(use: str) -> None:
    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        if use == "to_thread":
            await asyncio.to_thread(time.sleep, 0)
        elif use == "run_in_executor":
            await loop.run_in_executor(None, time.sleep, 0)
        elif use == "open_connection":
            await asyncio.open_connection("127.0.0.1", 9)
        elif use == "getaddrinfo":
            await loop.getaddrinfo("localhost", 80)
        else:
            with socket.socket() as sock:
                await loop.sock_recv(sock, 1)

    with pytest.raises(UncontrolledOperationError) as caught:
        explore(scenario, fifo())
    text = caught.value.one_line()
    assert "cannot control threads or real I/O" in text
    assert "operation=" in text


def test_a_refusal_the_scenario_swallows_is_still_raised() -> None:
    async def scenario() -> None:
        try:
            await asyncio.to_thread(time.sleep, 0)
        except Exception:
            pass

    with pytest.raises(UncontrolledOperationError, match="run_in_executor"):
        explore(scenario, fifo())


def test_a_sync_scenario_is_a_user_error_that_says_to_pass_an_async_function() -> None:
    def not_async() -> None:
        return None

    with pytest.raises(UserError, match="not an awaitable") as caught:
        explore(not_async, fifo())  # type: ignore[arg-type]
    assert "async def" in caught.value.one_line()


async def _timeout_races_ready_work() -> None:
    async def work() -> None:
        for _ in range(3):
            await asyncio.sleep(0)

    task = asyncio.create_task(work())
    try:
        await asyncio.wait_for(asyncio.shield(task), timeout=1.0)
    except TimeoutError:
        await task
        raise AssertionError("the timeout fired while the work was still running") from None


def test_timers_fire_mid_work_only_with_early_timers_and_that_replays() -> None:
    assert explore(_timeout_races_ready_work, random(seed=0), schedules=200).ok
    found = explore(_timeout_races_ready_work, random(seed=0), schedules=200, early_timers=True)
    assert found.failure is not None and "timeout fired" in found.failure.message
    assert found.replay_command.endswith("--early-timers")
    run = found.failing_run
    assert run is not None and "clock" in run.trace
    token = repr(run.strategy)
    assert replay(_timeout_races_ready_work, token, early_timers=True).failure == found.failure
    assert replay(_timeout_races_ready_work, token).ok  # without the clock choice: another run


def test_a_failure_that_does_not_reproduce_is_flagged_as_nondeterministic() -> None:
    runs = {"n": 0}

    async def fails_every_other_run() -> None:
        runs["n"] += 1
        await asyncio.sleep(0)
        assert runs["n"] % 2, "even run"

    result = explore(fails_every_other_run, random(seed=0), schedules=10)
    assert result.failure is not None and result.reproduced is False
    assert "not deterministic" in result.report()
    found = explore(_timeout_races_ready_work, random(seed=0), schedules=200, early_timers=True)
    assert found.reproduced is True and "WARNING" not in found.report()


def test_hypothesis_turns_a_flaky_scenario_into_a_user_error() -> None:
    runs = {"n": 0}

    async def flaky() -> None:
        runs["n"] += 1
        await asyncio.gather(asyncio.sleep(0), asyncio.sleep(0), asyncio.sleep(0))
        assert runs["n"] % 3, "every third run"

    with pytest.raises(UserError, match="not deterministic"):
        explore(flaky, hypothesis(seed=0), schedules=50)
