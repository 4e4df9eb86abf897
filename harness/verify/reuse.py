"""Reusing a claim's base and head runs while nothing they read has changed.

A run is stored under a hash of its inputs (`harness.mutation.inputs`: the modules of its tests,
their conftest files, the rest of the side's tree, the interpreter with its distributions and
the harness) and of how it ran (pytest args, env, timeout, perturbation spec and seed, run
index). Only runs that judged the tests, PASSED or FAILED, are stored: a timeout, a crash or a
collection error may come from the machine, and runs again.

`harness verify --fresh` turns reuse off: every run, baseline and mutant runs again.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from ..mutation.inputs import Inputs, environment, relative_spec
from ..mutation.store import ResultStore, cache_key
from ..outcomes import RunOutcome
from .results import RunRecord, run_record_from_jsonable, to_jsonable

#: Outcomes that depend on the code alone, and so are worth keeping.
KEPT = frozenset({RunOutcome.PASSED, RunOutcome.FAILED})


class RunReuse:
    """The stored base and head runs of a verify run's claims, keyed by their inputs."""

    def __init__(self, store: Path | None, sides: Mapping[str, Inputs]) -> None:
        self._store = ResultStore(store) if store is not None else None
        self._sides = dict(sides)

    def key(
        self,
        side: str,
        root: Path,
        nodeids: Sequence[str],
        *,
        python: str,
        how: Sequence[object],
        perturb: str | None,
        index: int,
    ) -> str:
        return cache_key(
            "claim-run",
            side,
            self._sides[side].for_tests(nodeids),
            environment(python),
            list(nodeids),
            list(how),
            relative_spec(perturb, root),
            index,
        )

    def get(self, key: str) -> RunRecord | None:
        if self._store is None:
            return None
        data = self._store.get_record(key)  # the store is thread-safe
        if data is None:
            return None
        return replace(run_record_from_jsonable(data), reused=True)

    def put(self, key: str, record: RunRecord) -> None:
        if self._store is None or record.outcome not in KEPT:
            return
        data: dict[str, Any] = to_jsonable(record)
        self._store.put_record(key, "claim-run", data)

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
