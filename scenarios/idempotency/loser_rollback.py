"""idempotency.loser_rollback: a loser's cleanup never removes the winner's claim."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from harness.pack import Target, Violation, assert_holds, run_sequence, scenario

from ._common import IdempotencyBinding, Sender

#: Seconds the winner may take to reach its step; generous because CI machines are busy.
_ENTER_TIMEOUT = 10.0


@scenario("idempotency.loser_rollback", binding=IdempotencyBinding)
def a_losers_rollback_keeps_the_winners_claim(binding: IdempotencyBinding, target: Target) -> None:
    """Hold the winner inside its step; losers come and go; a late request must still get 409."""
    sender = Sender(binding, target)
    attr, original = sender.require_fault_attr()

    def check(attempt: int) -> Violation | None:
        key = sender.key(f"loser{attempt}")
        before = sender.effects(key)
        entered = threading.Event()
        release = threading.Event()

        def held(*args: Any, **kwargs: Any) -> Any:
            entered.set()
            release.wait(_ENTER_TIMEOUT)
            return original(*args, **kwargs)

        setattr(sender.service, attr, held)
        with ThreadPoolExecutor(max_workers=1) as pool:
            try:
                winner = pool.submit(sender.send, key, sender.payload(key))
                if not entered.wait(_ENTER_TIMEOUT):
                    release.set()
                    return Violation(
                        f"binding.fault_attr={attr!r} was never called by the first request, so "
                        "the winner could not be held inside its step",
                        observed={"winner_held": False},
                        expected={"winner_held": True},
                    )
                setattr(sender.service, attr, original)
                losers = [sender.send(key, sender.payload(key)) for _ in range(3)]
                late = sender.send(key, sender.payload(key))
            finally:
                setattr(sender.service, attr, original)
                release.set()
            first = winner.result(timeout=_ENTER_TIMEOUT)
        made = sender.effects(key) - before
        losers_ok = all(r.status in binding.in_flight for r in losers)
        if losers_ok and late.status in binding.in_flight and made == 1:
            return None
        return Violation(
            f"while the winner was still running, the losers got {[r.status for r in losers]} "
            f"and a later request got {late.status} with {made} effect(s) in the end: a loser "
            "released (deleted) the winner's claim in its cleanup",
            observed={"losers": [r.status for r in losers], "late": late.status, "effects": made},
            expected={
                "losers": sorted(binding.in_flight),
                "late": sorted(binding.in_flight),
                "effects": 1,
            },
            details=(f"winner: {first.show()}",),
        )

    assert_holds(run_sequence("idempotency.loser_rollback", check, seed=binding.seed))
