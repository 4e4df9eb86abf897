"""Targets: start the code under test (or reach it), wait for health, capture logs, tear down.

    with launch(TargetSpec(kind="process", command="{python} -m uvicorn app:app --port {port}",
                           health="/healthz")) as target:
        target.client().get("/")

Kinds: `python`, `asgi` (in-process), `process` (a subprocess on a free loopback port), `url`
(already running, loopback only), and `docker` (`harness.targets.docker`). A new kind plugs
in with `register_kind`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .base import Target
from .kinds import KindInfo, known_kinds
from .ports import free_port, is_loopback_host
from .registry import register_kind, target_class
from .spec import TargetSpec

__all__ = [
    "KindInfo",
    "Target",
    "TargetSpec",
    "create",
    "free_port",
    "is_loopback_host",
    "known_kinds",
    "launch",
    "register_kind",
]


def create(spec: TargetSpec | Mapping[str, Any], *, where: str = "target") -> Target:
    """The (not yet started) Target for `spec`; a dict is validated first."""
    parsed = TargetSpec.parse(spec, where=where)
    return target_class(parsed.kind)(parsed)


def launch(spec: TargetSpec | Mapping[str, Any], *, where: str = "target") -> Target:
    """A Target to use as a context manager: started on enter, always stopped on exit.

    Leaving the `with` block for any reason (an exception, a failed assertion, Ctrl-C) stops
    the target; a target that fails to start is stopped before the TargetError propagates.
    """
    return create(spec, where=where)
