"""The scenario registry: packs register checks by name; the pipeline resolves and runs them.

    from harness.scenario import scenario

    @scenario("races.capacity_limit", binding=CapacityLimitBinding)
    def capacity_limit(binding: CapacityLimitBinding, target: Target) -> None:
        ...  # raises AssertionError when the bug is there

A pack registers its scenarios when `scenarios.<pack>` is imported; `resolve()` imports it by
name (the harness never imports `scenarios` statically).
"""

from __future__ import annotations

import importlib
import pkgutil
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel

from .errors import UserError
from .validation import validate_model

if TYPE_CHECKING:
    from .targets.base import Target

B = TypeVar("B", bound=BaseModel)
Check = Callable[[Any, "Target"], None]
F = TypeVar("F", bound=Callable[..., None])

#: The package that holds the packs, one sub-package per bug class.
PACKS_PACKAGE = "scenarios"


@dataclass(frozen=True)
class Scenario:
    """One registered check: its name (``<pack>.<check>``), binding model and function."""

    name: str
    binding: type[BaseModel]
    check: Check
    summary: str

    @property
    def pack(self) -> str:
        return self.name.split(".", 1)[0]

    def bind(self, data: Mapping[str, Any] | BaseModel, *, where: str = "binding") -> BaseModel:
        """Validate `data` against the binding model; a bad field is a UserError at `where.x`."""
        if isinstance(data, self.binding):
            return data
        if isinstance(data, BaseModel):
            data = data.model_dump()
        return validate_model(self.binding, dict(data), prefix=where)


_lock = threading.RLock()
_REGISTRY: dict[str, Scenario] = {}


def _check_name(name: str) -> None:
    parts = name.split(".")
    if len(parts) != 2 or not all(p.isidentifier() for p in parts):
        raise TypeError(
            f"scenario name {name!r} must be '<pack>.<check>', e.g. 'races.lost_update'"
        )


def scenario(name: str, *, binding: type[B]) -> Callable[[F], F]:
    """Register the decorated function as scenario `name`, bound by the pydantic model `binding`.

    The model must forbid extra fields (``model_config = ConfigDict(extra="forbid")``) so that a
    misspelt binding key is an error, not a silently ignored setting.
    """
    _check_name(name)
    if not (isinstance(binding, type) and issubclass(binding, BaseModel)):
        raise TypeError(f"@scenario({name!r}): binding={binding!r} must be a pydantic model class")
    if binding.model_config.get("extra") != "forbid":
        raise TypeError(
            f"@scenario({name!r}): binding={binding.__name__} must set "
            "model_config = ConfigDict(extra='forbid')"
        )

    def register(func: F) -> F:
        doc = (func.__doc__ or "").strip()
        entry = Scenario(name, binding, func, doc.splitlines()[0] if doc else "")
        with _lock:
            old = _REGISTRY.get(name)
            if old is not None and _qualname(old.check) != _qualname(func):
                raise TypeError(
                    f"scenario {name!r} is registered twice: by {_qualname(old.check)} "
                    f"and by {_qualname(func)}"
                )
            _REGISTRY[name] = entry  # re-importing the same module replaces it
        return func

    return register


def _qualname(func: Callable[..., Any]) -> str:
    return f"{getattr(func, '__module__', '?')}.{getattr(func, '__qualname__', repr(func))}"


def _import_pack(pack: str) -> bool:
    """Import `scenarios.<pack>`; False when no such pack exists (its own errors propagate)."""
    module = f"{PACKS_PACKAGE}.{pack}"
    try:
        importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name in (PACKS_PACKAGE, module):
            return False
        raise
    return True


def known() -> list[str]:
    """Every scenario name, after importing every pack that imports cleanly."""
    try:
        package = importlib.import_module(PACKS_PACKAGE)
    except ModuleNotFoundError:
        package = None
    if package is not None:
        for info in pkgutil.iter_modules(getattr(package, "__path__", [])):
            if info.ispkg:
                try:
                    _import_pack(info.name)
                except Exception:  # a broken pack must not hide the others from the list
                    continue
    with _lock:
        return sorted(_REGISTRY)


def resolve(name: str, *, where: str = "scenario") -> Scenario:
    """The scenario called `name`, importing its pack; an unknown name is a UserError."""
    with _lock:
        found = _REGISTRY.get(name)
    if found is not None:
        return found
    pack = name.split(".", 1)[0]
    if pack.isidentifier():
        _import_pack(pack)
        with _lock:
            found = _REGISTRY.get(name)
        if found is not None:
            return found
    names = known()
    listing = ", ".join(names) if names else "none are installed"
    raise UserError(
        f"{where}={name!r}: unknown scenario (known: {listing})",
        where=where,
        hint="a scenario name is '<pack>.<check>', from a folder under scenarios/",
    )


def run(name: str, binding: Mapping[str, Any] | BaseModel, target: Target) -> None:
    """Resolve `name`, validate `binding`, and run the check against `target`.

    Raises UserError for an unknown name or a bad binding (naming `binding.<field>`), and
    whatever the check raises (an AssertionError when the bug is present).
    """
    __tracebackhide__ = True  # a failure points at the check, not at the registry
    entry = resolve(name)
    bound = entry.bind(binding)
    entry.check(bound, target)


def registered() -> dict[str, Scenario]:
    """A snapshot of the registry, without importing anything."""
    with _lock:
        return dict(_REGISTRY)
