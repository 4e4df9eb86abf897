"""files.concurrent_staging_keeps_data_apart: concurrent calls that stage data on disk never mix it."""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from pydantic import Field

from harness.pack import (
    Budget,
    FindingPolicy,
    Mode,
    Target,
    ThreadRace,
    Violation,
    WorkerResult,
    assert_holds,
    collect,
    fail_on,
    race_threads,
    report_finding,
    rerun_command,
    scenario,
)
from scenarios.invariants._inprocess import attribute

CHECK = "files.concurrent_staging_keeps_data_apart"


class StagingBinding(FindingPolicy):
    """``call(data) -> result`` stages `data` in a temp file; `result` must come from `data` alone.

    A worker's exception is a violation when the same call alone succeeds (only concurrency
    breaks it); one the call raises alone too, and staged files left behind, are findings."""

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

    #: Exception type -> what the call raised alone too; reported once after the run.
    alone: dict[str, str] = {}
    left_behind: list[str] = []

    def check(inputs: list[bytes], results: list[WorkerResult]) -> Violation | None:
        wrong = []
        raised = []
        for r in results:
            if r.error is not None:
                try:
                    call(inputs[r.index])
                except Exception as again:  # it fails without any other call: not a mix-up
                    alone.setdefault(
                        type(again).__name__,
                        f"{binding.call}(data) raised {type(again).__name__}: "
                        f"{again} with no other call running",
                    )
                    continue
                raised.append(r)
                continue
            want = expect(inputs[r.index]) if expect else inputs[r.index]
            if r.value != want:
                wrong.append(
                    f"worker {r.index}: got {_digest(r.value)} "
                    f"({len(r.value) if isinstance(r.value, bytes) else '?'} bytes), "
                    f"expected {_digest(want)}"
                )
        if staging:
            # Leftovers are a cleanup bug, not a mix-up; cleared so each attempt starts empty.
            for name in sorted(os.listdir(staging)):
                left_behind.append(name)
                path = os.path.join(staging, name)
                if os.path.isfile(path):
                    os.unlink(path)
        if raised:
            first = raised[0].error
            kinds = sorted({type(r.error).__name__ for r in raised})
            return Violation(
                what=(
                    f"{len(raised)} of {len(results)} workers raised {', '.join(kinds)}, "
                    "which the same call alone does not: concurrent calls share what they "
                    "stage"
                ),
                observed={"worker_errors": len(raised)},
                expected={"worker_errors": 0},
                details=(f"worker {raised[0].index}: {type(first).__name__}: {first}", *wrong[:5]),
            )
        if not wrong:
            return None
        return Violation(
            what=(
                f"{len(wrong)} of {len(results)} concurrent calls got data that is not their "
                "own: they staged it at one predictable shared path"
            ),
            observed={"corrupted": len(wrong)},
            expected={"corrupted": 0},
            details=tuple(wrong[:6]),
        )

    with collect() as findings, _private_tempdir(binding.private_tmp) as staging:
        result = race_threads(
            CHECK,
            setup,
            work,
            check,
            ThreadRace(
                workers=binding.workers,
                mode=Mode.BARRIER,
                seed=binding.seed,
                budget=Budget(seconds=binding.budget),
                expected_errors=(Exception,),
            ),
        )
        for problem in alone.values():
            report_finding(CHECK, problem, rerun_command())
        if left_behind:
            report_finding(
                CHECK,
                f"staged files were left behind: {sorted(set(left_behind))[:5]}",
                rerun_command(),
            )
    assert_holds(result)
    fail_on(CHECK, findings, binding.server_errors)
