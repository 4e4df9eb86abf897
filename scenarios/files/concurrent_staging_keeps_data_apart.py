"""files.concurrent_staging_keeps_data_apart: concurrent calls that stage data on disk never mix it."""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from harness.concurrency.attempts import Budget
from harness.concurrency.report import assert_holds
from harness.concurrency.result import Mode, Violation, WorkerResult
from harness.concurrency.threads import ThreadRace, race_threads
from harness.scenario import scenario
from harness.targets.base import Target
from scenarios.invariants._inprocess import attribute


class StagingBinding(BaseModel):
    """``call(data) -> result`` stages `data` in a temp file; `result` must come from `data` alone."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    #: Attribute of the target object, called with one bytes argument.
    call: str
    #: Attribute computing the expected result from the input; the input itself when unset.
    expect: str | None = None
    workers: int = Field(default=8, ge=2, le=128)
    size: int = Field(default=65_536, ge=1, le=64 * 2**20)
    budget: float = Field(default=2.0, gt=0)
    seed: int | None = None
    #: Point tempfile at a fresh directory for the run, and require it empty afterwards.
    private_tmp: bool = True


@contextmanager
def _private_tempdir(enabled: bool) -> Iterator[str | None]:
    if not enabled:
        yield None
        return
    previous = tempfile.tempdir
    with tempfile.TemporaryDirectory(prefix="fixguard-staging-") as name:
        tempfile.tempdir = name
        try:
            yield name
        finally:
            tempfile.tempdir = previous


def _digest(value: Any) -> str:
    data = value if isinstance(value, bytes) else repr(value).encode()
    return hashlib.sha256(data).hexdigest()[:12]


@scenario("files.concurrent_staging_keeps_data_apart", binding=StagingBinding)
def every_concurrent_call_gets_back_only_its_own_data(
    binding: StagingBinding, target: Target
) -> None:
    """N calls start together behind a gate; each result is exactly what its own input gives."""
    call = attribute(target, binding.call, field="call")
    expect = attribute(target, binding.expect, field="expect") if binding.expect else None

    def setup(attempt: int) -> list[bytes]:
        return [
            (f"worker-{i}-attempt-{attempt}|".encode() + bytes([65 + i % 26]) * binding.size)
            for i in range(binding.workers)
        ]

    def work(inputs: list[bytes], index: int) -> Any:
        return call(inputs[index])

    def check(inputs: list[bytes], results: list[WorkerResult]) -> Violation | None:
        wrong = []
        for r in results:
            if r.error is not None:
                continue  # reported by the runner as an unexpected worker error
            want = expect(inputs[r.index]) if expect else inputs[r.index]
            if r.value != want:
                wrong.append(f"worker {r.index}: got {_digest(r.value)} "
                             f"({len(r.value) if isinstance(r.value, bytes) else '?'} bytes), "
                             f"expected {_digest(want)}")
        left = sorted(os.listdir(staging)) if staging else []
        if not wrong and not left:
            return None
        return Violation(
            what=(f"{len(wrong)} of {len(results)} concurrent calls got data that is not their "
                  "own: they staged it at one predictable shared path") if wrong else
                 f"staged files were left behind: {left[:5]}",
            observed={"corrupted": len(wrong), "left_behind": len(left)},
            expected={"corrupted": 0, "left_behind": 0},
            details=tuple(wrong[:6]),
        )

    with _private_tempdir(binding.private_tmp) as staging:
        result = race_threads(
            "files.concurrent_staging_keeps_data_apart", setup, work, check,
            ThreadRace(workers=binding.workers, mode=Mode.BARRIER, seed=binding.seed,
                       budget=Budget(seconds=binding.budget)),
        )
    assert_holds(result)
