"""HTTP last-byte synchronisation against a real uvicorn process, and the gather baseline."""

from __future__ import annotations

import uuid

import pytest

from harness.concurrency import (
    Budget,
    HttpRace,
    HttpReply,
    HttpRequest,
    Mode,
    Violation,
    fire,
    format_failure,
    race_http,
)
from harness.concurrency.lastbyte import fire_last_byte
from harness.errors import TargetError, UserError

HEALTH = HttpRequest("GET", "/healthz")


def exclusive(base_url: str, mode: Mode, seconds: float) -> object:
    run = uuid.uuid4().hex[:8]

    def requests(attempt: int) -> list[HttpRequest]:
        return [
            HttpRequest("POST", f"/simulations/{run}-{attempt}", json={"n": i}) for i in range(8)
        ]

    def check(attempt: int, replies: list[HttpReply]) -> Violation | None:
        created = sum(r.status == 201 for r in replies)
        conflicts = sum(r.status == 409 for r in replies)
        if (created, conflicts) != (1, len(replies) - 1):
            return Violation(
                "more than one request created the same simulation",
                {"201": created, "409": conflicts},
                {"201": 1, "409": len(replies) - 1},
            )
        return None

    config = HttpRace(
        workers=8, mode=mode, budget=Budget(seconds=seconds, max_attempts=30), warmup=HEALTH
    )
    return race_http("exclusive_create", base_url, requests, check, config)


def test_last_byte_sync_catches_a_one_round_trip_window(buggy_register_url: str) -> None:
    result = exclusive(buggy_register_url, Mode.LAST_BYTE, seconds=4)
    assert result.broken, f"not caught in {result.attempts} attempts"
    text = format_failure(result)
    assert "mode=last-byte" in text and "observed: 201=" in text and "repro: FIXGUARD_SEED=" in text


def test_the_fixed_service_holds_in_both_modes(fixed_register_url: str) -> None:
    for mode in (Mode.LAST_BYTE, Mode.GATHER):
        result = exclusive(fixed_register_url, mode, seconds=0.5)
        assert not result.broken, format_failure(result)
        assert result.attempts >= 3


def test_replies_are_parsed_with_status_json_and_chunked_bodies(fixed_register_url: str) -> None:
    replies, _ = fire(
        Mode.LAST_BYTE,
        fixed_register_url,
        [HttpRequest("GET", "/healthz"), HttpRequest("GET", "/chunked")],
    )
    health, chunked = replies
    assert isinstance(health, HttpReply) and health.status == 200 and health.json() == {"ok": True}
    assert isinstance(chunked, HttpReply) and chunked.body == b"abcde"


def test_an_unreachable_target_is_a_target_error_naming_it() -> None:
    with pytest.raises(TargetError, match=r"127\.0\.0\.1:9 is unreachable"):
        fire_last_byte("http://127.0.0.1:9", [HEALTH], timeout=2)


def test_an_in_process_target_cannot_do_last_byte_sync() -> None:
    with pytest.raises(UserError, match=r"target\.base_url='asgi://app'"):
        fire_last_byte("asgi://app", [HEALTH])
