"""The store's tables (SQLAlchemy Core). JSON documents are stored as text (orjson) for speed on both stores."""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# Times are ISO 8601 UTC strings ("2026-11-26T03:48:11.123456Z"): exact, portable, and what we hash.

participants = Table(
    "participants",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("id_scheme", String(16), nullable=False),
    Column("name", String(200), nullable=False),
    Column("country", String(2), nullable=False),
    Column("roles", Text, nullable=False),  # JSON list
    Column("public_key", String(200)),
    Column("created_at", String(32), nullable=False),
)

api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("participant_id", String(32), ForeignKey("participants.id"), nullable=False, index=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("label", String(100), nullable=False, default=""),
    Column("created_at", String(32), nullable=False),
    Column("revoked_at", String(32)),
    Column("expires_at", String(32)),  # NULL: never expires (only when the node admin asked for that)
    Column("last_used_at", String(32)),  # to the hour at best: written at most once an hour per token
)

battery_models = Table(
    "battery_models",
    metadata,
    Column("id", String(100), primary_key=True),
    Column("manufacturer_id", String(32), ForeignKey("participants.id"), nullable=False, index=True),
    Column("chemistry", String(16), nullable=False, index=True),
    Column("category", String(16), nullable=False),
    Column("version", Integer, nullable=False),
    Column("hash", String(64), nullable=False),
    Column("data", Text, nullable=False),
    Column("created_at", String(32), nullable=False),
    Column("updated_at", String(32), nullable=False),
)

battery_model_versions = Table(
    "battery_model_versions",
    metadata,
    Column("model_id", String(100), ForeignKey("battery_models.id"), primary_key=True),
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("hash", String(64), nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("author_id", String(32), nullable=False),
    Column("reason", String(200), nullable=False),
    Column("created_at", String(32), nullable=False),
    Column("data", Text, nullable=False),
)

passports = Table(
    "passports",
    metadata,
    Column("id", String(50), primary_key=True),
    Column("model_id", String(100), ForeignKey("battery_models.id"), nullable=False),
    Column("economic_operator_id", String(32), ForeignKey("participants.id"), nullable=False),
    Column("owner_id", String(32)),
    Column("status", String(16), nullable=False),
    Column("serial_number", String(40), nullable=False),
    Column("chemistry", String(16), nullable=False),
    Column("manufacture_date", Date, nullable=False),
    Column("manufacture_country", String(2), nullable=False),
    Column("successor_id", String(50)),
    Column("archived", Boolean, nullable=False, default=False),
    Column("version", Integer, nullable=False),
    Column("hash", String(64), nullable=False),
    Column("data", Text, nullable=False),
    Column("created_at", String(32), nullable=False),
    Column("updated_at", String(32), nullable=False),
    Column("global_asset_id", String(45)),  # passport.identifiers.global_asset_id(id), for lookups by it
    Index("ix_passports_model_status", "model_id", "status"),
    Index("ix_passports_global_asset_id", "global_asset_id"),
    Index("ix_passports_operator", "economic_operator_id"),
    Index("ix_passports_chemistry", "chemistry"),
    Index("ix_passports_status", "status"),
    Index("ix_passports_manufacture_date", "manufacture_date"),
)

passport_versions = Table(
    "passport_versions",
    metadata,
    Column("passport_id", String(50), ForeignKey("passports.id"), primary_key=True),
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("hash", String(64), nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("author_id", String(32), nullable=False),
    Column("reason", String(200), nullable=False),
    Column("created_at", String(32), nullable=False),
    Column("data", Text, nullable=False),
)

# Every read that disclosed more than the public tier: who, what, when, which tiers, through which channel.
audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", String(32), nullable=False),
    Column("actor", String(32), nullable=False),
    Column("action", String(32), nullable=False),
    Column("passport_id", String(50), nullable=False),
    Column("tiers", String(100), nullable=False),
    Column("channel", String(16), nullable=False),
    Index("ix_audit_passport_at", "passport_id", "at"),
    Index("ix_audit_actor_at", "actor", "at"),
)

pilot_runs = Table(
    "pilot_runs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("created_at", String(32), nullable=False),
    Column("seed", Integer, nullable=False),
    Column("packs", Integer, nullable=False),
    Column("years", Integer, nullable=False),
    Column("start_year", Integer, nullable=False),
    Column("report", Text, nullable=False),
)
"""One row per pilot-simulator run: its report (JSON), which the dashboard's pilot pages show."""

delegations = Table(
    # a passport's economic operator or a pack's custodian lets a service provider act for it on that
    # passport or ledger subject (e.g. write state-of-health updates); read by batteryloop.access
    "delegations",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("subject", String(100), nullable=False, index=True),
    Column("grantor_id", String(32), nullable=False),
    Column("grantee_id", String(32), ForeignKey("participants.id"), nullable=False),
    Column("actions", Text, nullable=False),  # JSON list of policy actions, or ["*"]
    Column("created_at", String(32), nullable=False),
    Column("expires_at", String(32)),
    Column("revoked_at", String(32)),
)

rate_limit_buckets = Table(
    # the API's rate-limit token buckets when the store is PostgreSQL, shared by every worker and host
    # (batteryloop.store.ratelimit; on SQLite the single process keeps them in memory)
    "rate_limit_buckets",
    metadata,
    Column("key", String(80), primary_key=True),  # "a:<address>" or "p:<participant>"
    Column("tokens", Float, nullable=False),
    Column("at", Float, nullable=False),  # seconds since the epoch of the last refill (the app's clock)
    Column("allowed", Boolean, nullable=False),  # whether the last request took a token
)

alert_rules = Table(
    # an alert rule (batteryloop.alerts): what fires it (kind, params), whose packs it watches (its owner's, or
    # every pack for the node admin and the authorities) and where a firing goes (a signed webhook or an e-mail)
    "alert_rules",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("owner_id", String(32), nullable=False, index=True),  # a participant id, or "admin"
    Column("name", String(100), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("params", Text, nullable=False),  # JSON
    Column("channel", String(16), nullable=False),  # webhook | email
    Column("target", String(500), nullable=False),  # the webhook URL or the e-mail address
    Column("secret", String(200)),  # the webhook's HMAC key (never shown after the rule is created)
    Column("created_at", String(32), nullable=False),
    Column("disabled_at", String(32)),
)

alerts = Table(
    # one firing of a rule on one finding; (rule, dedupe key) is unique: re-evaluating finds it already there
    "alerts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("rule_id", Integer, ForeignKey("alert_rules.id"), nullable=False),
    Column("dedupe_key", String(300), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("pack_id", String(100), nullable=False, index=True),
    Column("operator_id", String(32), index=True),  # the pack's economic operator (who may read the alert)
    Column("model_id", String(100)),
    Column("title", String(200), nullable=False),
    Column("message", Text, nullable=False),
    Column("data", Text, nullable=False),  # JSON: the finding
    Column("created_at", String(32), nullable=False),
    Index("uq_alerts_rule_dedupe", "rule_id", "dedupe_key", unique=True),
)

alert_deliveries = Table(
    # each delivery round of an alert: a webhook POST (with its retries) or the e-mail-ready message stored
    "alert_deliveries",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("alert_id", Integer, ForeignKey("alerts.id"), nullable=False, index=True),
    Column("channel", String(16), nullable=False),
    Column("target", String(500), nullable=False),
    Column("status", String(16), nullable=False),  # delivered | failed | stored
    Column("attempts", Integer, nullable=False),
    Column("response_status", Integer),
    Column("error", Text),
    Column("message", Text),  # the RFC 5322 message of an e-mail delivery
    Column("created_at", String(32), nullable=False),
)
