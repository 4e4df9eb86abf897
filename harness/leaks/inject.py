"""Fault and latency injection: replace one dependency (``"pkg.mod:Class.attr"``) for a block.

    with injected("shopapp.db:Database.query", slow_by(0.05)):      # a slow DB
    with injected("httpx:AsyncClient.send", answer_status(503)):     # an upstream that fails
    with injected("shopapp.db:Database.query", raise_error(OSError)):

The replacement wraps the original, keeps its sync/async kind, and counts its calls
(`Injection.calls`), so a check can tell "the fault was never reached" from "it was handled".
"""

from __future__ import annotations

import functools
import inspect
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from ..errors import UserError
from ..imports import import_owner

#: A wrapper factory: given the original callable, returns the (sync) behaviour to run
#: instead; async originals get the same behaviour awaited after the original's signature.
Behaviour = Callable[[Callable[..., Any], tuple[Any, ...], dict[str, Any]], Any]


@dataclass
class Injection:
    """What was injected where, and how often it ran."""

    ref: str
    calls: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def hit(self) -> None:
        with self._lock:
            self.calls += 1


@contextmanager
def injected(
    ref: str, behaviour: Behaviour, *, where: str = "binding.inject"
) -> Iterator[Injection]:
    """Replace `ref` with `behaviour` inside the block; the original is always restored."""
    owner, attr, original = import_owner(ref, field=where)
    func = original.__func__ if isinstance(original, staticmethod | classmethod) else original
    if not callable(func):
        raise UserError(f"{where}={ref!r}: is a {type(func).__name__}, not a callable", where=where)
    record = Injection(ref)

    if inspect.iscoroutinefunction(func):

        @functools.wraps(func)
        async def replacement(*args: Any, **kwargs: Any) -> Any:
            record.hit()
            result = behaviour(func, args, kwargs)
            if inspect.isawaitable(result):
                result = await result
            return result
    else:

        @functools.wraps(func)
        def replacement(*args: Any, **kwargs: Any) -> Any:
            record.hit()
            return behaviour(func, args, kwargs)

    new: Any = replacement
    if isinstance(original, staticmethod):
        new = staticmethod(replacement)
    elif isinstance(original, classmethod):
        new = classmethod(replacement)
    setattr(owner, attr, new)
    try:
        yield record
    finally:
        setattr(owner, attr, original)


def slow_by(seconds: float) -> Behaviour:
    """Block the calling thread for `seconds` (``time.sleep``, as a slow sync driver does),
    then call the original. On an async original the sleep still blocks: that is the point."""

    def behave(original: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        time.sleep(seconds)
        return original(*args, **kwargs)

    return behave


def raise_error(error: type[BaseException] | BaseException) -> Behaviour:
    """Raise `error` instead of calling the original."""

    def behave(original: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        raise error if isinstance(error, BaseException) else error("fixguard injected fault")

    return behave


def answer_status(status: int, body: bytes = b'{"error": "injected by fixguard"}') -> Behaviour:
    """For an httpx ``send``: answer `status` without touching the network."""

    def behave(original: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        import httpx

        request = next((a for a in args if isinstance(a, httpx.Request)), kwargs.get("request"))
        return httpx.Response(
            status, content=body, request=request, headers={"content-type": "application/json"}
        )

    return behave
