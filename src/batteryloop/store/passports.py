"""The passports repository: how a passport's current record is read from the ``passports`` table.

:class:`PassportRecord` is the row the services decide on (operator, owner, status, version, data, the
model version it was written against). Services read it through these functions, never with their own
SELECT, so a new column is mapped in one place.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import Connection, Select, select

from .tables import battery_models, passports


@dataclass
class PassportRecord:
    id: str
    model_id: str
    economic_operator_id: str
    owner_id: str | None
    status: str
    archived: bool
    successor_id: str | None
    version: int
    hash: str
    data: dict[str, Any]
    model_version: int


def record_query() -> Select[Any]:
    return select(
        passports.c.id, passports.c.model_id, passports.c.economic_operator_id, passports.c.owner_id,
        passports.c.status, passports.c.archived, passports.c.successor_id, passports.c.version,
        passports.c.hash, passports.c.data, battery_models.c.version.label("model_version"),
    ).join(battery_models, battery_models.c.id == passports.c.model_id)


def record_from_row(row: Any) -> PassportRecord:
    return PassportRecord(row.id, row.model_id, row.economic_operator_id, row.owner_id, row.status,
                          bool(row.archived), row.successor_id, row.version, row.hash, orjson.loads(row.data),
                          row.model_version)


def find_record(conn: Connection, passport_id: str) -> PassportRecord | None:
    row = conn.execute(record_query().where(passports.c.id == passport_id)).first()
    return record_from_row(row) if row is not None else None


def find_records(conn: Connection, passport_ids: Iterable[str], chunk: int = 500) -> dict[str, PassportRecord]:
    """Many passports' records by id (missing ids are absent), ``chunk`` ids per query."""
    ids = list(passport_ids)
    out: dict[str, PassportRecord] = {}
    for i in range(0, len(ids), chunk):
        for row in conn.execute(record_query().where(passports.c.id.in_(ids[i:i + chunk]))).all():
            out[row.id] = record_from_row(row)
    return out
