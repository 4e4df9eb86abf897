"""The `Target` base class every launcher implements: start, reach, observe, always stop."""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from typing import Any, ClassVar, Self

import httpx

from ..errors import TargetError
from .spec import TargetSpec

#: Client timeout for network targets; scenarios that need another pass their own.
DEFAULT_CLIENT_TIMEOUT = httpx.Timeout(30.0, connect=5.0)


class Target(ABC):
    """A started (or startable) system under test.

    Subclasses implement `_start`, `_stop` and `base_url`, and override `client`/`async_client`
    when the target is not reached over the network. `stop()` is idempotent and never raises
    for a target that is already gone, so it is safe in every `finally`.
    """

    kind: ClassVar[str] = ""

    def __init__(self, spec: TargetSpec) -> None:
        self.spec = spec
        self._state_lock = threading.Lock()
        self._started = False
        self._stopped = False

    # --- what scenarios read -------------------------------------------------------------

    @property
    @abstractmethod
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT`` for network targets, ``http://testserver`` in-process."""

    @property
    def pid(self) -> int | None:
        """The server's pid, for counting its fds, threads and sockets; None in-process."""
        return None

    @property
    def obj(self) -> Any:
        """The in-process object (python kind: what the factory returned); None otherwise."""
        return None

    @property
    def running(self) -> bool:
        return self._started and not self._stopped

    def client(self, **kwargs: Any) -> httpx.Client:
        """A new httpx.Client bound to the target; the caller closes it."""
        kwargs.setdefault("timeout", DEFAULT_CLIENT_TIMEOUT)
        kwargs.setdefault("trust_env", False)  # loopback only: never through a proxy
        return httpx.Client(base_url=self.base_url, **kwargs)

    def async_client(self, **kwargs: Any) -> httpx.AsyncClient:
        """A new httpx.AsyncClient bound to the target; the caller closes it."""
        kwargs.setdefault("timeout", DEFAULT_CLIENT_TIMEOUT)
        kwargs.setdefault("trust_env", False)
        return httpx.AsyncClient(base_url=self.base_url, **kwargs)

    def logs(self) -> str:
        """What the target wrote to stdout and stderr so far ('' when nothing is captured)."""
        return ""

    # --- lifecycle -----------------------------------------------------------------------

    def start(self) -> Self:
        """Start the target and wait until it is healthy; raises TargetError otherwise."""
        with self._state_lock:
            if self._started:
                raise TargetError(f"target {self.spec.label!r} was already started")
            self._started = True
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Tear the target down. Idempotent; safe to call after a failed start."""
        with self._state_lock:
            if self._stopped or not self._started:
                self._stopped = True
                return
            self._stopped = True
        self._stop()

    @abstractmethod
    def _start(self) -> None: ...

    @abstractmethod
    def _stop(self) -> None: ...

    def __enter__(self) -> Self:
        if not self._started:
            self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "running" if self.running else ("stopped" if self._stopped else "new")
        return f"<{type(self).__name__} {self.spec.label!r} {state}>"
