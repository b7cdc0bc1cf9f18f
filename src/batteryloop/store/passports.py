"""The passports repository: the ``passports`` table (each passport's current record) and
``passport_versions`` (its hash-chained versions).

:class:`PassportRecord` is the row the services decide on (operator, owner, status, version, data, the
model version it was written against). Services read and write passports through these functions, never
with their own SQL, so a new column is mapped in one place. Functions take the connection of the
caller's transaction (``store.read()`` / ``store.write()``): the service owns the transaction.
:func:`fast_find_record` is the exception, the hot GET's single read through :class:`FastReader`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, fields, field
from functools import cached_property
from typing import Any

import orjson
from sqlalchemy import Connection, Select, and_, bindparam, func, insert, select, true, update

from . import bulk
from .fastread import FastReader
from .tables import battery_models, passport_versions, passports


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
    rows = bulk.select_in(conn, "passport-record", lambda ps: record_query().where(passports.c.id.in_(ps)),
                          [passport_id])  # compiled once (the driver's row: the same columns and values)
    return record_from_row(rows[0]) if rows else None


class LazyPassportRecord(PassportRecord):
    """A :class:`PassportRecord` whose ``data`` is parsed from the stored JSON (``data_text``) when first read: a
    batch write that hands the text to worker processes (``PassportService.update_passports`` with an executor)
    does not parse every passport here only to pass it on."""

    def __init__(self, row: Any) -> None:  # noqa: D107 - the fields of PassportRecord but data
        self.id, self.model_id, self.economic_operator_id = row.id, row.model_id, row.economic_operator_id
        self.owner_id, self.status, self.archived = row.owner_id, row.status, bool(row.archived)
        self.successor_id, self.version, self.hash = row.successor_id, row.version, row.hash
        self.model_version = row.model_version
        self.data_text: str = row.data

    def __getattr__(self, name: str) -> Any:  # only for attributes not set yet: ``data`` on its first read
        if name == "data":
            self.data = orjson.loads(self.data_text)
            return self.data
        raise AttributeError(name)


def find_records(conn: Connection, passport_ids: Iterable[str], chunk: int = 500, *,
                 lazy: bool = False) -> dict[str, PassportRecord]:
    """Many passports' records by id (missing ids are absent), ``chunk`` ids per query; ``lazy``: each a
    :class:`LazyPassportRecord` (its data parsed only when read)."""
    ids = list(passport_ids)
    out: dict[str, PassportRecord] = {}
    make = LazyPassportRecord if lazy else record_from_row
    for row in bulk.select_in(conn, "passport-record", lambda ps: record_query().where(passports.c.id.in_(ps)),
                              ids, chunk):
        out[row.id] = make(row)
    return out


# the same record as record_query(), in plain SQL for FastReader (``?`` placeholders): the SELECT is written
# from PassportRecord's field names, in their order, so a row maps onto the record field by field
FAST_RECORD_COLUMNS = tuple(f.name for f in fields(PassportRecord))
_FAST_SOURCE = {"model_version": "m.version AS model_version"}
FAST_RECORD_SQL = ("SELECT " + ", ".join(_FAST_SOURCE.get(c, f"p.{c}") for c in FAST_RECORD_COLUMNS)
                   + " FROM passports p JOIN battery_models m ON m.id = p.model_id WHERE p.id = ?")


def fast_find_record(reader: FastReader, passport_id: str) -> PassportRecord | None:
    """:func:`find_record` in one primary-key SELECT outside any transaction (the passport GET's hot path)."""
    row = reader.one(FAST_RECORD_SQL, (passport_id,))
    if row is None:
        return None
    rec = PassportRecord(*row)  # the SELECT names PassportRecord's fields in order (FAST_RECORD_COLUMNS)
    rec.archived = bool(rec.archived)
    rec.data = orjson.loads(rec.data)
    return rec


# ------------------------------------------------------------------------------------ writes
def passport_exists(conn: Connection, passport_id: str) -> bool:
    return conn.execute(select(passports.c.id).where(passports.c.id == passport_id)).first() is not None


def existing_ids(conn: Connection, passport_ids: list[str], chunk: int = 500) -> set[str]:
    """Which of ``passport_ids`` are stored already (``chunk`` ids per query)."""
    out: set[str] = set()
    for i in range(0, len(passport_ids), chunk):
        out.update(conn.execute(select(passports.c.id)
                                .where(passports.c.id.in_(passport_ids[i:i + chunk]))).scalars())
    return out


def insert_passports(conn: Connection, rows: list[dict[str, Any]], version_rows: list[dict[str, Any]]) -> None:
    """New passports (``passports`` rows) and their first versions: one statement for each table."""
    conn.execute(insert(passports), rows)
    conn.execute(insert(passport_versions), version_rows)


def insert_passport(conn: Connection, row: dict[str, Any], version_row: dict[str, Any]) -> None:
    """One new passport and its first version."""
    conn.execute(insert(passports), row)
    conn.execute(insert(passport_versions), version_row)


def insert_versions(conn: Connection, version_rows: list[dict[str, Any]]) -> None:
    """Versions' rows (text and integers only): one statement compiled once, straight to the driver."""
    bulk.insert_many(conn, passport_versions, version_rows)


def insert_version(conn: Connection, version_row: dict[str, Any]) -> None:
    bulk.insert_many(conn, passport_versions, [version_row])


def update_current(conn: Connection, passport_id: str, expected_version: int, values: dict[str, Any]) -> bool:
    """Set ``values`` on the passport's row if it is still at ``expected_version``; whether it was."""
    if all(type(v) in _PLAIN for v in values.values()):  # text and numbers: the statement compiled once
        columns = tuple(values)
        return bulk.execute_many(conn, "passport-update:" + ",".join(columns), lambda: _bulk_update(columns), [
            {**{f"v_{k}": v for k, v in values.items()}, "b_id": passport_id, "b_version": expected_version}
        ]).rowcount == 1
    res = conn.execute(update(passports).where(passports.c.id == passport_id,
                                               passports.c.version == expected_version).values(**values))
    return res.rowcount == 1


def _bulk_update(columns: tuple[str, ...]) -> Any:
    return (update(passports)
            .where(passports.c.id == bindparam("b_id"), passports.c.version == bindparam("b_version"))
            .values(**{k: bindparam(f"v_{k}") for k in columns}))


_BULK_UPDATES: dict[tuple[str, ...], Any] = {}
# values the driver takes as they are for these columns: text, numbers, NULL and ``archived``'s booleans (stored
# as 1/0 on SQLite, as SQLAlchemy's Boolean stores them; a boolean on PostgreSQL)
_PLAIN = (str, int, float, bool, type(None))


def update_current_many(conn: Connection, updates: list[tuple[str, int, dict[str, Any]]]) -> int | None:
    """Many :func:`update_current` as one prepared UPDATE: ``(passport_id, expected_version, values)`` each,
    every ``values`` with the same keys. Returns the driver's count of rows changed (``None`` or negative
    when the driver does not tell); fewer than ``len(updates)`` means a passport was at another version."""
    if not updates:
        return 0
    columns = tuple(updates[0][2])
    params = [{**{f"v_{k}": v for k, v in values.items()}, "b_id": pid, "b_version": version}
              for pid, version, values in updates]
    if all(type(v) in _PLAIN for _, _, values in updates for v in values.values()):
        # text, numbers and booleans only (a new version's changed columns): compiled once, straight to the driver
        return bulk.execute_many(conn, "passport-update:" + ",".join(columns), lambda: _bulk_update(columns),
                                 params).rowcount
    stmt = _BULK_UPDATES.get(columns)
    if stmt is None:
        stmt = _BULK_UPDATES[columns] = _bulk_update(columns)
    return conn.execute(stmt, params).rowcount


@dataclass(frozen=True)
class VersionRecord:
    """One stored version of a passport (``data``: the content it covers)."""

    passport_id: str
    version: int
    hash: str
    prev_hash: str
    author_id: str
    created_at: str
    reason: str
    data: dict[str, Any]


def versions(conn: Connection, passport_id: str) -> list[VersionRecord]:
    """A passport's versions in order (empty: no such passport)."""
    rows = conn.execute(select(passport_versions).where(passport_versions.c.passport_id == passport_id)
                        .order_by(passport_versions.c.version)).all()
    return [VersionRecord(r.passport_id, r.version, r.hash, r.prev_hash, r.author_id, r.created_at, r.reason,
                          orjson.loads(r.data)) for r in rows]


# ------------------------------------------------------------------------------------ listings
@dataclass
class PassportRow:
    """Some columns of a passport's current row (those the listing read; the others are ``None``); ``data``
    is parsed when first used."""

    id: str
    economic_operator_id: str | None = None
    owner_id: str | None = None
    status: str | None = None
    chemistry: str | None = None
    version: int | None = None
    archived: bool | None = None
    data_json: str = field(default="null", repr=False)

    @cached_property
    def data(self) -> dict[str, Any]:
        return orjson.loads(self.data_json)  # type: ignore[no-any-return]


def search(conn: Connection, *, status: str | None = None, model_id: str | None = None,
           chemistry: str | None = None, economic_operator_id: str | None = None,
           manufacture_country: str | None = None, manufactured_from: dt.date | None = None,
           manufactured_to: dt.date | None = None, manufacture_site: str | None = None, after: str | None = None,
           limit: int = 50) -> list[PassportRow]:
    """Passports matching every filter given (``status`` when not ``None``, the others when not empty), ordered
    by id, from the first id after ``after``; at most ``limit`` rows. ``manufacture_site`` matches the battery
    data's site exactly (its JSON text, written compact by the registry)."""
    conds = []
    if manufacture_site:
        quoted = orjson.dumps(manufacture_site).decode()  # as the JSON text holds it
        pattern = '%"manufacture_site":' + quoted.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        conds.append(passports.c.data.like(pattern, escape="\\"))
    if status is not None:
        conds.append(passports.c.status == status)
    if model_id:
        conds.append(passports.c.model_id == model_id)
    if chemistry:
        conds.append(passports.c.chemistry == chemistry)
    if economic_operator_id:
        conds.append(passports.c.economic_operator_id == economic_operator_id)
    if manufacture_country:
        conds.append(passports.c.manufacture_country == manufacture_country)
    if manufactured_from:
        conds.append(passports.c.manufacture_date >= manufactured_from)
    if manufactured_to:
        conds.append(passports.c.manufacture_date <= manufactured_to)
    if after:
        conds.append(passports.c.id > after)
    q = (select(passports.c.id, passports.c.economic_operator_id, passports.c.owner_id, passports.c.data,
                passports.c.version, passports.c.archived)
         .where(and_(true(), *conds)).order_by(passports.c.id).limit(limit))
    return [PassportRow(r.id, r.economic_operator_id, r.owner_id, version=r.version, archived=bool(r.archived),
                        data_json=r.data) for r in conn.execute(q).all()]


def latest_manufacture_date(conn: Connection, model_id: str | None = None) -> dt.date | None:
    """The latest manufacture date of the stored passports (of one model), or None when there are none."""
    q = select(func.max(passports.c.manufacture_date))
    if model_id is not None:
        q = q.where(passports.c.model_id == model_id)
    v = conn.execute(q).scalar()
    return dt.date.fromisoformat(v) if isinstance(v, str) else v


def count_passports(conn: Connection) -> int:
    return conn.execute(select(func.count()).select_from(passports)).scalar_one()


def count_by_chemistry(conn: Connection) -> dict[str, int]:
    return dict(conn.execute(select(passports.c.chemistry, func.count()).group_by(passports.c.chemistry)).all())


def count_by_status(conn: Connection) -> dict[str, int]:
    return dict(conn.execute(select(passports.c.status, func.count()).group_by(passports.c.status)).all())


def current_passports(conn: Connection, *, holder: str | None = None, limit: int | None = None,
                      ordered: bool = False) -> Iterator[PassportRow]:
    """The passports neither archived nor superseded: id, operator, owner, chemistry, status, data. ``holder``:
    only those it operates or owns; ``ordered``: by id; ``limit``: at most that many."""
    q = select(passports.c.id, passports.c.economic_operator_id, passports.c.owner_id, passports.c.chemistry,
               passports.c.status, passports.c.data).where(passports.c.archived.is_(False),
                                                           passports.c.successor_id.is_(None))
    if holder is not None:
        q = q.where((passports.c.economic_operator_id == holder) | (passports.c.owner_id == holder))
    if ordered:
        q = q.order_by(passports.c.id)
    if limit is not None:
        q = q.limit(limit)
    for r in conn.execute(q):
        yield PassportRow(r.id, r.economic_operator_id, r.owner_id, r.status, r.chemistry, data_json=r.data)


def iter_ids(conn: Connection) -> Iterator[str]:
    yield from conn.execute(select(passports.c.id).order_by(passports.c.id)).scalars()


def page_ids(conn: Connection, *, after: str | None = None, limit: int = 100, passport_id: str | None = None,
             serial_number: str | None = None, model_ids: Iterable[str] | None = None,
             manufacture_country: str | None = None, global_asset_id: str | None = None) -> list[str]:
    """Passport ids by id, from the first after ``after``, at most ``limit``, matching every filter given
    (``model_ids``: any of them; an empty collection matches none)."""
    conds = []
    if passport_id is not None:
        conds.append(passports.c.id == passport_id)
    if serial_number is not None:
        conds.append(passports.c.serial_number == serial_number)
    if model_ids is not None:
        conds.append(passports.c.model_id.in_(list(model_ids)))
    if manufacture_country is not None:
        conds.append(passports.c.manufacture_country == manufacture_country)
    if global_asset_id is not None:
        conds.append(passports.c.global_asset_id == global_asset_id)
    if after:
        conds.append(passports.c.id > after)
    q = select(passports.c.id).where(and_(true(), *conds)).order_by(passports.c.id).limit(limit)
    return list(conn.execute(q).scalars())


def passport_data(conn: Connection, passport_id: str) -> dict[str, Any] | None:
    """A passport's current data alone (``None``: no such passport)."""
    row = conn.execute(select(passports.c.data).where(passports.c.id == passport_id)).first()
    return orjson.loads(row.data) if row is not None else None


def read_only_state(conn: Connection, passport_id: str) -> tuple[bool, str | None] | None:
    """(archived, successor_id) of a passport (``None``: no such passport)."""
    row = conn.execute(select(passports.c.archived, passports.c.successor_id)
                       .where(passports.c.id == passport_id)).first()
    return (bool(row.archived), row.successor_id) if row is not None else None


def last_change(conn: Connection, passport_id: str, model_id: str) -> str | None:
    """The later of the passport's and its model's ``updated_at`` (ISO 8601 UTC), or None if neither is stored."""
    p = conn.execute(select(passports.c.updated_at).where(passports.c.id == passport_id)).scalar()
    m = conn.execute(select(battery_models.c.updated_at).where(battery_models.c.id == model_id)).scalar()
    times = [t for t in (p, m) if t]
    return max(times) if times else None
