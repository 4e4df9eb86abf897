"""Small lifecycle services and async stores with the races of seeds 002 and 004, buggy and fixed.

Each `*_buggy` / `*_fixed` function is a zero-argument scenario: it drives the service the way
concurrent callers would and asserts the service's invariant. Under plain asyncio (FIFO order)
every scenario passes; only another interleaving of the same awaits breaks the buggy ones.
Plain asyncio only: the benchmark also runs these under `asyncio.run` and under frontrun.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

# -- 1. seed 002: the lifecycle lock is reassigned in stop() -----------------------------------


class LockSwapService:
    """start()/stop() serialise on `_lifecycle_lock`; the buggy stop() rebinds the lock."""

    def __init__(self, fixed: bool) -> None:
        self.fixed = fixed
        self._lifecycle_lock = asyncio.Lock()
        self.running = False
        self._inside = 0
        self.overlaps = 0

    async def _transition(self, running: bool) -> None:
        self._inside += 1
        if self._inside > 1:
            self.overlaps += 1
        await asyncio.sleep(0)  # spawning or draining the worker
        self.running = running
        self._inside -= 1

    async def start(self) -> None:
        async with self._lifecycle_lock:
            await self._transition(True)

    async def stop(self) -> None:
        async with self._lifecycle_lock:
            await self._transition(False)
            if not self.fixed:
                self._lifecycle_lock = asyncio.Lock()  # "fresh lock for the next loop"


async def _lock_swap(fixed: bool) -> None:
    service = LockSwapService(fixed)
    await service.start()
    await asyncio.gather(service.stop(), service.start(), service.stop())
    assert service.overlaps == 0, f"{service.overlaps} start/stop bodies ran at the same time"


async def lock_swap_buggy() -> None:
    await _lock_swap(False)


async def lock_swap_fixed() -> None:
    await _lock_swap(True)


# -- 2. seed 002: the stop event is recreated after the lifecycle lock is released -------------


class StopEventService:
    """A worker that runs until `_stop_event` is set; stop() swaps in a fresh event."""

    def __init__(self, fixed: bool) -> None:
        self.fixed = fixed
        self._lifecycle_lock = asyncio.Lock()
        self._stop_event = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.ticks = 0
        self.notices: list[str] = []

    @property
    def running(self) -> bool:
        return self._task is not None

    async def _run(self) -> None:
        while not self._stop_event.is_set():
            self.ticks += 1
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop_event.wait(), timeout=1.0)

    async def start(self) -> None:
        async with self._lifecycle_lock:
            if self._task is None:
                self._task = asyncio.create_task(self._run())

    async def _notify(self, what: str) -> None:
        await asyncio.sleep(0)  # publish on the event bus
        self.notices.append(what)

    async def stop(self) -> None:
        async with self._lifecycle_lock:
            if self._task is None:
                return
            self._stop_event.set()
            await self._task
            self._task = None
            if self.fixed:
                self._stop_event = asyncio.Event()
        await self._notify("stopped")
        if not self.fixed:
            self._stop_event = asyncio.Event()  # recreated after the lock is released


async def _stop_event(fixed: bool) -> None:
    service = StopEventService(fixed)
    await service.start()
    await asyncio.gather(service.stop(), service.start())
    await asyncio.sleep(5)
    task = service._task
    if service.running:
        assert task is not None and not task.done(), "service says running but its worker exited"
    await service.stop()


async def stop_event_buggy() -> None:
    await _stop_event(False)


async def stop_event_fixed() -> None:
    await _stop_event(True)


# -- 3. seed 002: the drain helper task is leaked when the drain times out ---------------------


class Backend:
    """A dependency the monitor probes; once closed it never answers an in-flight request."""

    def __init__(self) -> None:
        self.closed = False

    async def call(self) -> str:
        await asyncio.sleep(0)  # request on the wire
        if self.closed:
            await asyncio.Event().wait()  # the peer is gone: no response, ever
        return "ok"

    async def close(self) -> None:
        self.closed = True


class DrainMonitor:
    def __init__(self, backend: Backend, fixed: bool) -> None:
        self.fixed = fixed
        self.backend = backend
        self._stop_event = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.stop_failed = False
        self.checks = 0

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        while not self._stop_event.is_set():
            await self.backend.call()
            self.checks += 1
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop_event.wait(), timeout=5.0)

    async def stop(self, timeout: float = 1.0) -> None:
        task, self._task = self._task, None
        if task is None:
            return
        self._stop_event.set()
        if self.fixed:
            try:
                await asyncio.wait_for(asyncio.shield(task), timeout)
            except TimeoutError:
                self.stop_failed = True
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            return

        async def drain() -> None:
            await task

        drain_task = asyncio.create_task(drain())
        try:
            await asyncio.wait_for(asyncio.shield(drain_task), timeout)
        except TimeoutError:
            self.stop_failed = True  # unrestartable; the helper (and the task) are abandoned


async def _drain(fixed: bool) -> None:
    backend = Backend()
    monitor = DrainMonitor(backend, fixed)
    await monitor.start()
    await asyncio.sleep(0)
    await asyncio.gather(monitor.stop(), backend.close())


async def drain_buggy() -> None:
    await _drain(False)


async def drain_fixed() -> None:
    await _drain(True)


# -- 4. seed 002: the loser's rollback deletes the winner's claim -----------------------------


class SimulationStore:
    def __init__(self, fixed: bool) -> None:
        self.fixed = fixed
        self._lock = asyncio.Lock()
        self._runs: dict[str, object] = {}

    async def register_if_absent(self, sim_id: str, record: object) -> bool:
        async with self._lock:
            if sim_id in self._runs:
                return False
            self._runs[sim_id] = record
            return True

    async def unregister(self, sim_id: str, expected: object) -> None:
        async with self._lock:
            if not self.fixed or self._runs.get(sim_id) is expected:
                self._runs.pop(sim_id, None)  # buggy: deletes whoever holds the slot now

    def get(self, sim_id: str) -> object | None:
        return self._runs.get(sim_id)


class EventBus:
    def __init__(self, failing: set[str]) -> None:
        self.failing = failing

    async def publish(self, event: str, owner: str) -> None:
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        if owner in self.failing:
            raise ConnectionError(f"publish {event} for {owner} failed")


async def _simulate(store: SimulationStore, sim_id: str, record: object, duration: float) -> None:
    try:
        await asyncio.sleep(duration)
    finally:
        await store.unregister(sim_id, expected=record)


async def start_simulation(
    store: SimulationStore, bus: EventBus, sim_id: str, attempt: str, duration: float
) -> tuple[str, object, asyncio.Task[None] | None]:
    record = object()
    if not await store.register_if_absent(sim_id, record):
        return "conflict", record, None
    runner = asyncio.create_task(_simulate(store, sim_id, record, duration))
    try:
        await bus.publish("started", attempt)
    except ConnectionError:
        runner.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await runner
        await store.unregister(sim_id, expected=record)  # roll the claim back
        return "failed", record, None
    return "started", record, runner


async def _claim(fixed: bool) -> None:
    store = SimulationStore(fixed)
    bus = EventBus(failing={"a"})
    results = await asyncio.gather(
        start_simulation(store, bus, "sim-1", "a", duration=0.0),
        start_simulation(store, bus, "sim-1", "b", duration=10.0),
    )
    for status, record, runner in results:
        if status == "started" and runner is not None and not runner.done():
            assert store.get("sim-1") is record, "a rollback deleted the running winner's claim"
    for _, _, runner in results:
        if runner is not None:
            await runner


async def claim_buggy() -> None:
    await _claim(False)


async def claim_fixed() -> None:
    await _claim(True)


# -- 5. seed 004: an untracked create_task(_ttl_guard(...)) outlives its preview --------------


class FakeProcess:
    def __init__(self, key: str) -> None:
        self.key = key
        self.exited = asyncio.Event()

    def terminate(self) -> None:
        self.exited.set()


class PreviewService:
    """Each preview process gets a TTL guard task that removes it when it exits."""

    def __init__(self, fixed: bool, ttl: float = 60.0) -> None:
        self.fixed = fixed
        self.ttl = ttl
        self.procs: dict[str, FakeProcess] = {}
        self._guards: dict[str, asyncio.Task[None]] = {}

    async def _ttl_guard(self, proc: FakeProcess) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(proc.exited.wait(), self.ttl)
        proc.terminate()
        self.procs.pop(proc.key, None)  # forget the preview that exited

    async def spawn(self, key: str) -> FakeProcess:
        for _ in range(4):
            await asyncio.sleep(0)  # docker run, wait for the port
        proc = FakeProcess(key)
        self.procs[key] = proc
        task = asyncio.create_task(self._ttl_guard(proc))
        if self.fixed:
            self._guards[key] = task  # tracked, so replace() and shutdown() can cancel it
        return proc

    async def replace(self, key: str) -> FakeProcess:
        old = self.procs.get(key)
        if old is not None:
            old.terminate()
            guard = self._guards.pop(key, None)
            if guard is not None:
                guard.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await guard
        return await self.spawn(key)

    async def shutdown(self) -> None:
        for proc in list(self.procs.values()):
            proc.terminate()
        guards = list(self._guards.values())
        self._guards.clear()
        for guard in guards:
            guard.cancel()
        await asyncio.gather(*guards, return_exceptions=True)
        await asyncio.sleep(0.05)  # grace period for the guards


async def _ttl_guard(fixed: bool) -> None:
    service = PreviewService(fixed)
    await service.spawn("p1")
    new = await service.replace("p1")
    await asyncio.sleep(0)
    assert service.procs.get("p1") is new, "the old preview's TTL guard removed the new preview"
    await service.shutdown()


async def ttl_guard_buggy() -> None:
    await _ttl_guard(False)


async def ttl_guard_fixed() -> None:
    await _ttl_guard(True)


#: name -> (buggy scenario, fixed scenario, the seed it mirrors)
PROGRAMS: dict[str, tuple[Any, Any, str]] = {
    "lock_swap": (lock_swap_buggy, lock_swap_fixed, "002: lock reassigned in stop()"),
    "stop_event": (stop_event_buggy, stop_event_fixed, "002: stop event recreated after unlock"),
    "drain_leak": (drain_buggy, drain_fixed, "002: drain helper leaked on timeout"),
    "claim_rollback": (claim_buggy, claim_fixed, "002: claim rolled back by the loser"),
    "ttl_guard": (ttl_guard_buggy, ttl_guard_fixed, "004: untracked create_task"),
}
