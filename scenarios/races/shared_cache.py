"""races.shared_cache: a cache shared by request threads survives concurrent get/put.

Checks: no worker raises, ``len(cache) <= max_size`` once the workers are done, a hit returns a copy (a caller
mutating it does not change what the next caller gets), and the hit path was exercised.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from harness.pack import (
    Budget,
    Mode,
    Preemption,
    Target,
    TargetFiles,
    ThreadRace,
    UserError,
    Violation,
    WorkerResult,
    assert_holds,
    fresh_subject,
    race_threads,
    scenario,
)


class SharedCacheBinding(BaseModel):
    """A python target whose factory makes a small cache (``max_size`` well below ``keys``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    get: str = "get"
    put: str = "put"
    #: The bound to check; default: the cache's ``max_size_attr`` attribute.
    max_size: int | None = Field(default=None, ge=1)
    max_size_attr: str = "max_size"
    keys: int = Field(default=24, ge=2)
    ops: int = Field(default=150, ge=10, le=100_000)
    workers: int = Field(default=8, ge=2, le=64)
    mode: Literal["preempt", "pct", "barrier", "pool"] = "preempt"
    budget: float = Field(default=2.0, gt=0, le=600)
    max_attempts: int = Field(default=200, ge=1)
    seed: int | None = None
    preempt: list[str] = Field(default_factory=list)


def pristine(key: int) -> dict[str, Any]:
    return {"key": key, "payload": [key]}


@dataclass
class _State:
    cache: Any
    bound: int
    attempt: int
    hits: int = 0
    corrupted: list[str] = field(default_factory=list)
    max_len: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


@scenario("races.shared_cache", binding=SharedCacheBinding)
def concurrent_use_never_corrupts_the_cache(binding: SharedCacheBinding, target: Target) -> None:
    """Threads get/put/mutate at once: no exception, bounded size, copies on hit, hits happen."""
    probe = fresh_subject(target)
    for name in (binding.get, binding.put):
        if not callable(getattr(probe, name, None)):
            raise UserError(
                f"binding.get/put={name!r}: {type(probe).__name__} has no such method",
                where="binding.get",
            )
    bound = binding.max_size or getattr(probe, binding.max_size_attr, None)
    if not isinstance(bound, int):
        raise UserError(
            f"binding.max_size_attr={binding.max_size_attr!r}: {type(probe).__name__} has no "
            "int attribute of that name (set binding.max_size)",
            where="binding.max_size_attr",
        )
    if binding.keys <= bound:
        raise UserError(
            f"binding.keys={binding.keys!r}: must exceed the cache's max size {bound}, or "
            "nothing is ever evicted",
            where="binding.keys",
        )

    def setup(attempt: int) -> _State:
        return _State(fresh_subject(target), bound, attempt)

    def work(state: _State, index: int) -> None:
        rng = random.Random(f"{state.attempt}:{index}")
        get = getattr(state.cache, binding.get)
        put = getattr(state.cache, binding.put)
        for _ in range(binding.ops):
            key = rng.randrange(binding.keys)
            if rng.random() < 0.4:
                put(str(key), pristine(key))
            else:
                value = get(str(key))
                if value is not None:
                    with state.lock:
                        state.hits += 1
                    if value != pristine(key):
                        state.corrupted.append(f"key {key}: got {value!r}")
                    value["payload"].append("mutated by a caller")

    def check(state: _State, results: list[WorkerResult]) -> Violation | None:
        state.max_len = len(state.cache)  # measured at rest: a locked put may pass max inside
        observed = {
            "final_len": len(state.cache),
            "hits": state.hits,
            "corrupted_hits": len(state.corrupted),
        }
        expected = {"final_len": f"<= {bound}", "hits": "> 0", "corrupted_hits": 0}
        if state.corrupted:
            return Violation(
                f"{len(state.corrupted)} cache hits returned an object another caller had "
                "mutated: hits must return copies, not the cached object itself",
                observed,
                expected,
                details=tuple(state.corrupted[:2]),
            )
        if state.max_len > bound:
            return Violation(
                f"the cache holds {state.max_len} entries, above its "
                f"max size {bound} (eviction raced with insertion)",
                observed,
                expected,
            )
        if state.hits == 0:
            return Violation(
                "no get() was ever a hit, so the hit path was not exercised "
                "(lower binding.keys or raise binding.ops)",
                observed,
                expected,
            )
        return None

    mode = Mode(binding.mode)
    preempt = None
    if mode in (Mode.PREEMPT, Mode.PCT):
        preempt = Preemption(
            TargetFiles.resolve(binding.preempt or [type(probe)]),
            probability=0.05,
            points=6 if mode is Mode.PCT else 0,
        )
    config = ThreadRace(
        workers=binding.workers,
        mode=mode,
        preempt=preempt,
        budget=Budget(seconds=binding.budget, max_attempts=binding.max_attempts),
        seed=binding.seed,
    )
    assert_holds(race_threads("races.shared_cache", setup, work, check, config))
