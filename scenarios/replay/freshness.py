"""replay.freshness: stale, future and non-finite timestamps and over-long nonces are refused."""

from __future__ import annotations

import time

from harness.pack import Target, Violation, report_finding, scenario

from ._common import ReplayBinding, Sender, judge_sequence

CHECK = "replay.freshness"


@scenario("replay.freshness", binding=ReplayBinding)
def stale_future_and_non_finite_timestamps_and_long_nonces_are_rejected(
    binding: ReplayBinding, target: Target
) -> None:
    """Each bad delivery is refused (never accepted); a fresh one is accepted. A bad delivery
    that crashes the guard (a 5xx) was not accepted: it is a finding, not a violation."""
    sender = Sender(binding, target)

    def check(attempt: int) -> Violation | None:
        now = time.time()
        margin = binding.window + 60
        cases: list[tuple[str, str, object]] = [
            ("stale timestamp", sender.nonce(f"stale{attempt}"), now - margin),
            ("future timestamp", sender.nonce(f"future{attempt}"), now + margin),
            ("NaN timestamp", sender.nonce(f"nan{attempt}"), float("nan")),
            ("inf timestamp", sender.nonce(f"inf{attempt}"), float("inf")),
            ("-inf timestamp", sender.nonce(f"ninf{attempt}"), float("-inf")),
            (
                f"nonce of {binding.max_nonce_length + 1} chars",
                "n" * (binding.max_nonce_length + 1),
                now,
            ),
        ]
        wrong = []
        for name, nonce, timestamp in cases:
            verdict = sender.send(nonce, timestamp)
            if verdict.crashed:
                report_finding(CHECK, f"{name} -> {verdict.shown}", verdict.repro)
            elif verdict.accepted is not False:
                wrong.append(f"{name} -> {verdict.shown}")
        fresh = sender.send(sender.nonce(f"fresh{attempt}"), time.time())
        if fresh.accepted is not True:
            wrong.append(f"a fresh delivery -> {fresh.shown} (must be accepted)")
        if not wrong:
            return None
        return Violation(
            f"{len(wrong)} of {len(cases) + 1} deliveries were not handled as they must be: "
            f"timestamps outside +-{binding.window:g}s or not finite, and nonces over "
            f"{binding.max_nonce_length} characters, must be rejected",
            observed={"wrong": len(wrong)},
            expected={"wrong": 0},
            details=tuple(wrong),
        )

    judge_sequence(CHECK, binding, check)
