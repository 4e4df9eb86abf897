"""Contention over HTTP: N requests per attempt, released by last-byte sync or gathered."""

from __future__ import annotations

import socket
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from ..bindings import HttpCall
from ..errors import TargetError, UserError
from .answers import Answer, Contest, Kind, Round, attempt_values, unexpected_answers
from .attempts import AttemptOutcome, run_attempts
from .calls import Call, ContentionBinding, render, resolve_mode
from .lastbyte import HttpRace, HttpReply, HttpRequest, fire
from .result import RaceResult

if TYPE_CHECKING:
    from ..targets.base import Target


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


def contend_http(contest: Contest) -> RaceResult:
    name, binding, target, judge = contest.name, contest.binding, contest.target, contest.judge
    budget, run, precise = contest.budget, contest.run, contest.precise
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
