"""idempotency.failure_rollback: a failure after the claim releases it, so a retry succeeds."""

from __future__ import annotations

from typing import Any

from harness.pack import Target, Violation, assert_holds, run_sequence, scenario

from ._common import IdempotencyBinding, Sender


class InjectedFailure(RuntimeError):
    """Raised by the step after the claim, on purpose."""


@scenario("idempotency.failure_rollback", binding=IdempotencyBinding)
def a_failure_after_the_claim_leaves_no_claim_behind(
    binding: IdempotencyBinding, target: Target
) -> None:
    """Make the step after the claim fail once; the retry with the same key then succeeds,
    exactly once (a replay of the retry returns its stored answer)."""
    sender = Sender(binding, target)
    attr, original = sender.require_fault_attr()

    def check(attempt: int) -> Violation | None:
        key = sender.key(f"rollback{attempt}")
        failed = {"count": 0}

        def fail_once(*args: Any, **kwargs: Any) -> Any:
            if failed["count"] == 0:
                failed["count"] += 1
                raise InjectedFailure("injected failure after the claim")
            return original(*args, **kwargs)

        setattr(sender.service, attr, fail_once)
        try:
            first = sender.send(key, sender.payload(key))
        finally:
            setattr(sender.service, attr, original)
        before = sender.effects(key)
        retry = sender.send(key, sender.payload(key))
        replay = sender.send(key, sender.payload(key))
        made = sender.effects(key) - before
        if failed["count"] == 0:
            return Violation(
                f"binding.fault_attr={attr!r} was never called: the injected failure did not "
                "happen, so the check proves nothing (name the step that runs after the claim)",
                observed={"injected_failures": 0},
                expected={"injected_failures": 1},
            )
        recovered = retry.status in binding.success and replay == retry
        if first.status not in binding.success and recovered and made == 1:
            return None
        return Violation(
            f"after a failure behind the claim, the retry got {retry.show()} and a replay of it "
            f"{replay.show()}, with {made} effect(s): the failed request must roll its claim "
            "back so the retry runs once, and the retry's answer is then the stored one",
            observed={
                "retry_status": retry.status,
                "replay_matches": replay == retry,
                "effects": made,
            },
            expected={
                "retry_status": sorted(binding.success),
                "replay_matches": True,
                "effects": 1,
            },
            details=(f"failed request: {first.show()}",),
        )

    assert_holds(run_sequence("idempotency.failure_rollback", check, seed=binding.seed))
