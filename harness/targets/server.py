"""What the `process` and `docker` kinds share: a server reached on a loopback port.

Both start something that should end up answering HTTP on `127.0.0.1:<port>`, wait for it with
one polling rule (backing off from a few milliseconds to a quarter second, until the spec's
`startup_timeout`), and on a failure say why in one line; a port someone took meanwhile is
retried with another.
"""

from __future__ import annotations

import atexit
import time
import weakref
from collections.abc import Callable

import httpx

from ..errors import TargetError
from .base import Target
from .ports import LOOPBACK
from .spec import TargetSpec


class StartFailed(Exception):
    """The server did not come up; `retry` when another free port may do (it was taken)."""

    def __init__(self, reason: str, *, retry: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry = retry


#: Servers started and not yet stopped, for the exit hook below.
live: weakref.WeakSet[ServerTarget] = weakref.WeakSet()


def _stop_leftovers() -> None:
    """At interpreter exit, stop every server target a caller forgot (or could not) stop."""
    for target in list(live):
        try:
            target.stop()
        except Exception:  # pragma: no cover - best effort at exit
            pass


atexit.register(_stop_leftovers)

#: One look at the server: (healthy, what was seen). It may raise StartFailed to give up.
Check = Callable[[httpx.Client], tuple[bool, str]]


class ServerTarget(Target):
    """A target whose server listens on a loopback `port`, with the host `pid` that serves it."""

    def __init__(self, spec: TargetSpec) -> None:
        super().__init__(spec)
        self._port: int | None = None
        self._pid: int | None = None

    @property
    def base_url(self) -> str:
        if self._port is None:
            raise TargetError(f"target {self.spec.label!r} has not been started")
        return f"http://{LOOPBACK}:{self._port}"

    @property
    def port(self) -> int | None:
        """The host port on 127.0.0.1 it is reached on."""
        return self._port

    @property
    def pid(self) -> int | None:
        """The server's pid on the host (kept after stop, so a test can check that it is gone)."""
        return self._pid

    def health_url(self, port: int) -> str:
        return f"http://{LOOPBACK}:{port}{self.spec.health or '/'}"

    def poll_until_healthy(
        self, check: Check, what: str, *, first_delay: float, hint: str = ""
    ) -> None:
        """Call `check` until it says healthy; StartFailed past the spec's startup_timeout."""
        timeout = self.spec.startup_timeout
        deadline = time.monotonic() + timeout
        last, delay = "no answer yet", first_delay
        with httpx.Client(timeout=httpx.Timeout(1.0), trust_env=False) as client:
            while True:
                ok, last = check(client)
                if ok:
                    return
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise StartFailed(
                        f"did not become healthy within {timeout:g}s (waiting for {what}; "
                        f"last: {last}{hint})"
                    )
                time.sleep(min(delay, remaining))
                delay = min(delay * 1.5, 0.25)


def answer_of(client: httpx.Client, url: str) -> tuple[bool, str]:
    """GET `url`: healthy on any status below 400."""
    try:
        response = client.get(url)
    except httpx.HTTPError as exc:
        return False, type(exc).__name__
    return response.status_code < 400, f"HTTP {response.status_code}"
