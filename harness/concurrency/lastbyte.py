"""HTTP last-byte synchronisation, and the naive ``asyncio.gather`` baseline.

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
from typing import Any, BinaryIO
from urllib.parse import urlsplit

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
    status: int
    headers: Mapping[str, str]
    body: bytes

    def json(self) -> Any:
        return jsonlib.loads(self.body) if self.body else None

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


def _address(base_url: str) -> tuple[str, int, str]:
    parts = urlsplit(base_url)
    if parts.scheme != "http" or not parts.hostname:
        raise UserError(
            f"target.base_url={base_url!r}: last-byte mode needs a plain http:// loopback "
            "target (use kind 'process' or 'url'; in-process targets have no socket)"
        )
    port = parts.port or 80
    return parts.hostname, port, f"{parts.hostname}:{port}"


def _read_reply(stream: BinaryIO) -> HttpReply:
    """Read one HTTP/1.1 response (Content-Length, chunked, or until close) from ``stream``."""
    head = b""
    while not head.endswith(b"\r\n\r\n"):
        line = stream.readline(65537)
        if not line:
            raise ConnectionError("the target closed the connection before answering")
        head += line
    lines = head.decode("latin-1").split("\r\n")
    status_line = lines[0].split(" ", 2)
    if len(status_line) < 2 or not status_line[1].isdigit():
        raise TargetError(f"malformed HTTP status line from target: {lines[0]!r}")
    headers: dict[str, str] = {}
    for text in lines[1:]:
        if ":" in text:
            key, value = text.split(":", 1)
            headers[key.strip().lower()] = value.strip()
    status = int(status_line[1])
    if headers.get("transfer-encoding", "").lower() == "chunked":
        chunks = []
        while True:
            size = int(stream.readline(1024).split(b";")[0].strip(), 16)
            if size == 0:
                stream.readline(1024)
                break
            chunks.append(_read_exactly(stream, size))
            _read_exactly(stream, 2)
        body = b"".join(chunks)
    elif "content-length" in headers:
        body = _read_exactly(stream, int(headers["content-length"]))
    elif status in (204, 304) or 100 <= status < 200:
        body = b""
    else:
        body = stream.read()
    return HttpReply(status, headers, body)


def _read_exactly(stream: BinaryIO, size: int) -> bytes:
    data = stream.read(size)
    if data is None or len(data) != size:
        raise ConnectionError(f"the target closed the connection mid-body ({size} bytes expected)")
    return data


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
        streams = [sock.makefile("rb") for sock in socks]
        if warmup is not None:
            raw = warmup.encode(host_header)
            for sock in socks:
                sock.sendall(raw)
            for stream in streams:
                _read_reply(stream)
        encoded = [request.encode(host_header) for request in requests]
        lasts = [raw[-1:] for raw in encoded]
        for sock, raw in zip(socks, encoded, strict=True):
            sock.sendall(raw[:-1])
        time.sleep(settle)
        for sock, last in zip(socks, lasts, strict=True):
            sock.send(last)  # back to back: nothing else happens between these sends
        replies: list[HttpReply | BaseException] = []
        for stream in streams:
            try:
                replies.append(_read_reply(stream))
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
    with _connect(host, port, timeout) as sock, sock.makefile("rb") as stream:
        sock.sendall(request.encode(host_header))
        return _read_reply(stream)


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
            return HttpReply(response.status_code, dict(response.headers), response.content)

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
