"""Free loopback ports, and the loopback check that keeps traffic off the network."""

from __future__ import annotations

import ipaddress
import socket
import threading
import time

LOOPBACK = "127.0.0.1"

#: How long a port handed out by `free_port` is kept from being handed out again in this process.
_RESERVE_SECONDS = 30.0
_recent: dict[int, float] = {}
_lock = threading.Lock()


def free_port(host: str = LOOPBACK) -> int:
    """A TCP port on `host` that nothing listens on right now.

    The port is free only until someone else binds it, so a launcher must still detect a
    failed bind and retry. Within this process, a port is not handed out twice in 30 s, so two
    targets started at once never race each other for the same one.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    for _ in range(64):
        with socket.socket(family, socket.SOCK_STREAM) as sock:
            sock.bind((host, 0))
            port = int(sock.getsockname()[1])
        now = time.monotonic()
        with _lock:
            for old, at in list(_recent.items()):
                if now - at > _RESERVE_SECONDS:
                    del _recent[old]
            if port not in _recent:
                _recent[port] = now
                return port
    raise OSError(f"no free port on {host!r} after 64 tries")  # pragma: no cover


def is_loopback_host(host: str) -> bool:
    """True for `localhost`, 127.0.0.0/8 and ::1 (brackets allowed); False for anything else."""
    host = host.strip().strip("[]").lower()
    if host in {"localhost", "localhost."} or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def port_is_open(host: str, port: int, timeout: float = 0.2) -> bool:
    """True when a TCP connect to (host, port) succeeds within `timeout`."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False
