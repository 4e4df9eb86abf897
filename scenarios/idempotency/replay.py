"""idempotency.replay: a replay returns the stored status and body, and causes one effect."""

from __future__ import annotations

from harness.pack import Target, Violation, run_sequence, scenario

from ._common import IdempotencyBinding, Sender


@scenario("idempotency.replay", binding=IdempotencyBinding)
def a_replay_returns_the_stored_response_with_one_effect(
    binding: IdempotencyBinding, target: Target
) -> None:
    """Send the same key and payload three times: identical answers, exactly one effect."""
    sender = Sender(binding, target)

    def check(attempt: int) -> Violation | None:
        key = sender.key(f"replay{attempt}")
        before = sender.effects(key)
        replies = [sender.send(key, sender.payload(key)) for _ in range(3)]
        made = sender.effects(key) - before
        # A 429 or a 5xx is not a second answer to compare (nor a duplicate): the replay is
        # judged on the other replies, and the effect count on all of them.
        judged = [
            r
            for i, r in enumerate(replies)
            if not sender.out_of_class(f"request {i + 1} of 3 with one key", r)
        ]
        if not judged and made <= 1:
            return Violation(
                "could not judge the replay: all 3 requests got a server error or 429 (see "
                "the findings)",
                observed={"judged_replies": 0},
                expected={"judged_replies": ">= 1"},
                details=tuple(f"reply {i + 1}: {r.show()}" for i, r in enumerate(replies)),
            )
        first = judged[0] if judged else replies[0]
        same = all(r == first for r in judged)
        if first.status in binding.success and same and made == 1:
            return None
        return Violation(
            f"3 requests with one Idempotency-Key caused {made} effect(s) and "
            f"{len({r.show() for r in replies})} distinct answer(s): a replay must return the "
            "stored status and body without running the operation again",
            observed={"effects": made, "distinct_answers": len({r.show() for r in replies})},
            expected={"effects": 1, "distinct_answers": 1},
            details=tuple(f"reply {i + 1}: {r.show()}" for i, r in enumerate(replies)),
        )

    sender.verdict(
        "idempotency.replay", run_sequence("idempotency.replay", check, seed=binding.seed)
    )
