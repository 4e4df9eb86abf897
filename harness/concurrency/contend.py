"""Run a binding's call from N contenders at once against a target, and classify every answer.

The packs' contention checks (capacity, single consumer, exclusive create, lost update,
idempotency, nonces) differ only in what they count. This module does the rest: per-attempt keys,
the optional setup step, the mode (last-byte or gather over HTTP; preempted threads or gated
coroutines in process), answer classification and effect counting.
"""

from __future__ import annotations

import asyncio
import inspect
import shlex
import socket
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from ..bindings import EffectCounter, HttpCall, as_count
from ..errors import TargetError, UserError
from ..findings import Finding, FindingMode, fail_on, fail_with, report_finding
from ..imports import import_object
from .aio import AsyncRace, race_async
from .attempts import AttemptOutcome, Budget, run_attempts
from .calls import Call, ContentionBinding, ObjectEffect, render
from .lastbyte import HttpRace, HttpReply, HttpRequest, fire
from .preempt import Preemption, TargetFiles
from .report import format_failure
from .result import Mode, RaceResult, Violation, WorkerResult
from .threads import ThreadRace, race_threads

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


def resolve_mode(binding: ContentionBinding, subject: Any) -> Mode:
    if binding.mode != "auto":
        mode = Mode(binding.mode)
    elif binding.is_http:
        mode = Mode.LAST_BYTE
    elif inspect.iscoroutinefunction(getattr(subject, str(binding.call), None)):
        mode = Mode.ASYNC
    else:
        mode = Mode.PREEMPT
    http_modes = (Mode.LAST_BYTE, Mode.GATHER)
    if binding.is_http != (mode in http_modes):
        kind = "an HTTP call" if binding.is_http else "an in-process call"
        raise UserError(
            f"binding.mode={binding.mode!r}: does not fit {kind} {str(binding.call)!r} "
            f"(HTTP: last-byte|gather; in process: preempt|pct|barrier|pool|async)",
            where="binding.mode",
        )
    return mode


def _contend(
    name: str,
    binding: ContentionBinding,
    target: Target,
    judge: Judge,
    precise: _Precision,
) -> RaceResult:
    budget = Budget(seconds=binding.budget, max_attempts=binding.max_attempts)
    run = uuid.uuid4().hex[:10]
    if binding.is_http:
        return _contend_http(name, binding, target, judge, budget, run, precise)
    return _contend_inprocess(name, binding, target, judge, budget, run, precise)


# -- violations apart from findings -------------------------------------------------------------


def is_out_of_class(answer: Answer) -> bool:
    """An answer that says nothing about the race: a 5xx, a 429 (overload, a rate limiter), a
    transport failure, an in-process exception carrying no 4xx status. Listed statuses never are."""
    if answer.kind is not Kind.UNEXPECTED:
        return False
    if answer.status is not None:
        return answer.status >= 500 or answer.status == 429
    return True


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
class _Precision:
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
    precise = _Precision(contended, call=str(binding.call))
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


def attempt_values(run: str, attempt: int) -> dict[str, Any]:
    """The placeholders every template may use: a fresh ``{key}``, ``{attempt}``, ``{run}`` and
    ``{now}`` (Unix seconds when the attempt began, for timestamp headers)."""
    return {"key": f"{run}-{attempt}", "attempt": attempt, "run": run, "now": time.time()}


# -- HTTP ---------------------------------------------------------------------------------------


def preflight(target: Target) -> None:
    """Fail with a TargetError naming the URL when nothing listens there."""
    parts = urlsplit(target.base_url)
    if parts.scheme != "http" or not parts.hostname:
        raise UserError(
            f"target.base_url={target.base_url!r}: HTTP checks need a process or url target "
            "(an in-process target has no socket for last-byte sync)",
            where="target.kind",
        )
    try:
        with socket.create_connection((parts.hostname, parts.port or 80), timeout=3):
            pass
    except OSError as exc:
        raise TargetError(
            f"target.base_url={target.base_url!r}: unreachable ({exc}); is the target running?",
            where="target",
        ) from None


def _http_request(call: Call, values: dict[str, Any]) -> HttpRequest:
    assert isinstance(call.call, HttpCall)
    path = render(call.call.path, values)
    return HttpRequest(
        call.call.method,
        path,
        headers={k: str(render(v, values)) for k, v in call.headers.items()},
        json=render(call.json_body, values),
    )


def classify_reply(index: int, reply: HttpReply, binding: ContentionBinding) -> Answer:
    if reply.status in binding.success:
        kind = Kind.SUCCESS
    elif reply.status in binding.conflict:
        kind = Kind.CONFLICT
    else:
        kind = Kind.UNEXPECTED
    value = None
    try:
        value = reply.json()
    except ValueError:
        pass
    return Answer(index, kind, status=reply.status, value=value, body=reply.text)


def run_setup_http(binding: ContentionBinding, target: Target, values: dict[str, Any]) -> None:
    """The per-attempt setup step: its answer's ``setup_field`` becomes ``{resource}``."""
    if binding.setup is None:
        return
    request = _http_request(binding.setup, values)
    with target.client() as client:
        response = client.request(
            request.method, request.path, headers=dict(request.headers), json=request.json
        )
    if response.status_code >= 400:
        raise TargetError(
            f"binding.setup={str(binding.setup)!r}: answered HTTP {response.status_code} "
            f"({response.text[:200]}); the race needs it to succeed",
            where="binding.setup",
        )
    body = response.json()
    if not isinstance(body, dict) or binding.setup_field not in body:
        raise UserError(
            f"binding.setup_field={binding.setup_field!r}: not a key of the setup answer "
            f"{str(body)[:200]}",
            where="binding.setup_field",
        )
    values["resource"] = body[binding.setup_field]


def _contend_http(
    name: str,
    binding: ContentionBinding,
    target: Target,
    judge: Judge,
    budget: Budget,
    run: str,
    precise: _Precision,
) -> RaceResult:
    preflight(target)
    mode = resolve_mode(binding, None)
    call = binding.contender()
    per_attempt: dict[int, dict[str, Any]] = {}

    def requests(attempt: int) -> list[HttpRequest]:
        values = attempt_values(run, attempt)
        run_setup_http(binding, target, values)
        per_attempt[attempt] = values
        return [_http_request(call, {**values, "worker": i}) for i in range(binding.workers)]

    health = getattr(getattr(target, "spec", None), "health", None)
    config = HttpRace(
        workers=binding.workers,
        mode=mode,
        budget=budget,
        seed=binding.seed,
        warmup=HttpRequest("GET", health) if health else None,
    )

    def attempt(number: int, seed: int) -> AttemptOutcome:
        # race_http's loop, except that a contender left without an answer is one answer of
        # the round (out of class) rather than a failure of the whole attempt.
        batch = list(requests(number))
        replies, _ = fire(
            mode, target.base_url, batch, warmup=config.warmup, timeout=config.timeout
        )
        values = per_attempt.pop(number)
        answers = [
            Answer(i, Kind.UNEXPECTED, error=reply, request=request)
            if isinstance(reply, BaseException)
            else _with_request(classify_reply(i, reply, binding), request)
            for i, (request, reply) in enumerate(zip(batch, replies, strict=True))
        ]
        round_ = Round(number, values, precise.demote(answers), binding, target)
        precise.observe(round_)
        return AttemptOutcome(unexpected_answers(round_) or judge(round_))

    return run_attempts(
        name, mode, attempt, seed=binding.seed, workers=binding.workers, budget=budget
    )


def _with_request(answer: Answer, request: HttpRequest) -> Answer:
    return Answer(
        answer.index, answer.kind, answer.status, answer.value, answer.error, answer.body, request
    )


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


# -- in process ---------------------------------------------------------------------------------


def fresh_subject(target: Target, overrides: dict[str, Any] | None = None) -> Any:
    """A new object from the python target's factory (a fresh one per attempt), else target.obj.

    ``overrides`` are keyword arguments laid over the target's own (a fake clock, say).
    """
    spec = getattr(target, "spec", None)
    factory = getattr(spec, "factory", None)
    if factory is None:
        if target.obj is None:
            raise UserError(
                "target.kind: an in-process call needs a python target (kind='python', "
                "factory='pkg.mod:make')",
                where="target.kind",
            )
        if overrides:
            raise UserError(
                "target.factory: this check passes keyword arguments to the factory, so the "
                "target needs one (kind='python', factory='pkg.mod:make')",
                where="target.factory",
            )
        return target.obj
    if isinstance(factory, str):
        factory = import_object(factory, field="target.factory")
    if inspect.isgeneratorfunction(factory) and not overrides:
        return target.obj  # a generator factory owns teardown; reuse the launched object
    kwargs = {**dict(getattr(spec, "kwargs", {}) or {}), **(overrides or {})}
    return factory(**kwargs)


def _method(subject: Any, name: str) -> Callable[..., Any]:
    obj = subject
    for part in name.split("."):
        if not hasattr(obj, part):
            raise UserError(
                f"binding.call={name!r}: {type(subject).__name__} has no attribute {part!r}",
                where="binding.call",
            )
        obj = getattr(obj, part)
    if not callable(obj):
        raise UserError(f"binding.call={name!r}: is not callable", where="binding.call")
    return obj


def classify_result(result: WorkerResult, binding: ContentionBinding) -> Answer:
    if result.error is not None:
        if type(result.error).__name__ in binding.conflict_errors:
            return Answer(result.index, Kind.CONFLICT, error=result.error)
        status = getattr(result.error, "status_code", None)
        if isinstance(status, int) and 100 <= status <= 599:  # HTTPException and kin
            kind = Kind.CONFLICT if status in binding.conflict else Kind.UNEXPECTED
            detail = getattr(result.error, "detail", "")
            return Answer(result.index, kind, status=status, error=result.error, body=str(detail))
        return Answer(result.index, Kind.UNEXPECTED, error=result.error)
    value = result.value
    if (
        isinstance(value, tuple)
        and len(value) == 2
        and isinstance(value[0], int)
        and 100 <= value[0] <= 599
    ):  # an in-process handler answering (status, body): classify it like HTTP
        status, body = value
        if status in binding.success:
            kind = Kind.SUCCESS
        elif status in binding.conflict:
            kind = Kind.CONFLICT
        else:
            kind = Kind.UNEXPECTED
        return Answer(result.index, kind, status=status, value=body, body=str(body))
    if value is False and binding.false_is_conflict:
        return Answer(result.index, Kind.CONFLICT, value=False)
    return Answer(result.index, Kind.SUCCESS, value=value)


def _contend_inprocess(
    name: str,
    binding: ContentionBinding,
    target: Target,
    judge: Judge,
    budget: Budget,
    run: str,
    precise: _Precision,
) -> RaceResult:
    probe = fresh_subject(target)
    method_name = str(binding.call)
    _method(probe, method_name)  # fail early on a misspelt method
    mode = resolve_mode(binding, probe)
    call = binding.contender()

    @dataclass
    class State:
        subject: Any
        values: dict[str, Any]
        attempt: int

    def setup_values(attempt: int, subject: Any) -> dict[str, Any]:
        values = attempt_values(run, attempt)
        if binding.setup is not None:
            fn = _method(subject, str(binding.setup.call))
            produced = fn(
                *render(binding.setup.args, values), **render(binding.setup.kwargs, values)
            )
            if inspect.isawaitable(produced):
                raise UserError(
                    "binding.setup: an async setup is not supported in thread modes",
                    where="binding.setup",
                )
            values["resource"] = produced[binding.setup_field] if binding.setup_field else produced
        return values

    def judge_results(state: State, results: list[WorkerResult]) -> Violation | None:
        answers = precise.demote([classify_result(r, binding) for r in results])
        round_ = Round(state.attempt, state.values, answers, binding, target, state.subject)
        precise.observe(round_)
        return unexpected_answers(round_) or judge(round_)

    def args_for(state: State, index: int) -> tuple[list[Any], dict[str, Any]]:
        values = {**state.values, "worker": index}
        return render(call.args, values), render(call.kwargs, values)

    if mode is Mode.ASYNC:

        async def setup_async(attempt: int) -> State:
            subject = fresh_subject(target)
            return State(subject, setup_values(attempt, subject), attempt)

        async def work_async(state: State, index: int) -> Any:
            args, kwargs = args_for(state, index)
            return await _method(state.subject, method_name)(*args, **kwargs)

        async def check_async(state: State, results: list[WorkerResult]) -> Violation | None:
            verdict = judge_results(state, results)
            await asyncio.sleep(0)
            return verdict

        config = AsyncRace(
            workers=binding.workers, budget=budget, seed=binding.seed, expected_errors=(Exception,)
        )
        return race_async(name, setup_async, work_async, check_async, config)

    def setup(attempt: int) -> State:
        subject = fresh_subject(target)
        return State(subject, setup_values(attempt, subject), attempt)

    def work(state: State, index: int) -> Any:
        args, kwargs = args_for(state, index)
        return _method(state.subject, method_name)(*args, **kwargs)

    preempt = None
    if mode in (Mode.PREEMPT, Mode.PCT):
        files = TargetFiles.resolve(binding.preempt or [type(probe)])
        preempt = Preemption(files, points=4 if mode is Mode.PCT else 0)
    thread_config = ThreadRace(
        workers=binding.workers,
        mode=mode,
        preempt=preempt,
        budget=budget,
        seed=binding.seed,
        expected_errors=(Exception,),
    )
    return race_threads(name, setup, work, judge_results, thread_config)


# -- effects ------------------------------------------------------------------------------------


def count_effect(effect: Any, target: Target, subject: Any, values: dict[str, Any]) -> int:
    """Count effects the way the binding says, with this attempt's ``{key}`` and friends."""
    if isinstance(effect, ObjectEffect):
        owner = subject if subject is not None else target.obj
        if owner is None or not hasattr(owner, effect.attr.split(".")[0]):
            raise UserError(
                f"binding.effect.attr={effect.attr!r}: the target has no such attribute",
                where="binding.effect.attr",
            )
        found: Any = owner
        for part in effect.attr.split("."):
            found = getattr(found, part)
        if callable(found):
            found = found(*render(effect.args, values))
        return as_count(len(found) if not isinstance(found, int) else found, effect.attr)
    assert isinstance(effect, EffectCounter)
    return effect.count(target, values)
