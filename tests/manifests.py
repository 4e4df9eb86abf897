"""Manifest text for the tests that run the CLI: each [[claims]] table from one call."""

from __future__ import annotations

import json
from collections.abc import Mapping


def toml_value(value: object) -> str:
    """A TOML value: JSON's string escapes are TOML's, a mapping is an inline table."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | str):
        return json.dumps(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, Mapping):
        return "{ " + ", ".join(f"{k} = {toml_value(v)}" for k, v in value.items()) + " }"
    raise TypeError(f"no TOML for {value!r}")


def claim_table(claim_id: str, title: str, **fields: object) -> str:
    """One [[claims]] table: the plain fields in order, then each mapping (`run`, `binding`) as
    its sub-table, [claims.run] and so on."""
    tables = {k: v for k, v in fields.items() if isinstance(v, Mapping)}
    lines = ["", "[[claims]]", f"id = {toml_value(claim_id)}", f"title = {toml_value(title)}"]
    lines += [f"{k} = {toml_value(v)}" for k, v in fields.items() if k not in tables]
    for name, table in tables.items():
        lines += [f"[claims.{name}]", *(f"{k} = {toml_value(v)}" for k, v in table.items())]
    return "\n".join(lines) + "\n"
