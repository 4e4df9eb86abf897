"""Shared binding vocabulary: HTTP call templates and the three kinds of effect counters."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from harness.bindings import EffectCounter, HttpCall
from harness.concurrency.effects import count_effect
from harness.errors import UserError
from harness.targets import Target, TargetSpec, create, launch


def test_http_call_parses_renders_and_quotes() -> None:
    call = HttpCall.model_validate("post /events/{event}/tickets/{key}")
    assert (call.method, call.placeholders) == ("POST", ("event", "key"))
    assert call.render({"event": 7, "key": "a/b c"}) == "/events/7/tickets/a%2Fb%20c"
    assert str(call) == "POST /events/{event}/tickets/{key}"
    with pytest.raises(KeyError, match="no value for key"):
        call.render({"event": 1})


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("GET http://evil.example/x", "must be 'METHOD /path'"),
        ("GET //evil.example/x", "not a URL"),
        ("BREW /pot", "not an HTTP method"),
        ("GET /a/{b", "unbalanced"),
        ("GET /a/{b!r}", "plain name"),
        ("GET /a/{0}", "plain name"),
    ],
)
def test_http_call_rejects(text: str, error: str) -> None:
    with pytest.raises(ValidationError, match=error):
        HttpCall.model_validate(text)


async def counting_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    bodies = {"/n": b"5", "/obj": b'{"count": 6, "other": 1}', "/list": b"[1, 2]", "/bad": b'"x"'}
    status = 200 if scope["path"] in bodies else 404
    await send({"type": "http.response.start", "status": status, "headers": []})
    await send({"type": "http.response.body", "body": bodies.get(scope["path"], b"{}")})


@pytest.fixture
def app_target() -> Iterator[Target]:
    with launch(TargetSpec(kind="asgi", app=counting_app, lifespan="off")) as target:
        yield target


def test_http_counter_reads_int_object_and_list(app_target: Target) -> None:
    assert EffectCounter.model_validate("GET /n").count(app_target) == 5
    assert EffectCounter.model_validate("GET /obj").count(app_target) == 6
    assert EffectCounter(http="GET /obj", field="other").count(app_target) == 1  # type: ignore[arg-type]
    assert EffectCounter.model_validate("GET /list").count(app_target) == 2
    with pytest.raises(UserError, match="not an int"):
        EffectCounter.model_validate("GET /bad").count(app_target)
    with pytest.raises(UserError, match="answered HTTP 404"):
        EffectCounter.model_validate("GET /missing").count(app_target)


def count_items(target: Target) -> int:
    return len(target.obj)


def test_callable_counter_gets_the_target() -> None:
    counter = EffectCounter.model_validate(f"{__name__}:count_items")
    assert counter.call == f"{__name__}:count_items"
    with launch(TargetSpec(kind="python", factory=list, kwargs={})) as target:
        target.obj.extend([1, 2, 3])
        assert counter.count(target) == 3


def test_sql_counter_on_sqlite(tmp_path: Path) -> None:
    db = tmp_path / "app.db"
    with sqlite3.connect(db) as conn:
        conn.executescript("CREATE TABLE t (id INTEGER); INSERT INTO t VALUES (1), (2);")
    conn.close()
    counter = EffectCounter.model_validate(
        {"sql": "SELECT count(*) FROM t", "dsn": f"sqlite:///{db}"}
    )
    with launch(TargetSpec(kind="python", factory=dict)) as target:
        assert counter.count(target) == 2
        with pytest.raises(UserError, match="no database") as info:
            EffectCounter.model_validate("select count(*) from t").count(target)
        assert info.value.where == "binding.effect.dsn"


def test_one_counter_fills_the_attempts_values_and_reads_only_database_url(tmp_path: Path) -> None:
    """Packs and tests count through the same `EffectCounter.count`: `:key` and `{key}` take
    the attempt's values, and the database is the effect's dsn or the target's DATABASE_URL,
    never another variable a particular app happens to read."""
    db = tmp_path / "app.db"
    with closing(sqlite3.connect(db)) as conn:
        conn.executescript("CREATE TABLE t (k TEXT); INSERT INTO t VALUES ('a'), ('a'), ('b');")
        conn.commit()
    counter = EffectCounter.model_validate("SELECT count(*) FROM t WHERE k = :key")

    def target_with(env: dict[str, str]) -> Target:
        # A process target that is never started: a SQL count reads only its spec's env.
        return create({"kind": "process", "command": "{python} -m http.server {port}", "env": env})

    target = target_with({"DATABASE_URL": str(db)})
    assert counter.count(target, {"key": "a"}) == 2
    assert count_effect(counter, target, None, {"key": "b"}) == 1
    with pytest.raises(UserError, match=r"no value for :key \(known: other\)"):
        counter.count(target, {"other": 1})
    with pytest.raises(UserError, match="no database to run it on"):
        count_effect(counter, target_with({"SHOPAPP_DB": str(db)}), None, {"key": "a"})


def test_http_counter_fills_the_path_from_the_attempts_values(app_target: Target) -> None:
    counter = EffectCounter.model_validate("GET /{name}")
    assert counter.count(app_target, {"name": "list"}) == 2
    with pytest.raises(UserError, match="no value for name"):
        counter.count(app_target)


@pytest.mark.parametrize(
    ("value", "error"),
    [
        ("count the rows", "must be 'pkg.mod:callable', 'GET /path'"),
        ({"sql": "DELETE FROM t"}, "read-only"),
        ({"call": "m:f", "http": "GET /n"}, "exactly one"),
        ({}, "exactly one"),
        ({"sql": "SELECT 1", "dsn": "mysql://x"}, "sqlite:///"),
        ({"call": "m:f", "dsn": "sqlite:///x"}, "only used with sql"),
    ],
)
def test_effect_counter_rejects(value: object, error: str) -> None:
    with pytest.raises(ValidationError, match=error):
        EffectCounter.model_validate(value)
