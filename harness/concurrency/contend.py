"""Run a binding's call from N contenders at once against a target, and judge the race.

The packs' contention checks (capacity, single consumer, exclusive create, lost update,
idempotency, nonces) differ only in what they count. The rest is here and beside it:
`answers` (classification, rounds, out-of-class findings), `contend_http` (last-byte or
gather), `contend_inprocess` (preempted threads, gated coroutines) and `effects` (counting).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING

from ..findings import FindingMode, fail_on, fail_with
from .answers import Contest, Judge, Precision, Round, at_least_two_decided
from .attempts import Budget
from .calls import ContentionBinding
from .contend_http import contend_http
from .contend_inprocess import contend_inprocess
from .report import format_failure
from .result import RaceResult

if TYPE_CHECKING:
    from ..targets.base import Target


def _contend(
    name: str,
    binding: ContentionBinding,
    target: Target,
    judge: Judge,
    precise: Precision,
) -> RaceResult:
    budget = Budget(seconds=binding.budget, max_attempts=binding.max_attempts)
    run = uuid.uuid4().hex[:10]
    contest = Contest(name, binding, target, judge, budget, run, precise)
    return contend_http(contest) if binding.is_http else contend_inprocess(contest)


def contend(
    name: str,
    binding: ContentionBinding,
    target: Target,
    judge: Judge,
    *,
    server_errors: FindingMode,
    contended: Callable[[Round], bool] = at_least_two_decided,
) -> RaceResult:
    """Race ``binding.call`` from ``binding.workers`` contenders until ``judge`` objects.

    It judges only the race: out-of-class answers (`is_out_of_class`: a 5xx, an unlisted 429,
    a dropped call, an in-process crash) reach `judge` as ``Kind.OUT_OF_CLASS`` and are
    reported as findings after the run, with a repro line; any other answer that is neither
    success nor conflict (an unlisted 4xx, say) is a violation.

    Raises AssertionError on a violation (its report first, the findings after it), when no
    round was `contended` (out-of-class answers left too few verdicts to test the sentence), or
    when ``server_errors == "fail"`` and there were findings.
    """
    __tracebackhide__ = True
    precise = Precision(contended, call=str(binding.call))
    if binding.is_http:
        precise.base_url = target.base_url
    result = _contend(name, binding, target, judge, precise)
    findings = precise.report(name, result.repro)
    if result.failure is not None:
        fail_with(format_failure(result), findings)
    if findings and precise.contended_rounds == 0:
        raise AssertionError(
            f"{name}: could not judge the race: in {result.attempts} attempt(s) no round got "
            f"enough verdicts, the other answers were out of class ({'; '.join(precise.groups)}); "
            "see the findings"
        )
    fail_on(name, findings, server_errors)
    return result
