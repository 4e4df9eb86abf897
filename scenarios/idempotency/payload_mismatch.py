"""idempotency.payload_mismatch: reusing a key with a different payload gets 422."""

from __future__ import annotations

from harness.pack import Target, UserError, Violation, run_sequence, scenario

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
        if sender.out_of_class("the first request with the key", first):
            return Violation(
                "could not judge the mismatch: the first request with the key got a server "
                "error or 429, so nothing was stored to compare with (see the findings)",
                observed={"first_status": first.status},
                expected={"first_status": sorted(binding.success)},
            )
        before = sender.effects(key)
        second = sender.send(key, sender.payload(key, other=True))
        made = sender.effects(key) - before
        # A 5xx on the mismatched payload refused it, badly: a finding; the effect count
        # still says whether it ran.
        refused = second.status in binding.mismatch or sender.out_of_class(
            "the same key with another payload", second
        )
        if first.status in binding.success and refused and made == 0:
            return None
        return Violation(
            f"the same Idempotency-Key with a different payload got {second.status}, not "
            f"{sorted(binding.mismatch)}, and caused {made} new effect(s): the server must "
            "fingerprint the payload and refuse a mismatch",
            observed={"second_status": second.status, "new_effects": made},
            expected={"second_status": sorted(binding.mismatch), "new_effects": 0},
            details=(f"first: {first.show()}", f"second: {second.show()}"),
        )

    sender.verdict(
        "idempotency.payload_mismatch",
        run_sequence("idempotency.payload_mismatch", check, seed=binding.seed),
    )
