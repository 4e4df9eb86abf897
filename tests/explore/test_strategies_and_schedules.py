"""Strategies are values whose repr rebuilds them; schedules round-trip; searches behave."""

from __future__ import annotations

import asyncio

import pytest
from explore_services import drain_buggy, lock_swap_buggy
from hypothesis import given
from hypothesis import strategies as st

from harness import UserError
from harness.concurrency.explore import explore, parse, schedule
from harness.concurrency.explore.schedule import decode, deviations, encode
from harness.concurrency.explore.strategies import exhaustive, fifo, hypothesis, mixed, pct, random


@given(st.lists(st.integers(0, 5), max_size=60))
def test_schedule_text_round_trips_up_to_trailing_zeros(choices: list[int]) -> None:
    text = encode(choices)
    back = list(decode(text))
    assert back == choices[: len(back)]
    assert all(c == 0 for c in choices[len(back) :])
    assert encode(back) == text


def test_fifo_is_the_empty_schedule_and_runs_compress() -> None:
    assert encode([0, 0, 0]) == ""
    assert encode([0, 0, 0, 1, 2, 2, 0]) == "0*3.1.2*2"
    assert deviations(decode("0*3.1.2*2")) == 3


@pytest.mark.parametrize(
    "value",
    [
        fifo(),
        random(seed=4),
        pct(depth=2, seed=9),
        pct(depth=3, seed=1, steps=57),
        mixed(seed=2),
        hypothesis(seed=3),
        exhaustive(preemptions=1),
        schedule("0*3.1"),
    ],
)
def test_a_strategy_repr_parses_back_to_an_equal_value(value: object) -> None:
    assert parse(repr(value)) == value


@pytest.mark.parametrize(
    "text", ["pct(depth=0)", "nonsense()", "os.system('x')", "pct(", "schedule('a.b')"]
)
def test_a_bad_strategy_is_a_user_error_that_says_what_to_write(text: str) -> None:
    with pytest.raises(UserError) as caught:
        parse(text)
    assert "write" in caught.value.one_line()


def test_run_i_of_a_seeded_strategy_uses_seed_plus_i() -> None:
    assert repr(pct(depth=3, seed=10).for_run(5)) == "pct(depth=3, seed=15)"
    assert repr(mixed(seed=10).for_run(4)) == "random(seed=14)"
    assert repr(mixed(seed=10).for_run(5)) == "pct(depth=3, seed=15)"


def test_exploring_is_deterministic_for_a_seed() -> None:
    first = explore(lock_swap_buggy, random(seed=21), schedules=200)
    second = explore(lock_swap_buggy, random(seed=21), schedules=200)
    assert first.first_failure_at == second.first_failure_at
    assert first.failing_run is not None and second.failing_run is not None
    assert first.failing_run.choices == second.failing_run.choices


def test_hypothesis_shrinks_to_a_schedule_no_longer_than_a_random_failure() -> None:
    shrunk = explore(lock_swap_buggy, hypothesis(seed=0), schedules=200)
    raw = explore(lock_swap_buggy, random(seed=0), schedules=200)
    assert shrunk.failing_run is not None and raw.failing_run is not None
    small, big = shrunk.failing_run.choices, raw.failing_run.choices
    assert deviations(small) <= deviations(big)
    assert deviations(small) <= 3
    assert repr(shrunk.failing_run.strategy).startswith("schedule(")


def test_exhaustive_search_enumerates_each_schedule_once_and_says_when_it_is_complete() -> None:
    async def scenario() -> None:
        async def step_twice() -> None:
            await asyncio.sleep(0)
            await asyncio.sleep(0)

        await asyncio.gather(step_twice(), step_twice(), step_twice())

    bounded = [explore(scenario, exhaustive(preemptions=b), schedules=10_000) for b in (0, 1, 2)]
    assert [r.complete for r in bounded] == [True, True, True]
    assert bounded[0].schedules == 1  # no deviation from FIFO: FIFO itself
    counts = [r.schedules for r in bounded]
    assert counts == sorted(counts) and counts[1] < counts[2]
    assert all(r.distinct == r.schedules for r in bounded)
    capped = explore(scenario, exhaustive(preemptions=2), schedules=5)
    assert capped.schedules == 5 and not capped.complete


def test_pct_measures_steps_from_the_fifo_run_and_puts_them_in_the_replay_token() -> None:
    result = explore(drain_buggy, pct(depth=3, seed=0), schedules=200)
    assert result.failing_run is not None
    fifo_steps = explore(drain_buggy, fifo()).max_steps
    token = repr(result.failing_run.strategy)
    steps = int(token.rsplit("steps=", 1)[1].rstrip(")"))
    assert steps >= fifo_steps  # k: the most steps any earlier run took, FIFO's included
