"""What checks of several packs share: helpers built only on `harness.pack`."""

from __future__ import annotations

import builtins
import logging
from pathlib import Path
from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

from harness.pack import (
    HttpCall,
    HttpOrMethod,
    HttpRequest,
    Target,
    UserError,
    curl_command,
    import_object,
)


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


def exception_class(
    ref: str, *, field: str, problem: str, hint: str, dotted: bool = False
) -> type[BaseException]:
    """The exception class `ref` names: a builtin (``OSError``) or ``pkg.mod:Name``, and with
    `dotted` also ``pkg.mod.Name``; anything else is a UserError at `field` saying `problem`."""
    found: Any
    if ":" in ref:
        found = import_object(ref, field=field)
    elif dotted and "." in ref:
        module, _, name = ref.rpartition(".")
        found = import_object(f"{module}:{name}", field=field)
    else:
        found = getattr(builtins, ref, None)
    if not (isinstance(found, type) and issubclass(found, BaseException)):
        raise UserError(f"{field}={ref!r}: {problem}", where=field, hint=hint)
    return found


def root_folder(root: Path | str | None, target: Target, missing: str) -> Path:
    """The binding's ``root``, else the target's working folder; a UserError naming what is
    `missing` when there is neither."""
    found = root or target.spec.cwd
    if found is None:
        raise UserError(
            f"binding.root: no {missing}",
            where="binding.root",
            hint="set root, or cwd on the target",
        )
    return Path(found)


#: What `ContendedCall.race_fields` passes on, by field name.
_RACE_FIELDS = ("call", "workers", "mode", "budget", "max_attempts", "seed")


class ContendedCall(BaseModel):
    """A binding whose one call (HTTP, or a method of the python target's object) is also
    raced: the call, and how hard and how long to race it."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    call: HttpOrMethod
    headers: dict[str, str] = Field(default_factory=dict)
    json_body: Any = Field(default=None, alias="json")
    workers: int = Field(default=8, ge=2, le=256)
    mode: Literal["auto", "last-byte", "gather", "preempt", "barrier", "pool"] = "auto"
    budget: float = Field(default=2.0, gt=0, le=600)
    max_attempts: int = Field(default=100, ge=1)
    seed: int | None = None

    @property
    def is_http(self) -> bool:
        return isinstance(self.call, HttpCall)

    def race_fields(self) -> dict[str, Any]:
        """The contention binding's fields for the call and how to race it."""
        return {name: getattr(self, name) for name in _RACE_FIELDS}

    def check_method(self, subject: Any) -> None:
        """A UserError unless the python target's object has the method ``call`` names."""
        if not callable(getattr(subject, str(self.call), None)):
            raise UserError(
                f"binding.call={self.call!r}: {type(subject).__name__} has no such method",
                where="binding.call",
            )
