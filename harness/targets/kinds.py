"""The registry of target kinds: which `Target` class launches each, and which spec fields it reads.

Classes are named by import string and imported on first launch, so that an optional kind
(`docker` needs the Docker SDK) costs nothing until it is used. A new kind registers itself with
`register_kind`; the built-in table below already names `harness.targets.docker:DockerTarget`.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..errors import UserError

if TYPE_CHECKING:
    from .base import Target

_COMMON = frozenset({"health", "startup_timeout"})


@dataclass(frozen=True)
class KindInfo:
    """One kind: its launcher class and the `TargetSpec` fields it uses."""

    name: str
    #: A `Target` subclass taking `(spec)`, or its import string ``"pkg.mod:Class"``.
    target: str | type[Target]
    #: The spec fields this kind reads; setting any other field is a UserError.
    allowed: frozenset[str]
    #: Groups of fields of which at least one must be set, e.g. (("app", "factory"),).
    required: tuple[tuple[str, ...], ...] = ()


_lock = threading.Lock()
_KINDS: dict[str, KindInfo] = {}


def register_kind(
    name: str,
    target: str | type[Target],
    *,
    allowed: Iterable[str],
    required: Iterable[Iterable[str]] = (),
) -> KindInfo:
    """Add (or replace) a kind. `allowed` must be fields that `TargetSpec` declares."""
    from .spec import TargetSpec  # the spec module imports this one

    allowed_set = frozenset(allowed)
    unknown = allowed_set - set(TargetSpec.model_fields)
    if unknown:
        raise TypeError(f"register_kind({name!r}): TargetSpec has no fields {sorted(unknown)}")
    info = KindInfo(name, target, allowed_set, tuple(tuple(g) for g in required))
    with _lock:
        _KINDS[name] = info
    return info


def kind_info(name: str) -> KindInfo | None:
    return _KINDS.get(name)


def known_kinds() -> list[str]:
    return sorted(_KINDS)


def target_class(name: str) -> type[Target]:
    """The launcher class of kind `name`, importing it on first use."""
    info = _KINDS.get(name)
    if info is None:
        raise UserError(
            f"kind={name!r}: unknown target kind (use one of: {', '.join(known_kinds())})",
            where="kind",
        )
    if not isinstance(info.target, str):
        return info.target
    module_name, _, attr = info.target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise UserError(
            f"kind={name!r}: its launcher {info.target!r} cannot be imported: {exc}",
            where="kind",
            hint="install the matching extra, e.g. pip install 'fixguard[docker]'",
        ) from exc
    cls: type[Target] = getattr(module, attr)
    with _lock:
        _KINDS[name] = KindInfo(name, cls, info.allowed, info.required)
    return cls


def _builtin(name: str, target: str, allowed: set[str], *required: tuple[str, ...]) -> None:
    _KINDS[name] = KindInfo(name, target, frozenset(allowed), tuple(required))


_PROCESS_FIELDS = {
    "command", "cwd", "env", "inherit_env", "python", "port", "port_retries", "log_file",
    "stop_timeout",
}  # fmt: skip
_builtin(
    "python", "harness.targets.inprocess:PythonTarget", {"factory", "kwargs", "cwd"}, ("factory",)
)
_builtin(
    "asgi",
    "harness.targets.inprocess:AsgiTarget",
    {"app", "factory", "kwargs", "lifespan", "cwd"} | _COMMON,
    ("app", "factory"),
)
_builtin(
    "process", "harness.targets.process:ProcessTarget", _PROCESS_FIELDS | _COMMON, ("command",)
)
_builtin("url", "harness.targets.url:UrlTarget", {"url"} | _COMMON, ("url",))
_builtin(
    "docker",
    "harness.targets.docker:DockerTarget",
    {"image", "container_port", "mounts", "options", "command", "cwd", "env", "port",
     "log_file", "stop_timeout"} | _COMMON,
    ("image",),
)  # fmt: skip
