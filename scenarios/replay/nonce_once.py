"""replay.nonce_once: a nonce is accepted once; N concurrent equal nonces give exactly 1 accept."""

from __future__ import annotations

from harness.concurrency.attempts import run_sequence
from harness.concurrency.contend import Round, contend
from harness.concurrency.report import assert_holds
from harness.concurrency.result import Violation
from harness.scenario import scenario
from harness.targets.base import Target

from ._common import ReplayBinding, Sender


@scenario("replay.nonce_once", binding=ReplayBinding)
def a_nonce_is_accepted_exactly_once(binding: ReplayBinding, target: Target) -> None:
    """Replay a nonce in sequence (second is rejected), then race N copies of one (1 accept)."""
    sender = Sender(binding, target)

    def in_sequence(attempt: int) -> Violation | None:
        import time

        nonce = sender.nonce(f"seq{attempt}")
        first = sender.send(nonce, time.time())
        second = sender.send(nonce, time.time())
        if first.accepted is True and second.accepted is False:
            return None
        return Violation(
            "a nonce was not accepted exactly once in sequence: the replay protection does "
            "not remember nonces it accepted",
            observed={"first": first.shown, "replay": second.shown},
            expected={"first": "accepted", "replay": "rejected"},
        )

    assert_holds(run_sequence("replay.nonce_once", in_sequence, seed=binding.seed))

    def judge(r: Round) -> Violation | None:
        if r.successes == 1:
            return None
        return Violation(
            f"{r.successes} of {len(r.answers)} concurrent deliveries of one nonce were "
            "accepted: the seen-check and the record are not atomic (lock the nonce dedup)",
            observed={"accepted": r.successes, "rejected": r.conflicts},
            expected={"accepted": 1, "rejected": len(r.answers) - 1},
        )

    assert_holds(contend("replay.nonce_once", binding.contention(), target, judge))
