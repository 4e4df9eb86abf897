"""Reaching the code under test on a `python` target: attributes of `target.obj`, exception names."""

from __future__ import annotations

from typing import Any

from harness.pack import Target, UserError


def attribute(target: Target, name: str, *, field: str) -> Any:
    """``target.obj.<name>`` (dotted), a UserError naming `binding.<field>` when absent.

    Bind a module with ``factory = "importlib:import_module"`` and ``kwargs = {name = "pkg.mod"}``.
    """
    obj = target.obj
    if obj is None:
        raise UserError(
            f"binding.{field}={name!r}: the target has no object (kind={target.spec.kind!r})",
            where=f"binding.{field}",
            hint="use a python target, e.g. factory='importlib:import_module', "
            "kwargs={name='pkg.module'}",
        )
    found: Any = obj
    for part in name.split("."):
        try:
            found = getattr(found, part)
        except AttributeError:
            raise UserError(
                f"binding.{field}={name!r}: {obj!r} has no attribute {part!r}",
                where=f"binding.{field}",
            ) from None
    return found


def is_one_of(exc: BaseException, names: tuple[str, ...]) -> bool:
    """True when `exc` is an instance of a class called one of `names` (anywhere in its MRO)."""
    return any(cls.__name__ in names for cls in type(exc).__mro__)
