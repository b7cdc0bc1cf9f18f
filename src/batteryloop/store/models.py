"""The battery-models repository: the ``battery_models`` table (a model's current data) and
``battery_model_versions`` (its hash-chained versions).

Functions take the connection of the caller's transaction (``store.read()`` / ``store.write()``); the
service that calls them owns the transaction. JSON documents go in and come out as dicts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import Connection, func, insert, select, update

from .tables import battery_model_versions, battery_models


@dataclass
class ModelRecord:
    """A model's current row: who makes it, its version and hash, its data."""

    id: str
    manufacturer_id: str
    version: int
    hash: str
    data: dict[str, Any]


def model_exists(conn: Connection, model_id: str) -> bool:
    return conn.execute(select(battery_models.c.id).where(battery_models.c.id == model_id)).first() is not None


def find_model(conn: Connection, model_id: str) -> ModelRecord | None:
    row = conn.execute(select(battery_models).where(battery_models.c.id == model_id)).first()
    if row is None:
        return None
    return ModelRecord(row.id, row.manufacturer_id, row.version, row.hash, orjson.loads(row.data))


def model_data(conn: Connection, model_id: str) -> tuple[dict[str, Any], int] | None:
    """A model's current data and version number (``None``: no such model)."""
    row = conn.execute(select(battery_models.c.data, battery_models.c.version)
                       .where(battery_models.c.id == model_id)).first()
    return (orjson.loads(row.data), row.version) if row is not None else None


def insert_model(conn: Connection, row: dict[str, Any], version_row: dict[str, Any]) -> None:
    """A new model (its ``battery_models`` row) and its first version."""
    conn.execute(insert(battery_models), row)
    conn.execute(insert(battery_model_versions), version_row)


def update_model(conn: Connection, model_id: str, expected_version: int, values: dict[str, Any]) -> bool:
    """Set ``values`` on the model if it is still at ``expected_version``; whether it was."""
    res = conn.execute(update(battery_models).where(
        battery_models.c.id == model_id, battery_models.c.version == expected_version).values(**values))
    return res.rowcount == 1


def insert_model_version(conn: Connection, version_row: dict[str, Any]) -> None:
    conn.execute(insert(battery_model_versions), version_row)


def list_models(conn: Connection) -> list[tuple[str, int, dict[str, Any]]]:
    """Every model as (id, version, data), by id."""
    rows = conn.execute(select(battery_models.c.id, battery_models.c.data, battery_models.c.version)
                        .order_by(battery_models.c.id)).all()
    return [(r.id, r.version, orjson.loads(r.data)) for r in rows]


def model_versions(conn: Connection, model_id: str) -> list[dict[str, Any]]:
    """A model's versions in order: version, hash, prev_hash, author, reason, created_at (no data)."""
    rows = conn.execute(select(battery_model_versions).where(
        battery_model_versions.c.model_id == model_id).order_by(battery_model_versions.c.version)).all()
    return [{"version": r.version, "hash": r.hash, "prev_hash": r.prev_hash, "author": r.author_id,
             "reason": r.reason, "created_at": r.created_at} for r in rows]


def count_models(conn: Connection) -> int:
    return conn.execute(select(func.count()).select_from(battery_models)).scalar_one()
