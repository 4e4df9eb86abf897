"""Registering target kinds and resolving a kind to its launcher class.

`kinds` holds the table and imports nothing of this package; this module checks what goes into
it against `Target` and `TargetSpec`, so the spec can read the table without an import cycle.
"""

from __future__ import annotations

from collections.abc import Iterable

from ..errors import UserError
from ..imports import import_module, split_ref, walk
from .base import Target
from .kinds import KindInfo, add_kind, kind_info, known_kinds
from .spec import TargetSpec


def register_kind(
    name: str,
    target: str | type[Target],
    *,
    allowed: Iterable[str],
    required: Iterable[Iterable[str]] = (),
) -> KindInfo:
    """Add (or replace) a kind. `allowed` must be fields that `TargetSpec` declares."""
    allowed_set = frozenset(allowed)
    unknown = allowed_set - set(TargetSpec.model_fields)
    if unknown:
        raise TypeError(f"register_kind({name!r}): TargetSpec has no fields {sorted(unknown)}")
    info = KindInfo(name, target, allowed_set, tuple(tuple(g) for g in required))
    add_kind(info)
    return info


def target_class(name: str) -> type[Target]:
    """The launcher class of kind `name`, importing it on first use."""
    info = kind_info(name)
    if info is None:
        raise UserError(
            f"kind={name!r}: unknown target kind (use one of: {', '.join(known_kinds())})",
            where="kind",
        )
    ref = info.target
    if not isinstance(ref, str):
        found: object = ref
    else:
        module, names = split_ref(ref, field="kind")
        try:
            loaded = import_module(module, ref=ref, field="kind")
        except UserError as exc:
            raise UserError(
                f"kind={name!r}: its launcher {ref!r} cannot be imported: {exc.__cause__}",
                where="kind",
                hint="install the matching extra, e.g. pip install 'fixguard[docker]'",
            ) from exc.__cause__
        found = walk(loaded, names, ref=ref, field="kind")
    if not (isinstance(found, type) and issubclass(found, Target)):
        raise UserError(
            f"kind={name!r}: its launcher {found!r} is not a Target class", where="kind"
        )
    cls: type[Target] = found
    if isinstance(ref, str):  # remember the class, so the next launch imports nothing
        add_kind(KindInfo(name, cls, info.allowed, info.required))
    return cls
