"""Settings overrides from a JSON file (SHOPAPP_SETTINGS_FILE)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def load_settings_file(path: str | Path) -> dict[str, Any]:
    data = json.load(open(path))
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a JSON object, got {type(data).__name__}")
    return data


def apply_overrides(settings: Any, path: str | Path) -> None:
    for key, value in load_settings_file(path).items():
        if not hasattr(settings, key):
            raise ValueError(f"{path}: unknown setting {key!r}")
        setattr(settings, key, value)
