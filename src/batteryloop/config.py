"""Settings, read from the environment (``BATTERYLOOP_*``) with defaults for the embedded pilot."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path


def _env(name: str, default: str) -> str:
    return os.environ.get(f"BATTERYLOOP_{name}", default)


@dataclass(frozen=True)
class Settings:
    database_url: str = field(default_factory=lambda: _env("DATABASE_URL", "sqlite:///./var/batteryloop.db"))
    public_base_url: str = field(default_factory=lambda: _env("PUBLIC_BASE_URL", "http://127.0.0.1:8000"))
    issuing_agency_code: str = field(default_factory=lambda: _env("ISSUING_AGENCY_CODE", "BL"))
    admin_token: str | None = field(default_factory=lambda: os.environ.get("BATTERYLOOP_ADMIN_TOKEN") or None)
    var_dir: Path = field(default_factory=lambda: Path(_env("VAR_DIR", "./var")))
    # anonymous requests per minute per client address (0 = no limit); bursts of a fifth of that
    rate_limit_per_minute: int = field(default_factory=lambda: int(_env("RATE_LIMIT_PER_MINUTE", "600")))


def get_settings() -> Settings:
    return Settings()
