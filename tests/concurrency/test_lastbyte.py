"""HTTP last-byte synchronisation against a real uvicorn process, and the gather baseline."""

from __future__ import annotations

import contextlib
import socket
import threading
import uuid
from collections.abc import Iterator

import pytest

from harness.concurrency import (
    Budget,
    HttpRace,
    HttpReply,
    HttpRequest,
    Mode,
    RaceResult,
    Violation,
    fire,
    format_failure,
    race_http,
)
from harness.concurrency.lastbyte import fire_last_byte, send_raw
from harness.errors import TargetError, UserError

HEALTH = HttpRequest("GET", "/healthz")


def exclusive(base_url: str, mode: Mode, seconds: float) -> RaceResult:
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


# -- answers as HTTP/1.1 frames them (parsed by h11) -------------------------------------------

#: Canned answers, one per request on the connection, in order.
HEAD_ANSWER = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Type: text/plain\r\n\r\n"
COOKIES = (
    b"HTTP/1.1 200 OK\r\nSet-Cookie: a=1; Path=/\r\nSet-Cookie: b=2; HttpOnly\r\n"
    b"Content-Length: 2\r\n\r\nok"
)
CHUNKED = (
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-Count\r\n\r\n"
    b"3\r\nabc\r\n2\r\nde\r\n0\r\nX-Count: 5\r\n\r\n"
)
AFTER = b"HTTP/1.1 204 No Content\r\n\r\n"


@contextlib.contextmanager
def canned_server(answers: list[bytes]) -> Iterator[tuple[str, list[bytes]]]:
    """A loopback server that answers one connection's requests with `answers`, in order;
    it records each request's head as it arrives."""
    listener = socket.create_server(("127.0.0.1", 0))
    heads: list[bytes] = []

    def serve() -> None:
        conn, _ = listener.accept()
        with conn:
            buffer = b""
            for answer in answers:
                while b"\r\n\r\n" not in buffer:
                    data = conn.recv(65536)
                    if not data:
                        return
                    buffer += data
                head, _, buffer = buffer.partition(b"\r\n\r\n")
                heads.append(head)
                conn.sendall(answer)
            conn.recv(1)  # until the client closes

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}", heads
    finally:
        listener.close()
        thread.join(timeout=5)


def test_a_head_answer_has_no_body_whatever_its_length_says() -> None:
    # The next answer on the connection is read as the next answer, not as HEAD's "body".
    with canned_server([HEAD_ANSWER, AFTER]) as (url, heads):
        replies = fire_last_byte(
            url, [HttpRequest("HEAD", "/file")], warmup=HttpRequest("HEAD", "/")
        )
    (reply,) = replies
    assert isinstance(reply, HttpReply)
    assert (reply.status, reply.body) == (204, b"")
    assert heads[0].startswith(b"HEAD / HTTP/1.1") and heads[1].startswith(b"HEAD /file HTTP/1.1")


def test_repeated_fields_stay_apart_and_a_chunked_trailer_is_read() -> None:
    with canned_server([COOKIES, CHUNKED, AFTER]) as (url, _):
        (cookies,) = fire_last_byte(url, [HttpRequest("GET", "/c")])
    assert isinstance(cookies, HttpReply)
    assert cookies.get_all("set-cookie") == ["a=1; Path=/", "b=2; HttpOnly"]
    assert cookies.headers["set-cookie"] == "a=1; Path=/, b=2; HttpOnly"
    with canned_server([CHUNKED, AFTER]) as (url, _):
        chunked = send_raw(url, HttpRequest("GET", "/chunks"))
    assert (chunked.body, chunked.trailers) == (b"abcde", (("x-count", "5"),))


def test_a_raw_request_keeps_header_values_h11_would_refuse() -> None:
    # A key of spaces is what idempotency.key_validation sends: written as given.
    with canned_server([AFTER]) as (url, heads):
        reply = send_raw(
            url, HttpRequest("POST", "/k", headers={"Idempotency-Key": "   "}, json={})
        )
    assert reply.status == 204
    assert b"\r\nIdempotency-Key:    \r\n" in heads[0]


def test_a_malformed_answer_is_a_target_error() -> None:
    with (
        canned_server([b"HTTP/1.1 abc\r\n\r\n"]) as (url, _),
        pytest.raises(TargetError, match="malformed"),
    ):
        send_raw(url, HttpRequest("GET", "/"))


@contextlib.contextmanager
def one_answer_per_connection(answer: bytes, connections: int) -> Iterator[str]:
    """A loopback server that answers each connection's first request, then closes it."""
    listener = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        for _ in range(connections):
            conn, _ = listener.accept()
            with conn:
                buffer = b""
                while b"\r\n\r\n" not in buffer:
                    data = conn.recv(65536)
                    if not data:
                        break
                    buffer += data
                conn.sendall(answer)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        listener.close()
        thread.join(timeout=5)


def test_a_target_that_closes_after_each_answer_gets_the_race_on_new_connections() -> None:
    # Connection: close after the warm-up (a sync gunicorn worker does this): each contender's
    # request goes on a new connection instead of failing on the closed one.
    answer = b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok"
    with one_answer_per_connection(answer, connections=4) as url:
        replies = fire_last_byte(url, [HttpRequest("GET", "/a")] * 2, warmup=HEALTH)
    assert [(r.status, r.body) for r in replies if isinstance(r, HttpReply)] == [(200, b"ok")] * 2


def test_a_body_cut_short_is_a_dropped_call_not_bad_http() -> None:
    cut = b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc"
    with one_answer_per_connection(cut, connections=1) as url, pytest.raises(ConnectionError):
        send_raw(url, HttpRequest("GET", "/"))
