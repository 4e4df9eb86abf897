"""replay.out_of_order_eviction: every expired nonce is evicted, whatever the insertion order."""

from __future__ import annotations

from harness.pack import Target, Violation, assert_holds, run_sequence, scenario

from ._common import FakeClock, ReplayBinding, Sender, require_in_process

#: Seconds after the start at which each nonce's timestamp lies, in insertion order.
_OFFSETS = (50.0, 10.0, 30.0, 20.0, 40.0)


@scenario("replay.out_of_order_eviction", binding=ReplayBinding)
def eviction_removes_every_expired_entry_even_out_of_order(
    binding: ReplayBinding, target: Target
) -> None:
    """Insert nonces with timestamps out of order, move a fake clock past most of them, and
    deliver one more: only the unexpired entries (and the new one) remain."""
    require_in_process(binding, "out_of_order_eviction")

    def check(attempt: int) -> Violation | None:
        clock = FakeClock()
        sender = Sender(binding, target, clock=clock)
        start = clock()
        clock.advance(max(_OFFSETS))
        for i, offset in enumerate(_OFFSETS):
            verdict = sender.send(sender.nonce(f"ooo{attempt}-{i}"), start + offset)
            if verdict.accepted is not True:
                return Violation(
                    f"a fresh nonce was not accepted ({verdict.shown}); the check cannot run",
                    observed={"accepted": False},
                    expected={"accepted": True},
                )
        # Now every entry but the newest (offset 50) is older than the window.
        clock.value = start + max(_OFFSETS) - 1 + binding.window
        survivors = sum(1 for o in _OFFSETS if clock() - (start + o) <= binding.window)
        sender.send(sender.nonce(f"trigger{attempt}"), clock())
        size = sender.size()
        if size == survivors + 1:
            return None
        return Violation(
            f"{size} nonces remain after eviction, but only {survivors + 1} are inside the "
            f"{binding.window:g}s window: eviction stopped at the first unexpired entry in "
            "insertion order (or never ran), leaving expired ones inserted after it",
            observed={"state_size": size, "clock": repr(clock)},
            expected={"state_size": survivors + 1},
        )

    assert_holds(run_sequence("replay.out_of_order_eviction", check, seed=binding.seed))
