"""Turns pydantic validation errors into one-line `UserError`s that name the field and value."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from .errors import UserError

_MISSING = object()
M = TypeVar("M", bound=BaseModel)


def field_path(prefix: str, loc: Sequence[int | str]) -> str:
    """`binding` + ('effect', 0) -> `binding.effect[0]`; the path a message and `where=` use."""
    path = prefix
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif path:
            path += f".{part}"
        else:
            path = str(part)
    return path


def _known_fields(model: type[BaseModel] | None, loc: Sequence[int | str]) -> list[str]:
    """The declared fields of the (nested) model that `loc` points into, for `extra` errors."""
    current: Any = model
    for part in loc[:-1]:
        fields = getattr(current, "model_fields", None)
        if not fields or not isinstance(part, str) or part not in fields:
            return []
        current = fields[part].annotation
    fields = getattr(current, "model_fields", None)
    return sorted(fields) if fields else []


def describe_error(
    error: Any, *, prefix: str, model: type[BaseModel] | None = None
) -> tuple[str, str]:
    """One pydantic error dict -> (where, message) in `<field>=<value!r>: what is wrong` form."""
    loc = tuple(error.get("loc", ()))
    # Union members and tagged unions add their type names to `loc`; they help nobody.
    loc = tuple(p for p in loc if isinstance(p, int) or not _looks_like_type_tag(p))
    where = field_path(prefix, loc)
    kind = error.get("type", "")
    value = error.get("input", _MISSING)
    msg = str(error.get("msg", "invalid value"))
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, ") :]
    if kind == "missing":
        return where, f"{where}: missing (this field is required)"
    if kind == "extra_forbidden":
        known = _known_fields(model, loc)
        hint = f"known fields: {', '.join(known)}" if known else "remove it"
        return where, f"{where}={value!r}: unknown field ({hint})"
    if value is _MISSING:
        return where, f"{where}: {msg}"
    return where, f"{where}={value!r}: {msg}"


def _looks_like_type_tag(part: str) -> bool:
    # pydantic uses e.g. 'function-after[...]', 'str', 'list[int]', 'tagged-union[...]' in loc.
    return (
        "[" in part
        or part.startswith("function-")
        or part in {"str", "int", "float", "bool", "dict", "list", "set", "frozenset"}
    )


def user_error(
    exc: ValidationError, *, prefix: str, model: type[BaseModel] | None = None
) -> UserError:
    """The first error of `exc` as a UserError; the others are appended to the hint."""
    errors = exc.errors(include_url=False)
    described = [describe_error(e, prefix=prefix, model=model) for e in errors]
    if not described:  # pragma: no cover - pydantic always reports at least one error
        return UserError(f"{prefix}: invalid", where=prefix or None)
    where, message = described[0]
    others = [m for _, m in described[1:]]
    hint = f"also: {'; '.join(others)}" if others else None
    return UserError(message, where=where or None, hint=hint)


def validate_model(model: type[M], data: Any, *, prefix: str) -> M:
    """`model.model_validate(data)`, with failures raised as a UserError naming `prefix.<field>`."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise user_error(exc, prefix=prefix, model=model) from None
