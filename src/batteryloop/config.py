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
    # other ISO/IEC 15459 issuing agency codes this node accepts in imported passport ids (comma-separated)
    accepted_issuing_agency_codes: tuple[str, ...] = field(default_factory=lambda: tuple(
        c.strip().upper() for c in _env("ACCEPTED_ISSUING_AGENCY_CODES", "").split(",") if c.strip()))
    admin_token: str | None = field(default_factory=lambda: os.environ.get("BATTERYLOOP_ADMIN_TOKEN") or None)
    var_dir: Path = field(default_factory=lambda: Path(_env("VAR_DIR", "./var")))
    # anonymous requests per minute per client address (0 = no limit); bursts of a fifth of that
    rate_limit_per_minute: int = field(default_factory=lambda: int(_env("RATE_LIMIT_PER_MINUTE", "600")))
    # each signed-in participant's requests per minute (0 = no limit); only while the anonymous limit is on
    rate_limit_participant_per_minute: int = field(
        default_factory=lambda: int(_env("RATE_LIMIT_PARTICIPANT_PER_MINUTE", "6000")))
    # proxies (comma-separated addresses or CIDRs) whose X-Forwarded-For / Forwarded name the client
    trusted_proxies: str = field(default_factory=lambda: _env("TRUSTED_PROXIES", ""))
    # request bodies: bytes on any path; bytes on the bulk imports and uploads (signed-in participants)
    max_body_bytes: int = field(default_factory=lambda: int(_env("MAX_BODY_BYTES", str(4 * 2**20))))
    max_bulk_body_bytes: int = field(default_factory=lambda: int(_env("MAX_BULK_BODY_BYTES", str(200 * 2**20))))
    # JSON request bodies: nesting levels of arrays and objects; digits in a row in a number
    max_json_depth: int = field(default_factory=lambda: int(_env("MAX_JSON_DEPTH", "64")))
    max_json_digits: int = field(default_factory=lambda: int(_env("MAX_JSON_DIGITS", "50")))
    # days an API token lives unless its issuer says otherwise (0 = tokens do not expire by default)
    token_ttl_days: int = field(default_factory=lambda: int(_env("TOKEN_TTL_DAYS", "90")))


def get_settings() -> Settings:
    return Settings()
