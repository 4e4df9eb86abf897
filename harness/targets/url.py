"""The `url` kind: a service that is already running on loopback; never started or stopped."""

from __future__ import annotations

import time
from urllib.parse import urlsplit

import httpx
import psutil

from ..errors import TargetError
from .base import Target
from .ports import port_is_open
from .spec import TargetSpec


def listening_pid(port: int) -> int | None:
    """The pid that listens on TCP `port`, if this user may see it."""
    try:
        conns = psutil.net_connections(kind="inet")
    except psutil.AccessDenied:  # pragma: no cover - depends on the platform
        return None
    for conn in conns:
        if conn.status == psutil.CONN_LISTEN and conn.laddr and conn.laddr.port == port:
            return int(conn.pid) if conn.pid is not None else None
    return None


class UrlTarget(Target):
    """Reach `spec.url`; wait for `health` (or for the port to open) up to `startup_timeout`."""

    kind = "url"

    def __init__(self, spec: TargetSpec) -> None:
        super().__init__(spec)
        assert spec.url is not None
        parts = urlsplit(spec.url)
        self._host = parts.hostname or "127.0.0.1"
        self._port = parts.port or (443 if parts.scheme == "https" else 80)
        self._pid: int | None = None

    @property
    def base_url(self) -> str:
        assert self.spec.url is not None
        return self.spec.url

    @property
    def pid(self) -> int | None:
        """The pid listening on the URL's port when it can be seen (same user or root)."""
        return self._pid

    def _start(self) -> None:
        deadline = time.monotonic() + self.spec.startup_timeout
        last = "no answer"
        while True:
            if self.spec.health is None:
                if port_is_open(self._host, self._port):
                    break
                last = "connection refused"
            else:
                try:
                    with self.client(timeout=1.0) as client:
                        status = client.get(self.spec.health).status_code
                    if status < 400:
                        break
                    last = f"HTTP {status}"
                except httpx.HTTPError as exc:
                    last = type(exc).__name__
            if time.monotonic() >= deadline:
                probe = f"GET {self.base_url}{self.spec.health}" if self.spec.health else "connect"
                raise TargetError(
                    f"url={self.spec.url!r}: not reachable within "
                    f"{self.spec.startup_timeout:g}s ({probe}: {last})",
                    where=f"targets.{self.spec.name}.url" if self.spec.name else "url",
                    hint="start the service first, or use kind='process' to let the harness start it",
                )
            time.sleep(0.1)
        self._pid = listening_pid(self._port)

    def _stop(self) -> None:
        """Nothing to do: the harness did not start this service, so it does not stop it."""
