"""`TargetSpec`: how to start (or reach) the code under test, validated field by field."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from ..errors import UserError
from ..validation import user_error
from .kinds import kind_info, known_kinds
from .ports import is_loopback_host

#: Placeholders a process command (and its env values) may use.
PLACEHOLDERS = ("port", "python", "host")
_PLACEHOLDER_RE = re.compile(r"\{(" + "|".join(PLACEHOLDERS) + r")\}")


class TargetSpec(BaseModel):
    """One target. Which fields apply depends on `kind`; a field another kind uses is an error.

    - `python`: `factory` (``"pkg.mod:callable"`` or a callable; a generator function is run
      up to its `yield`, and finished on teardown), `kwargs` passed to it.
    - `asgi`: `app` (``"pkg.mod:app"`` or the app object) or `factory` returning the app;
      `lifespan` ``auto`` | ``on`` | ``off``; `health` checked once after startup.
    - both in-process kinds: `cwd` (the project's folder) goes first on sys.path until stop.
    - `process`: `command` (a template with ``{port}``, ``{python}``, ``{host}``), `cwd`, `env`,
      `python`, `health`, `startup_timeout`, `stop_timeout`, `port`, `port_retries`, `log_file`.
    - `url`: `url` (loopback only), `health`, `startup_timeout`.
    - `docker` (and any kind registered later): the fields its registration lists;
      `image`, `container_port`, `mounts` and `options` exist for it.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: str
    #: A label for messages, e.g. the manifest's `[targets.<name>]`.
    name: str | None = None

    # python / asgi
    factory: str | Callable[..., Any] | None = None
    app: str | Callable[..., Any] | None = None
    kwargs: dict[str, Any] = Field(default_factory=dict)
    lifespan: str = "auto"

    # process (and docker)
    command: str | list[str] | None = None
    cwd: Path | None = None
    env: dict[str, str] = Field(default_factory=dict)
    inherit_env: bool = True
    python: str | None = None
    port: int | None = Field(default=None, ge=1, le=65535)
    port_retries: int = Field(default=3, ge=0, le=20)
    log_file: Path | None = None
    stop_timeout: float = Field(default=5.0, ge=0, le=300)

    # process / url / docker
    health: str | None = None
    startup_timeout: float = Field(default=20.0, gt=0, le=3600)

    # url
    url: str | None = None

    # docker (implemented in harness/targets/docker.py)
    image: str | None = None
    container_port: int | None = Field(default=None, ge=1, le=65535)
    mounts: dict[str, str] = Field(default_factory=dict)
    options: dict[str, Any] = Field(default_factory=dict)

    def __init__(self, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as exc:
            raise user_error(exc, prefix="", model=TargetSpec) from None

    @classmethod
    def parse(cls, data: Mapping[str, Any] | TargetSpec, *, where: str = "target") -> TargetSpec:
        """Validate a manifest table; errors are UserErrors naming `<where>.<field>`."""
        if isinstance(data, TargetSpec):
            return data
        try:
            return cls.model_validate(dict(data))
        except ValidationError as exc:
            raise user_error(exc, prefix=where, model=cls) from None
        except UserError as exc:
            exc.where = f"{where}.{exc.where}" if exc.where else where
            if exc.message[:1].isalpha():
                exc.message = f"{where}.{exc.message}"
                exc.args = (exc.message, *exc.args[1:])
            raise

    @property
    def label(self) -> str:
        """How messages refer to this target: its name, or its kind."""
        return self.name or self.kind

    # --- field checks -------------------------------------------------------------------

    @model_validator(mode="before")
    @classmethod
    def _unknown_keys(cls, data: Any) -> Any:
        # Name the fields of *this* kind, not every field of every kind.
        if isinstance(data, Mapping) and isinstance(data.get("kind"), str):
            info = kind_info(data["kind"])
            for key in data:
                if info is not None and key not in cls.model_fields:
                    fields = ", ".join(sorted(info.allowed | {"kind", "name"}))
                    raise UserError(
                        f"{key}={data[key]!r}: unknown field (fields for {data['kind']}: {fields})",
                        where=str(key),
                    )
        return data

    @field_validator("kind")
    @classmethod
    def _kind_is_known(cls, value: str) -> str:
        if kind_info(value) is None:
            raise ValueError(f"unknown target kind (use one of: {', '.join(known_kinds())})")
        return value

    @field_validator("lifespan")
    @classmethod
    def _lifespan_mode(cls, value: str) -> str:
        if value not in {"auto", "on", "off"}:
            raise ValueError("must be 'auto', 'on' or 'off'")
        return value

    @field_validator("health")
    @classmethod
    def _health_is_a_path(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith("/"):
            raise ValueError("must be a path on the target, such as '/healthz'")
        return value

    @field_validator("factory", "app")
    @classmethod
    def _import_string(cls, value: object) -> object:
        if isinstance(value, str) and not re.fullmatch(r"[\w.]+:[\w.]+", value):
            raise ValueError("must be an import string 'pkg.module:attribute'")
        return value

    @field_validator("command")
    @classmethod
    def _command_not_empty(cls, value: str | list[str] | None) -> str | list[str] | None:
        if value is not None and not (value.strip() if isinstance(value, str) else value):
            raise ValueError("must not be empty (e.g. '{python} -m uvicorn app:app --port {port}')")
        return value

    @field_validator("url")
    @classmethod
    def _url_is_loopback(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = urlsplit(value)
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            raise ValueError("must be an http(s) URL such as 'http://127.0.0.1:8000'")
        if not is_loopback_host(parts.hostname):
            raise ValueError(
                "is not a loopback host; Fixguard only sends traffic to loopback "
                "(use 127.0.0.1, ::1 or localhost)"
            )
        return value.rstrip("/")

    @model_validator(mode="after")
    def _fields_fit_kind(self) -> TargetSpec:
        # Raised as UserError (pydantic lets it through) so that `where` names the field.
        info = kind_info(self.kind)
        assert info is not None  # checked by _kind_is_known
        for field in sorted(self.model_fields_set - info.allowed - {"kind", "name"}):
            raise UserError(
                f"{field}={getattr(self, field)!r}: not used by kind={self.kind!r} "
                f"(fields for {self.kind}: {', '.join(sorted(info.allowed))})",
                where=field,
            )
        for group in info.required:
            if not any(getattr(self, f) is not None for f in group):
                raise UserError(
                    f"{group[0]}: missing; kind={self.kind!r} needs {' or '.join(group)}",
                    where=group[0],
                )
        if self.kind == "asgi" and self.app is not None and self.factory is not None:
            raise UserError(
                f"factory={self.factory!r}: kind='asgi' takes app or factory, not both",
                where="factory",
            )
        if self.kind == "process" and self.port is None and self.command is not None:
            texts = [*_words(self.command), *self.env.values()]
            if not any("{port}" in t for t in texts):
                raise UserError(
                    f"command={self.command!r}: never mentions {{port}}, so the server cannot "
                    "listen on the port the harness picked (add '--port {port}', or set port=)",
                    where="command",
                )
        return self


def _words(command: str | list[str]) -> list[str]:
    return [command] if isinstance(command, str) else list(command)


def render(text: str, *, port: int, python: str, host: str) -> str:
    """Replace ``{port}``, ``{python}`` and ``{host}``; any other braces are left alone."""
    values = {"port": str(port), "python": python, "host": host}
    return _PLACEHOLDER_RE.sub(lambda m: values[m.group(1)], text)
