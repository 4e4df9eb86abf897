"""What the resilience checks share: the request, the stub upstream's address, log reading."""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import httpx
from pydantic import BaseModel, ConfigDict, Field, field_validator

from harness.pack import HttpCall, StubUpstream, curl, is_loopback_host

#: uvicorn/gunicorn access-log lines ("GET /x HTTP/1.1" 502): a status there is not a log
#: of the error, it is the answer.
ACCESS_LINE = re.compile(r'"[A-Z]+ \S+ HTTP/\d(?:\.\d)?" \d{3}')
#: Default: what an error log line says (lastResort prints only the message, no level name).
ERROR_WORDS = (
    r"(?i)\b(error|errors|exception|traceback|fail\w*|reject\w*|refused|denied|"
    r"unavailable|timed? ?out|upstream)\b|\b5\d\d\b"
)


class UpstreamRequest(BaseModel):
    """The target's ``call``, and the loopback ``upstream`` URL the target is configured with
    (the check starts its stub there for the duration of the call)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    call: HttpCall
    values: dict[str, str] = Field(default_factory=dict)
    json_body: Any = Field(default=None, alias="json")
    headers: dict[str, str] = Field(default_factory=dict)
    upstream: str

    @field_validator("upstream")
    @classmethod
    def _loopback_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme != "http" or not parts.hostname or not parts.port:
            raise ValueError("must be 'http://127.0.0.1:PORT', the address the target calls")
        if not is_loopback_host(parts.hostname):
            raise ValueError("must be a loopback address; stubs never listen elsewhere")
        return value

    @property
    def upstream_port(self) -> int:
        port = urlsplit(self.upstream).port
        assert port is not None
        return port

    @property
    def upstream_host(self) -> str:
        host = urlsplit(self.upstream).hostname
        assert host is not None
        return "127.0.0.1" if host == "localhost" else host

    def stub(
        self, *, hang: bool = False, status: int = 200, statuses: Mapping[str, int] | None = None
    ) -> StubUpstream:
        """The stub upstream at ``upstream`` (start it with ``with``), answering as told."""
        return StubUpstream(
            hang=hang,
            status=status,
            statuses=statuses,
            host=self.upstream_host,
            port=self.upstream_port,
        )

    def kwargs(self) -> dict[str, Any]:
        out: dict[str, Any] = {"headers": self.headers}
        if self.json_body is not None:
            out["json"] = self.json_body
        return out


def error_lines(log: str, pattern: str) -> list[str]:
    """Lines of `log` that match `pattern`, access-log lines excluded."""
    regex = re.compile(pattern)
    return [
        line for line in log.splitlines() if regex.search(line) and not ACCESS_LINE.search(line)
    ]


def curl_of(response: httpx.Response) -> str:
    """The request behind `response` as a curl command (against the stub upstream's port)."""
    return curl(response.request)


def send_watched(
    binding: UpstreamRequest, client: httpx.Client, wait: float, name: str
) -> tuple[bool, dict[str, Any]]:
    """Send the binding's call from thread `name` and wait for it up to `wait` seconds.

    The thread keeps the time bound: an in-process (asgi) transport ignores httpx timeouts, and
    a hung call must fail the check, not hang it. Returns whether the call is still running,
    and what it ended with: a "response", or the "error" it raised.
    """
    outcome: dict[str, Any] = {}

    def send() -> None:
        try:
            outcome["response"] = binding.call.send(client, binding.values, **binding.kwargs())
        except BaseException as exc:  # handed to the checking thread
            outcome["error"] = exc

    caller = threading.Thread(target=send, name=name, daemon=True)
    caller.start()
    caller.join(wait)
    return caller.is_alive(), outcome
