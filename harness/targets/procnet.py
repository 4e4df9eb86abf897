"""Which addresses listen on a port inside another process's network namespace (/proc/net)."""

from __future__ import annotations

import socket
from pathlib import Path


def listening_inside(pid: int, port: int) -> set[str] | None:
    """Addresses ('0.0.0.0', '127.0.0.1', '::'...) listening on TCP `port` in the network
    namespace of `pid`, read from /proc/<pid>/net/tcp{,6}; None when it may not be read."""
    found: set[str] = set()
    for table in ("tcp", "tcp6"):
        try:
            lines = Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]
        except FileNotFoundError:
            continue
        except OSError:
            return None
        for line in lines:
            fields = line.split()
            local, state = fields[1], fields[3]
            address, _, hex_port = local.partition(":")
            if state == "0A" and int(hex_port, 16) == port:  # 0A: LISTEN
                found.add(_decode_address(address))
    return found


def _decode_address(hex_address: str) -> str:
    raw = bytes.fromhex(hex_address)
    if len(raw) == 4:
        return socket.inet_ntop(socket.AF_INET, raw[::-1])
    words = b"".join(raw[i : i + 4][::-1] for i in range(0, 16, 4))
    return socket.inet_ntop(socket.AF_INET6, words)
