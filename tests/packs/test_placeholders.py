"""The placeholders pack on the sample's avatar-placeholder finding, through uvicorn (process
target): the upload placeholder and the 501 thumbnail route fail on the base, pass at the head;
NotImplementedError is caught in-process on a small app."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

import pytest
from fastapi import FastAPI, HTTPException, Request

from harness.errors import UserError
from harness.scenario import run
from harness.targets import launch
from tests.packs.support import failure, findings_apart

ROUND_TRIP = {"send": "PUT /avatars/{key}", "fetch": "GET /avatars/{key}", "digest_field": "sha256"}


#: The base's order sync retries forever (order-sync-retries): not this pack's finding.
ROUTES = {"exclude": ["POST /orders/{order_id}/sync"]}


def test_both_checks_fail_on_the_base(sample_server: Any) -> None:
    target, _ = sample_server("base")
    routes = failure("placeholders.no_unimplemented_routes", ROUTES, target)
    message = failure("placeholders.input_round_trip", ROUND_TRIP, target)
    assert "GET /avatars/{user_id}/thumbnail answered 501: " in routes
    assert routes.count("answered 501") == 1, routes
    assert "PUT /avatars/{key} (fg-round-trip-1): sent 4096 bytes (sha256 " in message
    assert "the answer's sha256 is e3b0c44298fc = sha256 of nothing" in message
    assert "GET /avatars/{key} (fg-round-trip-2): gave back 0 bytes" in message


def test_both_checks_pass_at_the_head(sample_server: Any, fixed: Callable[[str], None]) -> None:
    fixed("avatar-placeholder")
    target, _ = sample_server("head")
    run("placeholders.no_unimplemented_routes", ROUTES, target)
    run("placeholders.input_round_trip", ROUND_TRIP, target)
    # a JSON payload compared through the digest field alone also round-trips as bytes
    run("placeholders.input_round_trip", {**ROUND_TRIP, "fetch": None, "size": 17}, target)


def _placeholder_app() -> FastAPI:
    app = FastAPI()

    @app.get("/ready")
    def ready() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/voices/{voice_id}/synthesize")
    def synthesize(voice_id: str) -> dict[str, str]:
        raise NotImplementedError("cloned synthesis is not wired up")

    @app.get("/legacy")
    def legacy() -> dict[str, str]:
        raise HTTPException(501, "documented as unimplemented")

    return app


def test_not_implemented_error_is_found_in_process_and_allow_is_honoured() -> None:
    with launch({"kind": "asgi", "factory": _placeholder_app}) as target:
        message = failure("placeholders.no_unimplemented_routes", {}, target)
        assert (
            "POST /voices/{voice_id}/synthesize answered 500 and raised "
            "NotImplementedError: cloned synthesis is not wired up" in message
        )
        assert "GET /legacy answered 501" in message and "/ready" not in message
        run(
            "placeholders.no_unimplemented_routes",
            {"allow": ["GET /legacy"], "exclude": ["/voices/{voice_id}/synthesize"]},
            target,
        )


def test_bindings_are_checked() -> None:
    with launch({"kind": "asgi", "factory": _placeholder_app}) as target:
        with pytest.raises(UserError, match="set fetch"):
            run("placeholders.input_round_trip", {"send": "PUT /x/{key}"}, target)
        with pytest.raises(UserError, match="answered 404"):
            run("placeholders.no_unimplemented_routes", {"openapi": "/nope.json"}, target)


# --- precision: a 500 is not a stub, nor is a NotImplementedError the route handles itself -------


def _implemented_app() -> FastAPI:
    """Every route is implemented; one crashes on the probe's value, one uses a fallback."""
    app = FastAPI()
    store: dict[str, bytes] = {}

    @app.get("/orders/{order_id}")
    def order(order_id: str) -> dict[str, int]:
        return {"id": int(order_id)}  # ValueError on 'fixguard-probe': a 500, not a stub

    @app.get("/render")
    def render() -> dict[str, str]:
        try:
            raise NotImplementedError("no GPU backend")  # a capability probe
        except NotImplementedError:
            return {"rendered": "on the CPU"}

    @app.get("/ready")
    def ready() -> dict[str, str]:
        return {"status": "ok"}

    @app.put("/blobs/{key}")
    async def put_blob(key: str, request: Request) -> dict[str, str]:
        if key.endswith("-2"):
            raise HTTPException(503, "the second shard is down")
        store[key] = await request.body()
        return {"sha256": hashlib.sha256(store[key]).hexdigest()}

    @app.put("/broken/{key}")
    def put_broken(key: str) -> None:
        raise HTTPException(500, "nothing works")

    return app


IMPLEMENTED = {"exclude": ["/broken/{key}"]}


def test_a_500_and_a_handled_not_implemented_error_are_findings_not_stubs() -> None:
    with launch({"kind": "asgi", "factory": _implemented_app}) as target:
        seen = findings_apart("placeholders.no_unimplemented_routes", IMPLEMENTED, target)
    problems = sorted(f.problem for f in seen)
    assert problems == [
        "GET /orders/{order_id} answered 500 to a probe with 'fixguard-probe' in its path "
        "parameters",
        "GET /render answered 200 but raised NotImplementedError: no GPU backend, handled "
        "inside the route",
    ], problems
    assert all(f.repro.startswith("curl ") for f in seen)


def test_a_5xx_on_one_key_is_a_finding_and_the_other_key_is_still_judged() -> None:
    binding = {"send": "PUT /blobs/{key}", "digest_field": "sha256"}
    with launch({"kind": "asgi", "factory": _implemented_app}) as target:
        seen = findings_apart("placeholders.input_round_trip", binding, target)
        assert [f.problem.split(":")[0] for f in seen] == [
            "PUT /blobs/{key} (fg-round-trip-2) answered 503"
        ]
        with pytest.raises(
            AssertionError, match="no key could be compared: every send or fetch answered a 5xx"
        ):
            run("placeholders.input_round_trip", {**binding, "send": "PUT /broken/{key}"}, target)
