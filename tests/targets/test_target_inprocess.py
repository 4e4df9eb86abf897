"""The in-process kinds: ASGI apps with their lifespan, and python object factories."""

from __future__ import annotations

import asyncio
import sys
import textwrap
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI, Request

from harness.errors import TargetError, UserError
from harness.targets import TargetSpec, launch
from harness.targets.inprocess import AsgiTarget


def make_app(events: list[str], *, fail_startup: bool = False) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[dict[str, Any]]:
        events.append("startup")
        if fail_startup:
            raise RuntimeError("cannot open the database")
        lock = asyncio.Lock()  # bound to the loop the app runs on
        yield {"lock": lock, "loop": id(asyncio.get_running_loop())}
        events.append("shutdown")

    app = FastAPI(lifespan=lifespan)

    @app.get("/state")
    async def state(request: Request) -> dict[str, Any]:
        async with request.state.lock:
            same_loop = request.state.loop == id(asyncio.get_running_loop())
        return {"same_loop": same_loop}

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("handler bug")

    @app.get("/healthz")
    async def healthz() -> dict[str, bool]:
        return {"ok": True}

    return app


def test_asgi_runs_lifespan_and_serves_sync_and_async_clients() -> None:
    events: list[str] = []
    with launch(TargetSpec(kind="asgi", app=make_app(events), health="/healthz")) as target:
        assert isinstance(target, AsgiTarget)
        assert events == ["startup"]
        assert target.base_url == "http://testserver"
        assert target.pid is None
        with target.client() as client:
            assert client.get("/state").json() == {"same_loop": True}
            assert client.get("/boom").status_code == 500  # as a real server answers

        async def many() -> list[Any]:
            async with target.async_client() as client:
                answers = await asyncio.gather(*(client.get("/state") for _ in range(20)))
            return [a.json() for a in answers]

        assert asyncio.run(many()) == [{"same_loop": True}] * 20
    assert events == ["startup", "shutdown"]


def test_asgi_lifespan_failure_is_a_target_error_and_stops_the_loop() -> None:
    events: list[str] = []
    before = {t.name for t in threading.enumerate()}
    with pytest.raises(TargetError, match="lifespan startup failed"):
        launch(TargetSpec(kind="asgi", app=make_app(events, fail_startup=True))).start()
    assert events == ["startup"]
    leftover = {t.name for t in threading.enumerate()} - before
    assert not any(name.startswith("fixguard-asgi") for name in leftover)


async def plain_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        raise ValueError("no lifespan here")
    await send({"type": "http.response.start", "status": 204, "headers": []})
    await send({"type": "http.response.body", "body": b""})


def test_app_without_lifespan_works_in_auto_mode_and_fails_in_on_mode() -> None:
    with launch(TargetSpec(kind="asgi", app=plain_app)) as target:
        assert isinstance(target, AsgiTarget) and not target.lifespan_supported
        with target.client() as client:
            assert client.get("/").status_code == 204
    with pytest.raises(TargetError, match="lifespan='on'"):
        launch(TargetSpec(kind="asgi", app=plain_app, lifespan="on")).start()


def test_client_after_stop_is_a_target_error() -> None:
    target = launch(TargetSpec(kind="asgi", app=plain_app, lifespan="off"))
    with target:
        pass
    with pytest.raises(TargetError, match="not running"):
        target.client()


@pytest.fixture
def module_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    (tmp_path / "fg_target_mod.py").write_text(
        textwrap.dedent(
            """
            calls = []

            def make_counter(start=0):
                calls.append("enter")
                yield {"count": start}
                calls.append("exit")

            def make_plain():
                return object()

            async def app(scope, receive, send):
                if scope["type"] == "lifespan":
                    return
                await send({"type": "http.response.start", "status": 200, "headers": []})
                await send({"type": "http.response.body", "body": b"from import string"})

            def create_app():
                return app

            not_callable = 42
            """
        )
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    yield tmp_path
    sys.modules.pop("fg_target_mod", None)


def test_python_factory_by_import_string_with_generator_teardown(module_dir: Path) -> None:
    import fg_target_mod

    spec = TargetSpec(kind="python", factory="fg_target_mod:make_counter", kwargs={"start": 3})
    with launch(spec) as target:
        assert target.obj == {"count": 3}
        assert fg_target_mod.calls == ["enter"]
        with pytest.raises(UserError, match="no HTTP interface"):
            target.client()
    assert fg_target_mod.calls == ["enter", "exit"]


def test_python_factory_given_as_an_object() -> None:
    with launch(TargetSpec(kind="python", factory=dict, kwargs={"a": 1})) as target:
        assert target.obj == {"a": 1}


def test_asgi_app_and_factory_by_import_string(module_dir: Path) -> None:
    for spec in (
        TargetSpec(kind="asgi", app="fg_target_mod:app"),
        TargetSpec(kind="asgi", factory="fg_target_mod:create_app"),
    ):
        with launch(spec) as target, target.client() as client:
            assert client.get("/").text == "from import string"


@pytest.mark.parametrize(
    ("spec", "where", "text"),
    [
        ({"kind": "python", "factory": "fg_missing_mod:make"}, "factory", "cannot be imported"),
        ({"kind": "python", "factory": "fg_target_mod:nope"}, "factory", "has no attribute"),
        ({"kind": "python", "factory": "fg_target_mod:not_callable"}, "factory", "not a callable"),
        ({"kind": "asgi", "app": "fg_target_mod:not_callable"}, "app", "not an ASGI app"),
    ],
)
def test_bad_import_strings_are_user_errors(
    module_dir: Path, spec: dict[str, Any], where: str, text: str
) -> None:
    with pytest.raises(UserError, match=text) as info:
        launch(spec).start()
    assert info.value.where == where


def test_cwd_puts_the_project_on_sys_path_until_stop(tmp_path: Path) -> None:
    (tmp_path / "fg_cwd_project.py").write_text("def make():\n    return 'from the checkout'\n")
    folder = str(tmp_path.resolve())
    try:
        with launch(TargetSpec(kind="python", factory="fg_cwd_project:make", cwd=tmp_path)) as t:
            assert t.obj == "from the checkout"
            assert sys.path[0] == folder
        assert folder not in sys.path
    finally:
        sys.modules.pop("fg_cwd_project", None)
