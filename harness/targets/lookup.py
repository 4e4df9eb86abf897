"""Find a target spec from text: inline JSON or TOML, a spec file, or a name in a manifest."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

from ..errors import UserError
from .spec import TargetSpec


def manifest_targets(path: Path) -> dict[str, dict[str, Any]]:
    """The `[targets.NAME]` tables of a harness.toml (or `[tool.harness.targets]` of pyproject)."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError(f"manifest={str(path)!r}: no such file", where="manifest") from None
    except tomllib.TOMLDecodeError as exc:
        raise UserError(f"manifest={str(path)!r}: not valid TOML: {exc}", where=str(path)) from None
    if path.name == "pyproject.toml":
        data = data.get("tool", {}).get("harness", {})
    targets = data.get("targets", {})
    if not isinstance(targets, dict):
        raise UserError(f"targets={targets!r}: must be a table of [targets.NAME]", where=str(path))
    return targets


def spec_from_text(
    text: str, *, manifest: Path | None = None, base_dir: Path | None = None
) -> TargetSpec:
    """Read `text` as a target: JSON (``{"kind": ...}``), TOML (``kind = "url"``), a path to a
    .json/.toml file, or the NAME of a ``[targets.NAME]`` in `manifest`.

    A relative `cwd` in a manifest or file is taken relative to that file's folder.
    """
    stripped = text.strip()
    where = "--harness-target"
    if stripped.startswith("{"):
        return TargetSpec.parse(_json(stripped, where), where=where)
    if "=" in stripped:
        try:
            return TargetSpec.parse(tomllib.loads(stripped), where=where)
        except tomllib.TOMLDecodeError as exc:
            raise UserError(f"{where}={text!r}: not valid TOML: {exc}", where=where) from None
    path = Path(stripped)
    if path.suffix in {".json", ".toml"} and path.is_file():
        raw = path.read_text(encoding="utf-8")
        data = _json(raw, str(path)) if path.suffix == ".json" else tomllib.loads(raw)
        return TargetSpec.parse(_relative_cwd(data, path.parent), where=str(path))
    if manifest is None:
        raise UserError(
            f"{where}={text!r}: not a spec, a spec file, or a target name (write JSON or "
            "TOML, or pass --harness-manifest harness.toml to pick [targets.NAME] by name)",
            where=where,
        )
    targets = manifest_targets(manifest)
    if stripped not in targets:
        known = ", ".join(sorted(targets)) or "none"
        raise UserError(
            f"{where}={text!r}: {manifest} has no [targets.{stripped}] (known: {known})",
            where=where,
        )
    data = {"name": stripped, **targets[stripped]}
    return TargetSpec.parse(
        _relative_cwd(data, base_dir or manifest.parent), where=f"targets.{stripped}"
    )


def _json(text: str, where: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise UserError(f"{where}={text[:60]!r}: not valid JSON: {exc}", where=where) from None


def _relative_cwd(data: Any, folder: Path) -> Any:
    if isinstance(data, dict) and isinstance(data.get("cwd"), str):
        cwd = Path(data["cwd"])
        if not cwd.is_absolute():
            data = {**data, "cwd": str(folder / cwd)}
    return data
