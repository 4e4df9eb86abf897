"""replay.nonce_once: a nonce is accepted once; N concurrent equal nonces give exactly 1 accept."""

from __future__ import annotations

from harness.pack import (
    Round,
    Target,
    Violation,
    assert_holds,
    collect,
    contend,
    fail_on,
    report_finding,
    run_sequence,
    scenario,
)

from ._common import ReplayBinding, Sender

CHECK = "replay.nonce_once"


@scenario("replay.nonce_once", binding=ReplayBinding)
def a_nonce_is_accepted_exactly_once(binding: ReplayBinding, target: Target) -> None:
    """Replay a nonce in sequence (second is rejected), then race N copies of one (1 accept)."""
    sender = Sender(binding, target)

    def in_sequence(attempt: int) -> Violation | None:
        import time

        nonce = sender.nonce(f"seq{attempt}")
        first = sender.send(nonce, time.time())
        second = sender.send(nonce, time.time())
        if first.accepted is True and second.crashed:
            # The replay was not accepted; that it crashed the guard is reported apart.
            report_finding(
                CHECK, f"the replay of an accepted nonce -> {second.shown}", second.repro
            )
            return None
        if first.accepted is True and second.accepted is False:
            return None
        return Violation(
            "a nonce was not accepted exactly once in sequence: the replay protection does "
            "not remember nonces it accepted",
            observed={"first": first.shown, "replay": second.shown},
            expected={"first": "accepted", "replay": "rejected"},
        )

    def judge(r: Round) -> Violation | None:
        # A 5xx or a crash is out of class (contend reports it): a round in which no delivery
        # was accepted because the guard crashed proves nothing either way.
        if r.successes == 1 or (r.successes == 0 and r.out_of_class):
            return None
        return Violation(
            f"{r.successes} of {len(r.answers)} concurrent deliveries of one nonce were "
            "accepted: the seen-check and the record are not atomic (lock the nonce dedup)",
            observed={
                "accepted": r.successes,
                "rejected": r.conflicts,
                "out_of_class": r.out_of_class,
            },
            expected={"accepted": 1, "rejected": len(r.answers) - 1},
        )

    with collect() as findings:
        assert_holds(run_sequence(CHECK, in_sequence, seed=binding.seed))
    # A 5xx is no acceptance: one accepted delivery beside crashed ones already answers the
    # question "was the nonce accepted more than once?".
    contend(
        CHECK,
        binding.contention(),
        target,
        judge,
        server_errors=binding.server_errors,
        contended=lambda r: r.decided >= 1,
    )
    fail_on(CHECK, findings, binding.server_errors)
