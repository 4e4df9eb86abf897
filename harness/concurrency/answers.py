"""A contention round's answers: how each is classified, what a round holds, and what a
precise run gathers across rounds (out-of-class answers become findings, not violations)."""

from __future__ import annotations

import shlex
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from ..errors import UserError
from ..findings import Finding, report_finding
from .attempts import Budget
from .calls import ContentionBinding
from .effects import count_effect
from .lastbyte import HttpRequest
from .result import Violation

if TYPE_CHECKING:
    from ..targets.base import Target


class Kind(StrEnum):
    SUCCESS = "success"
    CONFLICT = "conflict"
    UNEXPECTED = "unexpected"
    #: Outside every contention check's bug class: a 5xx, a 429 the binding does not list, a
    #: transport failure, an in-process exception. `contend` gives it to answers outside the race's bug class.
    OUT_OF_CLASS = "out-of-class"


@dataclass(frozen=True)
class Answer:
    """One contender's answer, classified by the binding's success/conflict sets."""

    index: int
    kind: Kind
    status: int | None = None
    value: Any = None
    error: BaseException | None = None
    body: str = ""
    #: The request this contender sent (HTTP only): the finding's curl line is built from it.
    request: HttpRequest | None = None

    def describe(self) -> str:
        if self.status is not None:
            return f"HTTP {self.status} {self.body[:160]}"
        if self.error is not None:
            return f"raised {type(self.error).__name__}: {self.error}"
        return f"returned {self.value!r}"


@dataclass
class Round:
    """One attempt's answers plus what a check needs to count effects."""

    attempt: int
    values: dict[str, Any]
    answers: list[Answer]
    binding: ContentionBinding
    target: Target
    subject: Any = None
    notes: dict[str, Any] = field(default_factory=dict)

    def count(self, kind: Kind) -> int:
        return sum(a.kind is kind for a in self.answers)

    @property
    def successes(self) -> int:
        return self.count(Kind.SUCCESS)

    @property
    def conflicts(self) -> int:
        return self.count(Kind.CONFLICT)

    @property
    def out_of_class(self) -> int:
        """Contenders whose answer says nothing about the race (a 5xx, a 429, a reset)."""
        return self.count(Kind.OUT_OF_CLASS)

    @property
    def decided(self) -> int:
        """Contenders the target answered with a verdict on the contended call."""
        return len(self.answers) - self.out_of_class

    def effects(self) -> int:
        if self.binding.effect is None:
            raise UserError(
                "binding.effect: missing; this check counts effects "
                "(write 'GET /things/{key}/count', a SQL SELECT, or {attr = 'count_method'})",
                where="binding.effect",
            )
        return count_effect(self.binding.effect, self.target, self.subject, self.values)


Judge = Callable[[Round], "Violation | None"]


def is_out_of_class(answer: Answer) -> bool:
    """An answer that says nothing about the race: a 5xx, a 429 (overload, a rate limiter), a
    transport failure, an in-process exception carrying no 4xx status. Listed statuses never are."""
    if answer.kind is not Kind.UNEXPECTED:
        return False
    if answer.status is not None:
        return answer.status >= 500 or answer.status == 429
    return True


def unexpected_answers(round_: Round) -> Violation | None:
    """An answer that is neither success nor conflict (a 500, a stray exception) is a failure."""
    odd = [a for a in round_.answers if a.kind is Kind.UNEXPECTED]
    if not odd:
        return None
    b = round_.binding
    expected = (
        f"success {sorted(b.success)} or conflict {sorted(b.conflict)}"
        if b.is_http
        else f"a return, or one of {b.conflict_errors or 'no exception'}"
    )
    return Violation(
        what=f"{len(odd)} of {len(round_.answers)} contenders got an answer that is neither "
        f"success nor conflict: {odd[0].describe()[:200]}",
        observed={"unexpected": len(odd)},
        expected={"unexpected": 0, "each answer": expected},
        details=tuple(f"contender {a.index}: {a.describe()[:300]}" for a in odd[:3]),
    )


def curl_command(base_url: str, request: HttpRequest) -> str:
    """A shell line that sends `request` once, so a reader can see the odd answer again."""
    words = ["curl", "-s", "-i", "-X", request.method.upper()]
    names = {k.lower() for k in request.headers}
    for key, value in request.headers.items():
        words += ["-H", f"{key}: {value}"]
    if request.json is not None and request.body is None and "content-type" not in names:
        words += ["-H", "Content-Type: application/json"]
    body = request.payload()
    if body:
        words += ["--data-binary", body.decode("utf-8", "replace")]
    return shlex.join([*words, base_url.rstrip("/") + request.path])


def _label(answer: Answer) -> str:
    if answer.status is not None:
        return f"HTTP {answer.status}"
    if answer.error is not None and answer.request is not None:
        return f"no HTTP answer ({type(answer.error).__name__})"
    if answer.error is not None:
        return f"raised {type(answer.error).__name__}"
    return "no answer"


@dataclass
class Precision:
    """What a precise run gathers across attempts: out-of-class answers grouped by kind, and
    how many rounds had enough decided answers to test the check's sentence."""

    contended: Callable[[Round], bool]
    base_url: str | None = None
    call: str = ""
    answers: int = 0
    rounds: int = 0
    contended_rounds: int = 0
    groups: dict[str, tuple[int, set[int], Answer]] = field(default_factory=dict)

    def demote(self, answers: list[Answer]) -> list[Answer]:
        return [
            Answer(a.index, Kind.OUT_OF_CLASS, a.status, a.value, a.error, a.body, a.request)
            if is_out_of_class(a)
            else a
            for a in answers
        ]

    def observe(self, round_: Round) -> None:
        self.rounds += 1
        self.answers += len(round_.answers)
        for answer in round_.answers:
            if answer.kind is Kind.OUT_OF_CLASS:
                label = _label(answer)
                count, attempts, example = self.groups.get(label, (0, set(), answer))
                attempts.add(round_.attempt)
                self.groups[label] = (count + 1, attempts, example)
        if self.contended(round_):
            self.contended_rounds += 1

    def report(self, check: str, replay: str) -> list[Finding]:
        found = []
        for label, (count, attempts, example) in sorted(self.groups.items()):
            if example.request is not None and self.base_url is not None:
                repro = curl_command(self.base_url, example.request)
            else:
                repro = f"{replay}  # the call: {self.call}"
            found.append(
                report_finding(
                    check,
                    f"{count} of {self.answers} answers to {self.call} in {len(attempts)} of "
                    f"{self.rounds} attempt(s) were {label} ({example.describe()[:160]}); not "
                    "this check's bug class (a server error, an overload, a dropped call), so "
                    "the race was judged on the other answers",
                    repro,
                )
            )
        return found


def at_least_two_decided(round_: Round) -> bool:
    """The default test of a round: two contenders got a verdict, so they really contended."""
    return round_.decided >= 2


def attempt_values(run: str, attempt: int) -> dict[str, Any]:
    """The placeholders every template may use: a fresh ``{key}``, ``{attempt}``, ``{run}`` and
    ``{now}`` (Unix seconds when the attempt began, for timestamp headers)."""
    return {"key": f"{run}-{attempt}", "attempt": attempt, "run": run, "now": time.time()}


@dataclass(frozen=True)
class Contest:
    """One contention check, as the HTTP and the in-process racers both take it."""

    name: str
    binding: ContentionBinding
    target: Target
    judge: Judge
    budget: Budget
    #: Makes each attempt's values (`{run}`, `{attempt}`) unique to this check's run.
    run: str
    precise: Precision
