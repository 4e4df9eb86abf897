"""The pure filters: shard, test selection, and k-of-n → status."""

from __future__ import annotations

import pytest

from harness.errors import UserError
from harness.mutation.filters import ALL_TESTS, decide, only_ids, select_tests, shard, should_stop
from harness.outcomes import MutantStatus, RunOutcome

F, P, T, NC = RunOutcome.FAILED, RunOutcome.PASSED, RunOutcome.TIMED_OUT, RunOutcome.NOT_COLLECTED


def test_shards_partition_the_mutants():
    items = list(range(10))
    parts = [shard(items, f"{k}/3") for k in range(3)]
    assert sorted(x for part in parts for x in part) == items
    assert parts[1] == [1, 4, 7]
    assert shard(items, None) == items


@pytest.mark.parametrize("spec", ["3/3", "-1/2", "a/b", "1", "0/0"])
def test_bad_shard_is_a_user_error(spec):
    with pytest.raises(UserError, match="shard="):
        shard([1], spec)


def test_only_ids():
    class M:
        def __init__(self, id):
            self.id = id

    items = [M("a"), M("b")]
    assert [m.id for m in only_ids(items, ["b"])] == ["b"]
    assert only_ids(items, None) == items


def test_select_tests_by_line_and_claim():
    lines = {3: ["t.py::a", "t.py::b[1]"], 4: ["t.py::c"], 9: [""]}
    assert select_tests(lines, [3], None) == ("t.py::a", "t.py::b[1]")
    assert select_tests(lines, [3, 4], ["t.py::b"]) == ("t.py::b[1]",)
    assert select_tests(lines, [5], None) == ()
    # a line run at import time reaches every test (or every claimed test)
    assert select_tests(lines, [9], None) == ALL_TESTS
    assert select_tests(lines, [9], ["t.py::a"]) == ("t.py::a",)


@pytest.mark.parametrize(
    "outcomes, needed, status",
    [
        ([F], 1, MutantStatus.KILLED),
        ([P], 1, MutantStatus.SURVIVED),
        ([T], 1, MutantStatus.TIMEOUT),
        ([NC], 1, MutantStatus.KILLED),
        ([P, F, P], 2, MutantStatus.SURVIVED),
        ([F, P, F], 2, MutantStatus.KILLED),
        ([T, F], 2, MutantStatus.KILLED),
        ([RunOutcome.NO_TESTS], 1, MutantStatus.INVALID),
    ],
)
def test_k_of_n_decides_the_status(outcomes, needed, status):
    assert decide(outcomes, needed) is status


def test_repeats_stop_once_the_verdict_is_settled():
    assert should_stop(kills=2, runs=2, n=3, needed=2)  # killed already
    assert should_stop(kills=0, runs=2, n=3, needed=2)  # cannot reach 2 any more
    assert not should_stop(kills=1, runs=2, n=3, needed=2)
