"""Contention in process: N calls of a method of the python target's object per attempt, as
preempted or gated threads, or as coroutines on one loop."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import UserError
from ..imports import import_object
from .aio import AsyncRace, race_async
from .answers import Answer, Contest, Kind, Round, attempt_values, unexpected_answers
from .calls import ContentionBinding, render, resolve_mode
from .preempt import Preemption, TargetFiles
from .result import Mode, RaceResult, Violation, WorkerResult
from .threads import ThreadRace, race_threads

if TYPE_CHECKING:
    from ..targets.base import Target


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


def contend_inprocess(contest: Contest) -> RaceResult:
    name, binding, target, judge = contest.name, contest.binding, contest.target, contest.judge
    budget, run, precise = contest.budget, contest.run, contest.precise
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
