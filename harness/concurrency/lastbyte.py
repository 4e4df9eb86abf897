"""HTTP last-byte synchronisation, and the naive ``asyncio.gather`` baseline.

Answers are parsed by h11 (which httpx itself uses), so a HEAD answer has no body, repeated
fields such as Set-Cookie stay apart, and a chunked body's trailer is read, never left on the
connection for the next request to trip over.

Last-byte mode opens N keep-alive HTTP/1.1 connections on loopback (each warmed with one request
so the server has accepted it and is parked in its parser), writes every request except its final
byte, waits until the partial requests have left, then writes all the final bytes back to back.
The server completes N requests within microseconds of each other, so a race window as narrow as
one DB round trip is hit far more often than by N independent client calls.
"""

from __future__ import annotations

import asyncio
import json as jsonlib
import socket
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import h11
import httpx

from ..errors import TargetError, UserError
from .attempts import AttemptOutcome, Budget, run_attempts
from .result import Mode, RaceResult, Violation


@dataclass(frozen=True)
class HttpRequest:
    """One request to fire. ``body`` wins over ``json``; headers are sent as given."""

    method: str
    path: str
    headers: Mapping[str, str] = field(default_factory=dict)
    json: Any = None
    body: bytes | None = None

    def payload(self) -> bytes:
        if self.body is not None:
            return self.body
        if self.json is not None:
            return jsonlib.dumps(self.json, separators=(",", ":")).encode()
        return b""

    def encode(self, host: str) -> bytes:
        """The raw HTTP/1.1 bytes, keep-alive, with Content-Length when there is a body."""
        body = self.payload()
        lines = [f"{self.method.upper()} {self.path} HTTP/1.1", f"Host: {host}"]
        names = {k.lower() for k in self.headers}
        for key, value in self.headers.items():
            lines.append(f"{key}: {value}")
        if self.json is not None and self.body is None and "content-type" not in names:
            lines.append("Content-Type: application/json")
        if body or self.method.upper() in ("POST", "PUT", "PATCH"):
            lines.append(f"Content-Length: {len(body)}")
        lines.append("Connection: keep-alive")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


@dataclass(frozen=True)
class HttpReply:
    """An answer as h11 parsed it. `headers` joins a repeated field's values with ", " (lower-
    case names); `fields` keeps every field as sent, so repeated Set-Cookie lines stay apart."""

    status: int
    headers: Mapping[str, str]
    body: bytes
    fields: tuple[tuple[str, str], ...] = ()
    #: Fields after a chunked body's last chunk.
    trailers: tuple[tuple[str, str], ...] = ()

    def json(self) -> Any:
        return jsonlib.loads(self.body) if self.body else None

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def get_all(self, name: str) -> list[str]:
        """Every value of field `name`, in order (Set-Cookie, say)."""
        return [value for key, value in self.fields if key == name.lower()]


def _pairs(headers: Sequence[tuple[bytes, bytes]]) -> tuple[tuple[str, str], ...]:
    return tuple((k.decode("latin-1").lower(), v.decode("latin-1")) for k, v in headers)


class _Replies:
    """Reads the answers on one keep-alive connection with h11, one request at a time.

    Our requests are written by hand (`HttpRequest.encode`: checks send header values h11 would
    refuse, such as a key of spaces); h11 is told each request's method, which decides how the
    answer is framed (a HEAD answer has no body whatever its Content-Length says).
    """

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.conn = h11.Connection(h11.CLIENT)

    @property
    def reusable(self) -> bool:
        """Whether another request may go on this connection (the last answer kept it open)."""
        return self.conn.our_state in (h11.IDLE, h11.DONE) and self.conn.their_state in (
            h11.IDLE,
            h11.DONE,
        )

    def expect(self, request: HttpRequest) -> None:
        if not self.reusable:
            raise ConnectionError("the target closed this connection after its last answer")
        if self.conn.our_state is h11.DONE:
            self.conn.start_next_cycle()
        method = request.method.upper().encode("ascii", "replace")
        self.conn.send(h11.Request(method=method, target="/", headers=[("Host", "target")]))
        self.conn.send(h11.EndOfMessage())

    def read(self) -> HttpReply:
        response: h11.Response | None = None
        body: list[bytes] = []
        closed = False
        while True:
            try:
                event = self.conn.next_event()
            except h11.RemoteProtocolError as exc:
                if closed:  # the peer went away mid-answer: a dropped call, not bad HTTP
                    raise ConnectionError("the target closed the connection mid-answer") from None
                raise TargetError(f"malformed HTTP answer from the target: {exc}") from None
            if event is h11.NEED_DATA:
                data = self.sock.recv(65536)
                if not data and response is None:
                    raise ConnectionError("the target closed the connection before answering")
                closed = not data
                self.conn.receive_data(data)
            elif event is h11.PAUSED:
                raise TargetError("the target switched protocols; last-byte mode speaks HTTP/1.1")
            elif isinstance(event, h11.InformationalResponse):
                continue
            elif isinstance(event, h11.Response):
                response = event
            elif isinstance(event, h11.Data):
                body.append(bytes(event.data))
            elif isinstance(event, h11.EndOfMessage):
                assert response is not None
                fields = _pairs(response.headers)
                joined: dict[str, str] = {}
                for key, value in fields:
                    joined[key] = f"{joined[key]}, {value}" if key in joined else value
                return HttpReply(
                    response.status_code, joined, b"".join(body), fields, _pairs(event.headers)
                )
            elif isinstance(event, h11.ConnectionClosed):
                raise ConnectionError("the target closed the connection mid-answer")


def _address(base_url: str) -> tuple[str, int, str]:
    parts = urlsplit(base_url)
    if parts.scheme != "http" or not parts.hostname:
        raise UserError(
            f"target.base_url={base_url!r}: last-byte mode needs a plain http:// loopback "
            "target (use kind 'process' or 'url'; in-process targets have no socket)"
        )
    port = parts.port or 80
    return parts.hostname, port, f"{parts.hostname}:{port}"


def _connect(host: str, port: int, timeout: float) -> socket.socket:
    try:
        sock = socket.create_connection((host, port), timeout=timeout)
    except OSError as exc:
        raise TargetError(
            f"target {host}:{port} is unreachable ({type(exc).__name__}: {exc}); "
            "is it running and healthy?"
        ) from None
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def fire_last_byte(
    base_url: str,
    requests: Sequence[HttpRequest],
    *,
    warmup: HttpRequest | None = None,
    timeout: float = 10.0,
    settle: float = 0.01,
) -> list[HttpReply | BaseException]:
    """Send ``requests`` on one connection each, releasing their final bytes back to back.

    ``warmup`` (a cheap GET such as the health URL) is sent first on every connection so that
    all of them are established and accepted before the race. The partial requests then go out
    (a request with a body is held on its body's last byte, so the server has already started
    its handler and parked it on the body), ``settle`` seconds pass so they reach the server, and
    the final bytes are written in a tight loop of plain ``send`` calls, a few microseconds apart,
    so the server reads them in one poll.
    """
    host, port, host_header = _address(base_url)
    socks: list[socket.socket] = []
    try:
        for _ in requests:
            socks.append(_connect(host, port, timeout))
        readers = [_Replies(sock) for sock in socks]
        if warmup is not None:
            raw = warmup.encode(host_header)
            for reader in readers:
                reader.expect(warmup)
                reader.sock.sendall(raw)
            for i, reader in enumerate(readers):
                reader.read()
                if not reader.reusable:
                    # The target closes after each answer (Connection: close, HTTP/1.0): the
                    # race request goes on a new connection, accepted but not warmed.
                    reader.sock.close()
                    socks[i] = _connect(host, port, timeout)
                    readers[i] = _Replies(socks[i])
        for reader, request in zip(readers, requests, strict=True):
            reader.expect(request)
        encoded = [request.encode(host_header) for request in requests]
        lasts = [raw[-1:] for raw in encoded]
        for sock, raw in zip(socks, encoded, strict=True):
            sock.sendall(raw[:-1])
        time.sleep(settle)
        for sock, last in zip(socks, lasts, strict=True):
            sock.send(last)  # back to back: nothing else happens between these sends
        replies: list[HttpReply | BaseException] = []
        for reader in readers:
            try:
                replies.append(reader.read())
            except (OSError, TargetError) as exc:
                replies.append(exc)
        return replies
    finally:
        for sock in socks:
            sock.close()


def send_raw(base_url: str, request: HttpRequest, *, timeout: float = 10.0) -> HttpReply:
    """One request on a fresh raw socket, bytes exactly as given (httpx refuses some header
    values, such as a blank one, that a check needs to send)."""
    host, port, host_header = _address(base_url)
    with _connect(host, port, timeout) as sock:
        reader = _Replies(sock)
        reader.expect(request)
        sock.sendall(request.encode(host_header))
        return reader.read()


async def fire_gather(
    base_url: str, requests: Sequence[HttpRequest], *, timeout: float = 10.0
) -> list[HttpReply | BaseException]:
    """The baseline: one httpx.AsyncClient, ``asyncio.gather`` of N calls."""
    limits = httpx.Limits(max_connections=len(requests), max_keepalive_connections=len(requests))
    async with httpx.AsyncClient(base_url=base_url, timeout=timeout, limits=limits) as client:

        async def one(request: HttpRequest) -> HttpReply:
            response = await client.request(
                request.method,
                request.path,
                headers=dict(request.headers),
                content=request.payload() if request.body is not None else None,
                json=request.json if request.body is None else None,
            )
            fields = tuple((k.lower(), v) for k, v in response.headers.multi_items())
            return HttpReply(response.status_code, dict(response.headers), response.content, fields)

        replies = await asyncio.gather(*(one(r) for r in requests), return_exceptions=True)
        return list(replies)


def fire(
    mode: Mode,
    base_url: str,
    requests: Sequence[HttpRequest],
    *,
    warmup: HttpRequest | None = None,
    timeout: float = 10.0,
) -> tuple[list[HttpReply | BaseException], float]:
    """Fire ``requests`` concurrently in ``mode`` (last-byte or gather); returns replies and seconds."""
    if mode not in (Mode.LAST_BYTE, Mode.GATHER):
        raise UserError(f"mode={mode.value!r}: not an HTTP mode (last-byte|gather)")
    started = time.perf_counter()
    if mode is Mode.LAST_BYTE:
        replies = fire_last_byte(base_url, requests, warmup=warmup, timeout=timeout)
    else:
        replies = asyncio.run(fire_gather(base_url, requests, timeout=timeout))
    return replies, time.perf_counter() - started


@dataclass(frozen=True)
class HttpRace:
    workers: int = 8
    mode: Mode = Mode.LAST_BYTE
    budget: Budget = field(default_factory=lambda: Budget(seconds=3.0, max_attempts=40))
    seed: int | None = None
    timeout: float = 10.0
    warmup: HttpRequest | None = None

    def __post_init__(self) -> None:
        if self.mode not in (Mode.LAST_BYTE, Mode.GATHER):
            raise UserError(f"mode={self.mode.value!r}: not an HTTP mode (last-byte|gather)")
        if self.workers < 2:
            raise UserError(f"workers={self.workers!r}: a race needs at least 2 requests")


def race_http(
    name: str,
    base_url: str,
    requests: Callable[[int], Sequence[HttpRequest]],
    check: Callable[[int, list[HttpReply]], Violation | None],
    config: HttpRace | None = None,
) -> RaceResult:
    """Fire ``requests(attempt)`` concurrently each attempt until ``check`` complains.

    A transport error on any request (reset, timeout) is a failure of its own: a 5xx or a dropped
    connection under concurrency is as much a bug as a wrong count.
    """
    cfg = config or HttpRace()

    def attempt(number: int, seed: int) -> AttemptOutcome:
        batch = list(requests(number))
        replies, _ = fire(cfg.mode, base_url, batch, warmup=cfg.warmup, timeout=cfg.timeout)
        errors = [(i, r) for i, r in enumerate(replies) if isinstance(r, BaseException)]
        if errors:
            index, exc = errors[0]
            return AttemptOutcome(
                Violation(
                    what=f"{len(errors)} of {len(batch)} requests got no HTTP response",
                    observed={"transport_errors": len(errors)},
                    expected={"transport_errors": 0},
                    details=(f"request {index}: {type(exc).__name__}: {exc}",),
                )
            )
        return AttemptOutcome(check(number, [r for r in replies if isinstance(r, HttpReply)]))

    return run_attempts(
        name, cfg.mode, attempt, seed=cfg.seed, workers=cfg.workers, budget=cfg.budget
    )
