"""Settings read from the environment once, at app creation."""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path


def _default_data_dir() -> Path:
    configured = os.environ.get("SHOPAPP_DATA_DIR")
    if configured:
        return Path(configured)
    return Path(tempfile.mkdtemp(prefix="shopapp-"))


@dataclass
class Settings:
    data_dir: Path = field(default_factory=_default_data_dir)
    db_url: str = ""
    export_dir: Path | None = None
    hot_folder: Path | None = None
    upstream_url: str = "http://127.0.0.1:9"
    max_pending_tickets: int = 5
    environment: str = "development"

    def __post_init__(self) -> None:
        self.data_dir = Path(self.data_dir)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if not self.db_url:
            self.db_url = str(self.data_dir / "shopapp.sqlite3")
        if self.export_dir is None:
            self.export_dir = self.data_dir / "exports"
        if self.hot_folder is None:
            self.hot_folder = self.data_dir / "incoming"
        Path(self.export_dir).mkdir(parents=True, exist_ok=True)
        Path(self.hot_folder).mkdir(parents=True, exist_ok=True)

    @classmethod
    def from_env(cls) -> Settings:
        kwargs: dict[str, object] = {}
        if os.environ.get("SHOPAPP_DB"):
            kwargs["db_url"] = os.environ["SHOPAPP_DB"]
        if os.environ.get("SHOPAPP_EXPORT_DIR"):
            kwargs["export_dir"] = Path(os.environ["SHOPAPP_EXPORT_DIR"])
        if os.environ.get("SHOPAPP_UPSTREAM_URL"):
            kwargs["upstream_url"] = os.environ["SHOPAPP_UPSTREAM_URL"]
        if os.environ.get("SHOPAPP_MAX_PENDING_TICKETS"):
            kwargs["max_pending_tickets"] = int(os.environ["SHOPAPP_MAX_PENDING_TICKETS"])
        kwargs["environment"] = os.environ.get("SHOPAPP_ENV", "development")
        settings = cls(**kwargs)  # type: ignore[arg-type]
        overrides_file = os.environ.get("SHOPAPP_SETTINGS_FILE")
        if overrides_file:
            from .settings import apply_overrides

            apply_overrides(settings, overrides_file)
        return settings
