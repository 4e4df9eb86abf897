"""The call a contender makes, as a binding writes it: an HTTP template or a method of the target.

    call = "POST /tickets"            # HTTP, on a process/url target
    json = {"user_id": "{key}"}
    call = "create"                   # in process: a method of the python target's object
    args = ["{key}"]

Strings anywhere in ``json``, ``headers``, ``args`` and the path may use ``{key}`` (fresh per
attempt), ``{attempt}``, ``{worker}``, ``{run}`` and any value a setup step produced. A value that
is exactly ``"{name}"`` keeps its type (an int stays an int).
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from ..bindings import EffectCounter, HttpCall, StatusSet
from ..errors import UserError
from .result import Mode

_PLACEHOLDER = re.compile(r"\{([A-Za-z_]\w*)\}")
_METHOD_NAME = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*")


def render(value: Any, values: Mapping[str, Any]) -> Any:
    """Substitute ``{name}`` placeholders in every string inside ``value``."""
    if isinstance(value, str):
        whole = _PLACEHOLDER.fullmatch(value)
        if whole and whole.group(1) in values:
            return values[whole.group(1)]
        return _PLACEHOLDER.sub(
            lambda m: str(values[m.group(1)]) if m.group(1) in values else m.group(0), value
        )
    if isinstance(value, list | tuple):
        return [render(item, values) for item in value]
    if isinstance(value, dict):
        return {key: render(item, values) for key, item in value.items()}
    return value


def http_or_method(value: Any) -> Any:
    """``"POST /path"`` text becomes an `HttpCall`; a bare method name stays as it is."""
    if isinstance(value, str) and not _METHOD_NAME.fullmatch(value.strip()):
        return HttpCall.model_validate(value)
    return value


#: A binding's ``call`` field: ``"POST /path"`` text becomes an `HttpCall`; a bare method name
#: (of the python target's object) stays a string.
HttpOrMethod = Annotated[HttpCall | str, BeforeValidator(http_or_method)]


class Call(BaseModel):
    """One operation: ``"POST /path/{key}"`` (HTTP) or ``"method"`` (the python target's object)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    call: HttpOrMethod
    json_body: Any = Field(default=None, alias="json")
    headers: dict[str, str] = Field(default_factory=dict)
    args: list[Any] = Field(default_factory=list)
    kwargs: dict[str, Any] = Field(default_factory=dict)

    @property
    def is_http(self) -> bool:
        return isinstance(self.call, HttpCall)

    def __str__(self) -> str:
        return str(self.call)


class ObjectEffect(BaseModel):
    """Count effects on the python target's object: ``{"attr": "pending_count", "args": [...]}``.

    A callable attribute is called with the rendered args; a container is measured with len().
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    attr: str
    args: list[Any] = Field(default_factory=list)


#: What a binding's ``effect`` may be: the shared EffectCounter (HTTP GET, SQL, import string)
#: or an attribute of the in-process object.
Effect = ObjectEffect | EffectCounter


ModeName = Literal["auto", "last-byte", "gather", "preempt", "pct", "barrier", "pool", "async"]


class ContentionBinding(Call):
    """The fields every contention check shares; a pack's binding subclasses it.

    The call's own fields are what each of ``workers`` contenders does at once. ``setup``
    (optional) runs once per attempt before the race; the field ``setup_field`` of its answer
    becomes ``{resource}``.
    """

    setup: Call | None = None
    setup_field: str | None = None
    success: StatusSet = frozenset({200, 201, 202})
    conflict: StatusSet = frozenset({409})
    #: In process: exception class names that count as a refusal (``TicketLimitExceededError``).
    conflict_errors: list[str] = Field(default_factory=list)
    #: In process: a ``False`` return counts as a refusal (``register_if_absent`` style).
    false_is_conflict: bool = True
    effect: Effect | None = None
    workers: int = Field(default=8, ge=2, le=256)
    mode: ModeName = "auto"
    #: Seconds of attempts before a check reports that the invariant held.
    budget: float = Field(default=2.0, gt=0, le=600)
    max_attempts: int = Field(default=400, ge=1)
    seed: int | None = None
    #: In process: modules or files to preempt in (default: the object's own module).
    preempt: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _consistent(self) -> ContentionBinding:
        overlap = self.success & self.conflict
        if overlap:
            raise ValueError(
                f"success and conflict share {sorted(overlap)}: a status cannot mean both"
            )
        if self.setup is not None and self.setup_field is None and self.setup.is_http:
            raise ValueError("setup_field is required with an HTTP setup (the answer's JSON key)")
        return self

    def contender(self) -> Call:
        """The call alone, without the race's settings."""
        return Call.model_validate(self.model_dump(include=set(Call.model_fields), by_alias=True))


def resolve_mode(binding: ContentionBinding, subject: Any) -> Mode:
    """The mode a binding races in: its own, else last-byte for HTTP, async for a coroutine
    method and preempted threads for any other."""
    if binding.mode != "auto":
        mode = Mode(binding.mode)
    elif binding.is_http:
        mode = Mode.LAST_BYTE
    elif inspect.iscoroutinefunction(getattr(subject, str(binding.call), None)):
        mode = Mode.ASYNC
    else:
        mode = Mode.PREEMPT
    http_modes = (Mode.LAST_BYTE, Mode.GATHER)
    if binding.is_http != (mode in http_modes):
        kind = "an HTTP call" if binding.is_http else "an in-process call"
        raise UserError(
            f"binding.mode={binding.mode!r}: does not fit {kind} {str(binding.call)!r} "
            f"(HTTP: last-byte|gather; in process: preempt|pct|barrier|pool|async)",
            where="binding.mode",
        )
    return mode
