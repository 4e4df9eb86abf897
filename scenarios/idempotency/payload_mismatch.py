"""idempotency.payload_mismatch: reusing a key with a different payload gets 422."""

from __future__ import annotations

from harness.concurrency.attempts import run_sequence
from harness.concurrency.report import assert_holds
from harness.concurrency.result import Violation
from harness.errors import UserError
from harness.scenario import scenario
from harness.targets.base import Target

from ._common import IdempotencyBinding, Sender


@scenario("idempotency.payload_mismatch", binding=IdempotencyBinding)
def the_same_key_with_another_payload_gets_422(binding: IdempotencyBinding, target: Target) -> None:
    """Send a key with one payload, then with ``other_json``: the second gets 422, no effect."""
    if binding.other_json is None:
        raise UserError(
            "binding.other_json: missing; this check needs a second, different payload "
            "(write other_json = {target = 'other-{key}'})",
            where="binding.other_json",
        )
    sender = Sender(binding, target)

    def check(attempt: int) -> Violation | None:
        key = sender.key(f"mismatch{attempt}")
        first = sender.send(key, sender.payload(key))
        before = sender.effects(key)
        second = sender.send(key, sender.payload(key, other=True))
        made = sender.effects(key) - before
        if first.status in binding.success and second.status in binding.mismatch and made == 0:
            return None
        return Violation(
            f"the same Idempotency-Key with a different payload got {second.status}, not "
            f"{sorted(binding.mismatch)}, and caused {made} new effect(s): the server must "
            "fingerprint the payload and refuse a mismatch",
            observed={"second_status": second.status, "new_effects": made},
            expected={"second_status": sorted(binding.mismatch), "new_effects": 0},
            details=(f"first: {first.show()}", f"second: {second.show()}"),
        )

    assert_holds(run_sequence("idempotency.payload_mismatch", check, seed=binding.seed))
