"""The asyncio tasks a lifecycle check looks at: which belong to the service, and waiting."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable
from typing import Any


def tracked_tasks(service: Any) -> set[asyncio.Task[Any]]:
    """Tasks the service still holds a reference to (an attribute, or inside a container)."""
    found: set[asyncio.Task[Any]] = set()
    for value in vars(service).values():
        items = value.values() if isinstance(value, dict) else value
        if isinstance(value, asyncio.Task):
            found.add(value)
        elif isinstance(items, list | set | tuple | frozenset) or isinstance(value, dict):
            found.update(item for item in items if isinstance(item, asyncio.Task))
    return found


def service_files(service: Any) -> set[str]:
    files = set()
    for cls in type(service).__mro__:
        if cls is object:
            continue
        try:
            files.add(inspect.getfile(cls))
        except TypeError:
            continue
    return files


def code_file(task: asyncio.Task[Any]) -> str:
    code = getattr(task.get_coro(), "cr_code", None)
    return code.co_filename if code is not None else ""


def describe_tasks(tasks: list[asyncio.Task[Any]]) -> str:
    names = []
    for task in tasks[:4]:
        coro = task.get_coro()
        names.append(getattr(coro, "__qualname__", repr(coro)))
    more = f" (+{len(tasks) - 4})" if len(tasks) > 4 else ""
    return ", ".join(names) + more


async def cancel_all(tasks: list[asyncio.Task[Any]]) -> None:
    for task in tasks:
        task.cancel()
    if tasks:
        await asyncio.wait(tasks, timeout=1.0)


async def wait_until(predicate: Callable[[], bool], seconds: float) -> bool:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while not predicate():
        if loop.time() >= deadline:
            return False
        await asyncio.sleep(0.005)
    return True
