"""Loopback stub upstreams: one that accepts and never answers, one that answers a set status.

    with StubUpstream(hang=True) as stub:        # accepts, reads the request, never replies
        ... target configured with stub.url ...
    with StubUpstream(statuses={"PATCH": 503}) as stub:   # 503 to PATCH, 200 {} otherwise
        ...
    stub.requests                                # what arrived: method, path, body

Plain sockets and threads, so the stub runs whatever event loop (or none) the test uses, and
serves HTTP/1.1 keep-alive the way pooled clients expect. Loopback only.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from http import HTTPStatus
from typing import Self

from ..targets.ports import LOOPBACK, is_loopback_host

_MAX_HEADER = 64 * 1024


@dataclass(frozen=True)
class StubRequest:
    method: str
    path: str
    body: bytes


class StubUpstream:
    """A tiny HTTP/1.1 server on loopback; see the module docstring."""

    def __init__(
        self,
        *,
        hang: bool = False,
        status: int = 200,
        statuses: Mapping[str, int] | None = None,
        body: bytes = b"{}",
        content_type: str = "application/json",
        host: str = LOOPBACK,
        port: int = 0,
    ) -> None:
        if not is_loopback_host(host):
            raise ValueError(f"host={host!r}: stub upstreams listen on loopback only")
        self.hang = hang
        self.status = status
        self.statuses = {k.upper(): v for k, v in (statuses or {}).items()}
        self.body = body
        self.content_type = content_type
        self._host, self._port = host, port
        self._sock: socket.socket | None = None
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._conns: list[socket.socket] = []
        self._threads: list[threading.Thread] = []
        self.requests: list[StubRequest] = []
        self.connections = 0

    @property
    def port(self) -> int:
        if self._sock is None:
            raise RuntimeError("stub upstream is not started")
        return int(self._sock.getsockname()[1])

    @property
    def url(self) -> str:
        return f"http://{self._host}:{self.port}"

    def start(self) -> Self:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self._host, self._port))
        sock.listen(128)
        sock.settimeout(0.1)
        self._sock = sock
        thread = threading.Thread(target=self._accept, name="fixguard-stub-accept", daemon=True)
        thread.start()
        self._threads.append(thread)
        return self

    def stop(self) -> None:
        self._stop.set()
        with self._lock:
            conns, self._conns = self._conns, []
        for conn in conns:
            _close(conn)
        for thread in list(self._threads):
            thread.join(timeout=2)
        if self._sock is not None:
            _close(self._sock)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def requests_for(self, method: str) -> list[StubRequest]:
        with self._lock:
            return [r for r in self.requests if r.method == method.upper()]

    # --- serving --------------------------------------------------------------------------

    def _accept(self) -> None:
        assert self._sock is not None
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            conn.settimeout(0.2)
            with self._lock:
                self.connections += 1
                self._conns.append(conn)
            thread = threading.Thread(
                target=self._serve, args=(conn,), daemon=True, name="fixguard-stub-conn"
            )
            thread.start()
            with self._lock:
                self._threads = [t for t in self._threads if t.is_alive()] + [thread]

    def _serve(self, conn: socket.socket) -> None:
        buffer = b""
        try:
            while not self._stop.is_set():
                request, buffer = self._read_request(conn, buffer)
                if request is None:
                    return
                with self._lock:
                    self.requests.append(request)
                if self.hang:
                    self._stop.wait()
                    return
                status = self.statuses.get(request.method, self.status)
                reason = (
                    HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else ""
                )
                head = (
                    f"HTTP/1.1 {status} {reason}\r\nContent-Type: {self.content_type}\r\n"
                    f"Content-Length: {len(self.body)}\r\nConnection: keep-alive\r\n\r\n"
                )
                conn.sendall(head.encode("latin-1") + self.body)
        except OSError:
            return
        finally:
            with self._lock:
                if conn in self._conns:
                    self._conns.remove(conn)
            _close(conn)

    def _read_request(self, conn: socket.socket, buffer: bytes) -> tuple[StubRequest | None, bytes]:
        while b"\r\n\r\n" not in buffer:
            chunk = self._recv(conn)
            if not chunk:
                return None, b""
            buffer += chunk
            if len(buffer) > _MAX_HEADER:
                return None, b""
        head, _, rest = buffer.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        method, path = [*lines[0].split(" "), "", ""][:2]
        length = 0
        for line in lines[1:]:
            key, _, value = line.partition(":")
            if key.strip().lower() == "content-length":
                length = int(value.strip() or 0)
        while len(rest) < length:
            chunk = self._recv(conn)
            if not chunk:
                return None, b""
            rest += chunk
        return StubRequest(method.upper(), path, rest[:length]), rest[length:]

    def _recv(self, conn: socket.socket) -> bytes:
        while not self._stop.is_set():
            try:
                return conn.recv(65536)
            except TimeoutError:
                continue
        return b""


def _close(sock: socket.socket) -> None:
    try:
        sock.close()
    except OSError:
        pass
