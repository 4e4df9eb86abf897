"""Pure list-in, list-out functions: sharding, test selection, and k-of-n → status."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import TypeVar

from ..errors import UserError
from ..outcomes import MutantStatus, RunOutcome

T = TypeVar("T")

#: The whole selected suite (the mutant's line runs at import time, so every test reaches it).
ALL_TESTS = ("*",)


def parse_shard(text: str) -> tuple[int, int]:
    try:
        k_text, n_text = text.split("/")
        k, n = int(k_text), int(n_text)
    except ValueError:
        k = n = -1
    if n < 1 or not 0 <= k < n:
        raise UserError(f"shard={text!r}: not k/n with 0 <= k < n", hint="write e.g. --shard 0/4")
    return k, n


def shard(items: Sequence[T], spec: str | None) -> list[T]:
    """The k-th of n interleaved slices (items k, k+n, k+2n, …); all items when spec is None."""
    if spec is None:
        return list(items)
    k, n = parse_shard(spec)
    return [item for i, item in enumerate(items) if i % n == k]


def only_ids(items: Sequence[T], ids: Sequence[str] | None) -> list[T]:
    """The items whose `.id` is in `ids`; all items when ids is None."""
    if ids is None:
        return list(items)
    wanted = set(ids)
    return [item for item in items if getattr(item, "id", None) in wanted]


def select_tests(
    file_lines: Mapping[int, Sequence[str]],
    reach: Sequence[int],
    allowed: Sequence[str] | None,
    headers: Mapping[int, Sequence[int]] | None = None,
) -> tuple[str, ...]:
    """The node ids that reach any of `reach` (a file's line → contexts map from the baseline).

    The empty context means the line ran at import time: every test is affected, so the result
    is ALL_TESTS. A function's header line (`headers`: header line → body lines) is the
    exception: the tests that reach its body are the ones a changed header can affect. `allowed`
    (the claim's tests) narrows the result when given.
    """
    headers = headers or {}
    contexts: set[str] = set()
    for line in reach:
        here = file_lines.get(line, ())
        if "" in here and line in headers:
            for body_line in headers[line]:
                contexts.update(c for c in file_lines.get(body_line, ()) if c)
            here = [c for c in here if c]
        contexts.update(here)
    if "" in contexts:
        return tuple(allowed) if allowed else ALL_TESTS
    chosen = sorted(c for c in contexts if c)
    if allowed is not None:
        chosen = [c for c in chosen if any(covers(a, c) for a in allowed)]
    return tuple(chosen)


def covers(selector: str, nodeid: str) -> bool:
    """Whether a claim's test selector (file, class, function or node id) names `nodeid`.

    `tests/t.py` covers every test in that file, `tests/t.py::TestX` its methods, and
    `t.py::test_x` its parametrised cases. An absolute path (a generated scenario test that lives
    outside the checkout) matches the node id pytest reports for it relative to the rootdir.
    """
    sel_path, _, sel_rest = selector.partition("::")
    node_path, _, node_rest = _base_id(nodeid).partition("::")
    if not _same_file(sel_path, node_path):
        return False
    if not sel_rest:
        return True
    sel_parts = _base_id(sel_rest).split("::")
    return node_rest.split("::")[: len(sel_parts)] == sel_parts


def _same_file(a: str, b: str) -> bool:
    a = os.path.normpath(a)
    b = os.path.normpath(b)
    if a == b:
        return True
    # One side may be absolute or `..`-relative: compare the trailing path components.
    a_parts = [p for p in a.split(os.sep) if p not in ("", ".", "..")]
    b_parts = [p for p in b.split(os.sep) if p not in ("", ".", "..")]
    n = min(len(a_parts), len(b_parts))
    return (
        n > 0
        and a_parts[-n:] == b_parts[-n:]
        and (os.path.isabs(a) or os.path.isabs(b) or ".." in (a + b))
    )


def _base_id(nodeid: str) -> str:
    """`t.py::test_x[param]` → `t.py::test_x`, so a claim naming a function covers its params."""
    return nodeid.split("[", 1)[0]


def is_kill(outcome: RunOutcome) -> bool:
    """Whether one test run detected the mutant. Collection/import errors count as detection,
    and so do a scenario target that no longer starts and a test process that died before pytest
    finished: the mutant broke the service or the tests."""
    return outcome in (
        RunOutcome.FAILED,
        RunOutcome.TIMED_OUT,
        RunOutcome.NOT_COLLECTED,
        RunOutcome.INTERNAL_ERROR,
        RunOutcome.TARGET_ERROR,
        RunOutcome.CRASHED,
    )


def decide(outcomes: Sequence[RunOutcome], needed: int) -> MutantStatus:
    """Turn the outcomes of a mutant's runs into its status: killed when ≥ `needed` runs detect it.

    A kill where every detecting run timed out is reported as TIMEOUT (still detected).
    """
    if any(o is RunOutcome.NO_TESTS for o in outcomes):
        return MutantStatus.INVALID
    kills = [o for o in outcomes if is_kill(o)]
    if len(kills) < needed:
        return MutantStatus.SURVIVED
    if all(o is RunOutcome.TIMED_OUT for o in kills):
        return MutantStatus.TIMEOUT
    return MutantStatus.KILLED


def should_stop(kills: int, runs: int, n: int, needed: int) -> bool:
    """Stop repeating once the verdict cannot change."""
    return kills >= needed or kills + (n - runs) < needed
