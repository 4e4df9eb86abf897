"""idempotency.concurrent_requests: concurrent same-key requests cause exactly one effect."""

from __future__ import annotations

from harness.pack import Round, Target, Violation, contend, scenario

from ._common import IdempotencyBinding


@scenario("idempotency.concurrent_requests", binding=IdempotencyBinding)
def concurrent_same_key_requests_cause_one_effect(
    binding: IdempotencyBinding, target: Target
) -> None:
    """N requests with one key at once: 1 effect; the others get 409 or the stored response."""
    contention = binding.contention()

    def judge(r: Round) -> Violation | None:
        effects = r.effects()
        bodies = {repr(a.value) for a in r.answers if a.kind.value == "success"}
        if effects == 1 and len(bodies) <= 1 and r.successes >= 1:
            return None
        # A 429 or a 5xx is neither a duplicate nor the stored answer, and the request that
        # claimed the key may be among them: only a second effect, a second success body or a
        # success with no effect is judged then.
        if r.out_of_class and effects <= 1 and len(bodies) <= 1 and effects >= min(r.successes, 1):
            return None
        return Violation(
            f"{len(r.answers)} concurrent requests with one Idempotency-Key caused {effects} "
            f"effect(s) and {len(bodies)} different success bodies: the key must be claimed "
            "atomically, and the others must get 409 or the stored response",
            observed={
                "effects": effects,
                "successes": r.successes,
                "in_flight": r.conflicts,
                "distinct_success_bodies": len(bodies),
                "out_of_class": r.out_of_class,
            },
            expected={"effects": 1, "distinct_success_bodies": 1},
        )

    contend(
        "idempotency.concurrent_requests",
        contention,
        target,
        judge,
        server_errors=binding.server_errors,
    )
