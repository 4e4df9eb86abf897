"""Read a claims manifest from harness.toml or [tool.harness], with errors that name file:line."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ..errors import UserError
from .model import Manifest

MANIFEST_NAMES = ("harness.toml", "pyproject.toml")


def find_manifest(root: Path) -> Path | None:
    """The manifest in `root`: harness.toml, else a pyproject.toml with [tool.harness]."""
    candidate = root / "harness.toml"
    if candidate.is_file():
        return candidate
    pyproject = root / "pyproject.toml"
    if pyproject.is_file() and "[tool.harness" in pyproject.read_text(errors="replace"):
        return pyproject
    return None


def load_manifest(path: Path) -> Manifest:
    """Parse and validate `path`. Every problem is a UserError with `where=file:line`."""
    if not path.is_file():
        raise UserError(f"manifest={str(path)!r} does not exist", hint="pass --manifest PATH")
    text = path.read_text(encoding="utf-8", errors="replace")
    try:
        data = tomllib.loads(text)
    except ValueError as exc:  # TOMLDecodeError, or an integer past int()'s 4300-digit limit
        line = getattr(exc, "lineno", None) or _line_from_message(str(exc))
        raise UserError(f"not valid TOML: {exc}", where=_where(path, line)) from None
    section: dict[str, Any]
    prefix = ""
    if path.name == "pyproject.toml":
        tool = data.get("tool")
        found = tool.get("harness") if isinstance(tool, dict) else None
        prefix = "tool.harness."
        if found is None:
            raise UserError("has no [tool.harness] table", where=str(path))
        if not isinstance(found, dict):
            where = _where(path, locate(text, ("tool", "harness"), data))
            raise UserError(
                f"tool.harness={found!r}: must be a table ([tool.harness])", where=where
            )
        section = found
    else:
        section = data
    return validate(section, path=path, text=text, prefix=prefix).from_file(path)


def validate(section: dict[str, Any], *, path: Path, text: str, prefix: str = "") -> Manifest:
    try:
        return Manifest.model_validate(section)
    except ValidationError as exc:
        error = exc.errors()[0]
        loc = tuple(error["loc"])
        field = _dotted(loc, section)
        line = locate(text, loc, section, prefix)
        message = error["msg"].removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            message = f"{prefix}{field}: unknown field (check the spelling against the README)"
        elif error["type"] == "missing":  # its `input` is the whole enclosing table
            message = f"{prefix}{field}: missing (this field is required)"
        elif error["type"] in ("value_error", "assertion_error") or "input" not in error:
            message = f"{prefix}{field}: {message}" if field else message
        else:
            message = f"{prefix}{field}={error['input']!r}: {message}"
        raise UserError(message, where=_where(path, line)) from None


def _dotted(loc: tuple[Any, ...], section: dict[str, Any]) -> str:
    parts: list[str] = []
    node: Any = section
    for item in loc:
        if isinstance(item, int):
            label = f"[{item}]"
            if isinstance(node, list) and item < len(node) and isinstance(node[item], dict):
                claim_id = node[item].get("id")
                if claim_id:
                    label = f"[{item}]({_plain(claim_id)})"
            parts.append(label)
        else:
            parts.append(("." if parts else "") + _plain(item))
        node = node[item] if _indexable(node, item) else None
    return "".join(parts)


def _plain(value: Any) -> str:
    """A key or id as written, or repr-quoted when not bare, so a newline in it stays escaped."""
    text = str(value)
    return (
        text if isinstance(value, str) and re.fullmatch(r"[A-Za-z0-9_.-]+", text) else repr(value)
    )


def _indexable(node: Any, item: Any) -> bool:
    if isinstance(node, dict):
        return item in node
    if isinstance(node, list):
        return isinstance(item, int) and item < len(node)
    return False


def locate(
    text: str, loc: tuple[Any, ...], section: dict[str, Any], prefix: str = ""
) -> int | None:
    """Best-effort line of the value at `loc`: the array-of-tables entry, then the key in it."""
    lines = text.splitlines()
    start = 0
    entry: int | None = None  # the line of the [[table]] entry, when loc points into one
    table = prefix + str(loc[0]) if loc else ""
    if len(loc) >= 2 and isinstance(loc[1], int):
        header = re.compile(rf"^\s*\[\[\s*{re.escape(table)}\s*\]\]")
        seen = -1
        for number, line in enumerate(lines):
            if header.match(line):
                seen += 1
                if seen == loc[1]:
                    start = entry = number
                    break
        keys = [str(k) for k in loc[2:] if not isinstance(k, int)]
    else:
        keys = [str(k) for k in loc if not isinstance(k, int)]
    for key in reversed(keys):
        pattern = re.compile(rf"^\s*(\[+[^\]]*\b{re.escape(key)}\]+|{re.escape(key)}\s*=)")
        for number in range(start, len(lines)):
            if pattern.match(lines[number]):
                return number + 1
    return entry + 1 if entry is not None else None


def _line_from_message(message: str) -> int | None:
    match = re.search(r"line (\d+)", message)
    return int(match.group(1)) if match else None


def _where(path: Path, line: int | None) -> str:
    return f"{path}:{line}" if line else str(path)
