"""The in-process kinds: `python` (an object from a factory) and `asgi` (an app, no sockets).

An ASGI app runs on one private event loop in a background thread (the "portal"), together with
its lifespan. Both the sync and the async client send their requests to that loop, so the app
sees one loop for its whole life, exactly as under a real server, and a test's own loop (or
none) does not matter.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import inspect
import sys
import threading
from collections.abc import Callable, Coroutine, Generator, MutableMapping
from pathlib import Path
from typing import Any, TypeVar

import httpx

from ..errors import TargetError, UserError
from ..imports import import_object
from .base import Target
from .spec import TargetSpec

T = TypeVar("T")
ASGIApp = Callable[..., Any]
_Message = dict[str, Any]


def add_import_path(folder: Path | None) -> str | None:
    """Put `folder` (the project's checkout) first on sys.path; returns what to remove later."""
    if folder is None:
        return None
    entry = str(Path(folder).resolve())
    if entry in sys.path:
        return None
    sys.path.insert(0, entry)
    return entry


def remove_import_path(entry: str | None) -> None:
    if entry is not None and entry in sys.path:
        sys.path.remove(entry)


def _resolve(value: str | Callable[..., Any], *, field: str) -> Any:
    return import_object(value, field=field) if isinstance(value, str) else value


class PythonTarget(Target):
    """`obj` is what `factory(**kwargs)` returned; a generator factory is finished on stop."""

    kind = "python"

    def __init__(self, spec: TargetSpec) -> None:
        super().__init__(spec)
        self._obj: Any = None
        self._gen: Generator[Any, Any, Any] | None = None
        self._import_path: str | None = None

    @property
    def base_url(self) -> str:
        return f"python://{self.spec.label}"

    @property
    def obj(self) -> Any:
        return self._obj

    def client(self, **kwargs: Any) -> httpx.Client:
        raise UserError(
            f"kind={self.kind!r}: this target has no HTTP interface",
            where="kind",
            hint="use kind='asgi' for an ASGI app, or call target.obj directly",
        )

    def async_client(self, **kwargs: Any) -> httpx.AsyncClient:
        return self.client()  # type: ignore[return-value]  # always raises

    def _start(self) -> None:
        assert self.spec.factory is not None
        self._import_path = add_import_path(self.spec.cwd)
        factory = _resolve(self.spec.factory, field="factory")
        if not callable(factory):
            raise UserError(
                f"factory={self.spec.factory!r}: is a {type(factory).__name__}, not a callable",
                where="factory",
            )
        result = factory(**self.spec.kwargs)
        if inspect.isgenerator(result):
            self._gen = result
            try:
                result = next(result)
            except StopIteration:
                self._gen = None
                raise TargetError(
                    f"factory={self.spec.factory!r}: the generator returned without yielding"
                ) from None
        self._obj = result

    def _stop(self) -> None:
        gen, self._gen = self._gen, None
        try:
            if gen is None:
                return
            try:
                next(gen)
            except StopIteration:
                return
            gen.close()
            raise TargetError(f"factory={self.spec.factory!r}: the generator yielded twice")
        finally:
            remove_import_path(self._import_path)
            self._import_path = None


class _Portal:
    """An event loop running in a daemon thread; coroutines are submitted to it."""

    def __init__(self, name: str) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name=f"fixguard-asgi-{name}", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    def submit(self, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    def call(self, coro: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        return self.submit(coro).result(timeout)

    def close(self) -> None:
        if self.loop.is_closed():
            return
        try:
            self.call(_cancel_all_tasks(), timeout=10)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(timeout=10)
            if not self._thread.is_alive():
                self.loop.close()


async def _cancel_all_tasks() -> None:
    me = asyncio.current_task()
    tasks = [t for t in asyncio.all_tasks() if t is not me]
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await asyncio.get_running_loop().shutdown_asyncgens()


class _Lifespan:
    """Drives the ASGI lifespan protocol for one app, on the portal's loop."""

    def __init__(self, app: ASGIApp, state: dict[str, Any]) -> None:
        self._app = app
        self._state = state
        self._to_app: asyncio.Queue[_Message] | None = None
        self._from_app: asyncio.Queue[_Message] | None = None
        self._task: asyncio.Task[None] | None = None
        self.error: BaseException | None = None
        self.supported = True
        self.started = False

    async def _run(self) -> None:
        assert self._to_app is not None and self._from_app is not None
        scope = {"type": "lifespan", "asgi": {"version": "3.0", "spec_version": "2.0"}}
        scope["state"] = self._state
        try:
            await self._app(scope, self._to_app.get, self._from_app.put)
        except BaseException as exc:
            self.error = exc

    async def _answer(self, timeout: float) -> _Message | None:
        """The app's next message, or None if the app returned or raised first."""
        assert self._from_app is not None and self._task is not None
        get = asyncio.ensure_future(self._from_app.get())
        done, _ = await asyncio.wait(
            {get, self._task}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
        )
        if get in done:
            return get.result()
        get.cancel()
        if not done:
            raise TimeoutError
        return None

    async def startup(self, timeout: float) -> None:
        self._to_app, self._from_app = asyncio.Queue(), asyncio.Queue()
        self._task = asyncio.create_task(self._run())
        await self._to_app.put({"type": "lifespan.startup"})
        message = await self._answer(timeout)
        if message is None:
            self.supported = False  # the app does not speak lifespan
            return
        if message["type"] == "lifespan.startup.failed":
            raise _LifespanFailed(message.get("message", "") or repr(self.error))
        if message["type"] != "lifespan.startup.complete":
            raise _LifespanFailed(f"unexpected message {message!r}")
        self.started = True

    async def shutdown(self, timeout: float) -> None:
        if not self.started or self._to_app is None:
            return
        await self._to_app.put({"type": "lifespan.shutdown"})
        message = await self._answer(timeout)
        if message is not None and message["type"] == "lifespan.shutdown.failed":
            raise _LifespanFailed(message.get("message", "") or repr(self.error))


class _LifespanFailed(Exception):
    pass


async def _call_app(
    transport: httpx.ASGITransport, method: str, url: httpx.URL, headers: httpx.Headers, body: bytes
) -> tuple[int, list[tuple[bytes, bytes]], bytes, dict[str, Any]]:
    request = httpx.Request(method, url, headers=headers, content=body)
    response = await transport.handle_async_request(request)
    assert isinstance(response.stream, httpx.AsyncByteStream)
    chunks = [chunk async for chunk in response.stream]  # raw: no content-decoding here
    return response.status_code, response.headers.raw, b"".join(chunks), dict(response.extensions)


class _SyncPortalTransport(httpx.BaseTransport):
    def __init__(self, portal: _Portal, transport: httpx.ASGITransport) -> None:
        self._portal, self._transport = portal, transport

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = request.read()
        status, headers, content, ext = self._portal.call(
            _call_app(self._transport, request.method, request.url, request.headers, body)
        )
        return httpx.Response(status, headers=headers, content=content, extensions=ext)


class _AsyncPortalTransport(httpx.AsyncBaseTransport):
    def __init__(self, portal: _Portal, transport: httpx.ASGITransport) -> None:
        self._portal, self._transport = portal, transport

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        future = self._portal.submit(
            _call_app(self._transport, request.method, request.url, request.headers, body)
        )
        status, headers, content, ext = await asyncio.wrap_future(future)
        return httpx.Response(status, headers=headers, content=content, extensions=ext)


class AsgiTarget(Target):
    """An ASGI app served in-process through httpx's ASGI transport, with its lifespan run."""

    kind = "asgi"
    BASE_URL = "http://testserver"

    def __init__(self, spec: TargetSpec) -> None:
        super().__init__(spec)
        self._app: ASGIApp | None = None
        self._portal: _Portal | None = None
        self._lifespan: _Lifespan | None = None
        self._transport: httpx.ASGITransport | None = None
        self._state: dict[str, Any] = {}
        self._import_path: str | None = None

    @property
    def base_url(self) -> str:
        return self.BASE_URL

    @property
    def obj(self) -> Any:
        return self._app

    @property
    def lifespan_supported(self) -> bool:
        return self._lifespan is not None and self._lifespan.supported

    def client(self, **kwargs: Any) -> httpx.Client:
        portal, transport = self._require_running()
        kwargs.setdefault("timeout", 30.0)
        return httpx.Client(
            base_url=self.base_url, transport=_SyncPortalTransport(portal, transport), **kwargs
        )

    def async_client(self, **kwargs: Any) -> httpx.AsyncClient:
        portal, transport = self._require_running()
        kwargs.setdefault("timeout", 30.0)
        return httpx.AsyncClient(
            base_url=self.base_url, transport=_AsyncPortalTransport(portal, transport), **kwargs
        )

    def _require_running(self) -> tuple[_Portal, httpx.ASGITransport]:
        if self._portal is None or self._transport is None or not self.running:
            raise TargetError(f"target {self.spec.label!r} is not running")
        return self._portal, self._transport

    def _start(self) -> None:
        spec = self.spec
        self._import_path = add_import_path(spec.cwd)
        if spec.app is not None:
            app = _resolve(spec.app, field="app")
        else:
            assert spec.factory is not None
            app = _resolve(spec.factory, field="factory")(**spec.kwargs)
        if not callable(app):
            field = "app" if spec.app is not None else "factory"
            raise UserError(
                f"{field}={getattr(spec, field)!r}: gives a {type(app).__name__}, not an ASGI app",
                where=field,
            )
        self._app = app
        state = self._state

        async def with_state(scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
            if scope["type"] in ("http", "websocket"):
                scope = {**scope, "state": dict(state)}
            await app(scope, receive, send)

        self._transport = httpx.ASGITransport(app=with_state, raise_app_exceptions=False)
        self._portal = _Portal(spec.label)
        if spec.lifespan != "off":
            self._lifespan = _Lifespan(app, state)
            self._run_lifespan("startup")
            if spec.lifespan == "on" and not self._lifespan.supported:
                raise TargetError(
                    f"target {spec.label!r}: lifespan='on' but the app does not support the "
                    f"lifespan protocol ({self._lifespan.error!r})",
                    hint="set lifespan='auto' or 'off'",
                )
        if spec.health is not None:
            with self.client() as client:
                status = client.get(spec.health).status_code
            if status >= 400:
                raise TargetError(f"target {spec.label!r}: GET {spec.health} answered {status}")

    def _run_lifespan(self, phase: str) -> None:
        assert self._portal is not None and self._lifespan is not None
        lifespan = self._lifespan
        step = lifespan.startup if phase == "startup" else lifespan.shutdown
        timeout = self.spec.startup_timeout
        try:
            self._portal.call(step(timeout), timeout=timeout + 5)
        except (TimeoutError, concurrent.futures.TimeoutError):
            raise TargetError(
                f"target {self.spec.label!r}: lifespan {phase} did not finish within {timeout:g}s"
            ) from None
        except _LifespanFailed as exc:
            raise TargetError(
                f"target {self.spec.label!r}: lifespan {phase} failed: {exc}",
                log_tail=repr(lifespan.error) if lifespan.error else "",
            ) from lifespan.error

    def _stop(self) -> None:
        try:
            if self._lifespan is not None and self._portal is not None:
                self._run_lifespan("shutdown")
        finally:
            if self._portal is not None:
                self._portal.close()
            self._portal = None
            self._lifespan = None
            remove_import_path(self._import_path)
            self._import_path = None
