"""idempotency.key_validation: a missing, blank or over-long key is refused with 400."""

from __future__ import annotations

from harness.pack import Target, Violation, run_sequence, scenario

from ._common import IdempotencyBinding, Sender


@scenario("idempotency.key_validation", binding=IdempotencyBinding)
def a_missing_blank_or_overlong_key_gets_400(binding: IdempotencyBinding, target: Target) -> None:
    """No key, "", "   " and max+1 characters get 400 and no effect; max characters are fine."""
    sender = Sender(binding, target)
    limit = binding.max_key_length

    def check(attempt: int) -> Violation | None:
        cases: list[tuple[str, str | None]] = [
            ("missing", None),
            ("empty", ""),
            ("blank", "   "),
            (f"{limit + 1} chars", "k" * (limit + 1)),
        ]
        label = sender.key(f"valid{attempt}")
        wrong = []
        before = sender.effects(label)
        for name, key in cases:
            reply = sender.send(key, sender.payload(label))
            # A 5xx on a bad key refused it, badly: a finding. Whether it ran anyway is what
            # the effect count below judges.
            if reply.status not in binding.missing_key and not sender.out_of_class(
                f"a request with a {name} key", reply
            ):
                wrong.append(f"{name} key -> {reply.show()}")
        made = sender.effects(label) - before
        longest = (sender.key(f"L{attempt}") + "k" * limit)[:limit]
        ok = sender.send(longest, sender.payload(label))
        if ok.status not in binding.success and not sender.out_of_class(
            f"a request with a key of exactly {limit} chars", ok
        ):
            wrong.append(f"a key of exactly {limit} chars -> {ok.show()} (must be accepted)")
        if not wrong and made == 0:
            return None
        return Violation(
            f"{len(wrong)} key case(s) were not refused with {sorted(binding.missing_key)}"
            + (f" and {made} effect(s) happened for refused requests" if made else "")
            + ": the Idempotency-Key header must be required, non-blank and at most "
            f"{limit} characters",
            observed={"wrong_answers": len(wrong), "effects_of_refused": made},
            expected={"wrong_answers": 0, "effects_of_refused": 0},
            details=tuple(wrong),
        )

    sender.verdict(
        "idempotency.key_validation",
        run_sequence("idempotency.key_validation", check, seed=binding.seed),
    )
