"""What checks of several packs share: helpers built only on `harness.pack`."""

from __future__ import annotations

import logging
from typing import Any, Protocol

from harness.pack import HttpCall, HttpRequest, Target, curl_command


class SendsOneCall(Protocol):
    """A binding that names one HTTP call with its path values, headers and JSON body."""

    @property
    def call(self) -> HttpCall: ...

    @property
    def values(self) -> dict[str, str]: ...

    @property
    def headers(self) -> dict[str, str]: ...

    @property
    def json_body(self) -> Any: ...


def call_repro(target: Target, binding: SendsOneCall) -> str:
    """The curl command that sends the binding's call to the target again."""
    return curl_command(
        target.base_url,
        HttpRequest(
            binding.call.method,
            binding.call.render(binding.values),
            headers=binding.headers,
            json=binding.json_body,
        ),
    )


class RecordCapture(logging.Handler):
    """Keeps every log record at `level` or above, for a check to read what was logged."""

    def __init__(self, level: int) -> None:
        super().__init__(level)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)
