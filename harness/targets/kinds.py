"""The table of target kinds: which `Target` class launches each, and which spec fields it reads.

Classes are named by import string and imported on first launch (`registry.target_class`), so
that an optional kind (`docker` needs the Docker SDK) costs nothing until it is used. A new kind
registers itself with `registry.register_kind`; the built-in table below already names
`harness.targets.docker:DockerTarget`.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

_COMMON = frozenset({"health", "startup_timeout"})


@dataclass(frozen=True)
class KindInfo:
    """One kind: its launcher class and the `TargetSpec` fields it uses."""

    name: str
    #: A `Target` subclass taking `(spec)`, or its import string ``"pkg.mod:Class"``. This
    #: table is a leaf of the package (it imports nothing of it): the registry module checks
    #: the class and the fields, against `Target` and `TargetSpec`.
    target: str | type[Any]
    #: The spec fields this kind reads; setting any other field is a UserError.
    allowed: frozenset[str]
    #: Groups of fields of which at least one must be set, e.g. (("app", "factory"),).
    required: tuple[tuple[str, ...], ...] = ()


_lock = threading.Lock()
_KINDS: dict[str, KindInfo] = {}


def add_kind(info: KindInfo) -> None:
    """Add (or replace) a kind; `harness.targets.registry.register_kind` checks it first."""
    with _lock:
        _KINDS[info.name] = info


def kind_info(name: str) -> KindInfo | None:
    return _KINDS.get(name)


def known_kinds() -> list[str]:
    return sorted(_KINDS)


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
