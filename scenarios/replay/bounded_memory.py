"""replay.bounded_memory: a flood of distinct nonces never grows the guard past its bound."""

from __future__ import annotations

import time

from harness.pack import Target, Violation, report_finding, scenario

from ._common import ReplayBinding, Sender, judge_sequence, require_in_process


@scenario("replay.bounded_memory", binding=ReplayBinding)
def memory_stays_bounded_under_a_nonce_flood(binding: ReplayBinding, target: Target) -> None:
    """Deliver ``flood`` fresh distinct nonces (default 3x the bound); the state stays <= bound."""
    require_in_process(binding, "bounded_memory")
    sender = Sender(binding, target)
    bound = sender.bound()
    flood = binding.flood or 3 * bound

    def check(attempt: int) -> Violation | None:
        peak = 0
        crashed = []
        for i in range(flood):
            verdict = sender.send(sender.nonce(f"flood{attempt}-{i}"), time.time())
            if verdict.crashed:
                crashed.append(verdict)
            if i % 16 == 0 or i == flood - 1:
                peak = max(peak, sender.size())
        if crashed:
            report_finding(
                "replay.bounded_memory",
                f"{len(crashed)} of {flood} fresh nonces "
                f"were neither accepted nor rejected: {crashed[0].shown}",
                crashed[0].repro,
            )
        if peak <= bound and len(crashed) == flood:
            return Violation(  # a guard that never took a nonce was never flooded
                f"every one of {flood} fresh nonces failed ({crashed[0].shown}), so the flood "
                "never reached the guard's state: the check cannot judge its bound",
                observed={"failed": flood},
                expected={"failed": f"< {flood}"},
            )
        if peak <= bound:
            return None
        return Violation(
            f"after {flood} distinct nonces the guard holds {peak} entries, above its bound "
            f"{bound}: a nonce flood grows memory without limit (evict the oldest)",
            observed={"state_size": peak},
            expected={"state_size": f"<= {bound}"},
        )

    judge_sequence("replay.bounded_memory", binding, check)
