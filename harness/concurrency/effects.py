"""Counting a contention check's effects: an attribute of the object under test, or the
binding's shared effect counter (`harness.bindings.EffectCounter`: HTTP, SQL or a callable)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..bindings import EffectCounter, as_count
from ..errors import UserError
from .calls import ObjectEffect, render

if TYPE_CHECKING:
    from ..targets.base import Target


def count_effect(effect: Any, target: Target, subject: Any, values: dict[str, Any]) -> int:
    """Count effects the way the binding says, with this attempt's ``{key}`` and friends."""
    if isinstance(effect, ObjectEffect):
        owner = subject if subject is not None else target.obj
        if owner is None or not hasattr(owner, effect.attr.split(".")[0]):
            raise UserError(
                f"binding.effect.attr={effect.attr!r}: the target has no such attribute",
                where="binding.effect.attr",
            )
        found: Any = owner
        for part in effect.attr.split("."):
            found = getattr(found, part)
        if callable(found):
            found = found(*render(effect.args, values))
        return as_count(len(found) if not isinstance(found, int) else found, effect.attr)
    assert isinstance(effect, EffectCounter)
    return effect.count(target, values)
