"""Import strings: ``"pkg.mod:attr.sub"`` to the object it names.

Manifests name factories, launchers, effect counters, fault targets and exception classes this
way. One resolver means one spelling rule and one set of error messages: every failure is a
UserError that names the manifest field and the part that is missing.
"""

from __future__ import annotations

import importlib
import inspect
from typing import Any

from .errors import UserError

_FORM = "write 'pkg.module:attr' (or 'pkg.module:Class.attr')"


def split_ref(ref: str, *, field: str) -> tuple[str, list[str]]:
    """``"pkg.mod:a.b"`` -> ``("pkg.mod", ["a", "b"])``; a UserError when it is not that shape."""
    module, sep, path = ref.partition(":")
    names = path.split(".") if path else []
    if not sep or not module.strip() or not names or not all(n.isidentifier() for n in names):
        raise UserError(f"{field}={ref!r}: {_FORM}", where=field)
    return module, names


def import_module(module: str, *, ref: str, field: str) -> Any:
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise UserError(
            f"{field}={ref!r}: module {module!r} cannot be imported ({exc})",
            where=field,
            hint="check the spelling, and that the project is on sys.path",
        ) from exc


def import_extra(module: str, *, needed_by: str, extra: str, field: str) -> Any:
    """An optional dependency: a UserError that names the extra which installs it."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise UserError(
            f"{needed_by} needs {module}", where=field, hint=f"pip install 'fixguard[{extra}]'"
        ) from None


def walk(obj: Any, names: list[str], *, ref: str, field: str) -> Any:
    """Follow attribute `names` from `obj`; a UserError names the first one that is missing."""
    for name in names:
        try:
            obj = getattr(obj, name)
        except AttributeError:
            raise UserError(
                f"{field}={ref!r}: {_shown(obj)} has no attribute {name!r}", where=field
            ) from None
    return obj


def import_object(ref: str, *, field: str) -> Any:
    """The object `ref` names, imported on first use."""
    module, names = split_ref(ref, field=field)
    return walk(import_module(module, ref=ref, field=field), names, ref=ref, field=field)


def import_owner(ref: str, *, field: str) -> tuple[Any, str, Any]:
    """(owner, attribute name, the attribute as stored) for patching what `ref` names.

    The stored value is read with `inspect.getattr_static`, so a staticmethod or classmethod
    comes back as the descriptor and can be put back exactly as it was.
    """
    module, names = split_ref(ref, field=field)
    owner = walk(import_module(module, ref=ref, field=field), names[:-1], ref=ref, field=field)
    walk(owner, names[-1:], ref=ref, field=field)
    return owner, names[-1], inspect.getattr_static(owner, names[-1])


def _shown(obj: Any) -> str:
    name = getattr(obj, "__name__", None)
    return repr(name) if isinstance(name, str) else type(obj).__name__
