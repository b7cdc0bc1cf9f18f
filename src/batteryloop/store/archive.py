"""The archive repository: the registry tables a node archive moves, read and written whole.

:data:`TABLES` lists them in dependency order (the ledger's tables are not among them: an archive carries
the ledger as events, re-ingested through the ledger). Functions take the connection of the caller's
transaction.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import Connection, Table, delete, func, insert, select

from . import trace_tables as tt
from .tables import (
    audit_log,
    battery_model_versions,
    battery_models,
    delegations,
    participants,
    passport_versions,
    passports,
)

TABLES: tuple[Table, ...] = (participants, battery_models, battery_model_versions, passports, passport_versions,
                             audit_log, delegations)
TABLE_NAMES: tuple[str, ...] = tuple(t.name for t in TABLES)
_BY_NAME = {t.name: t for t in TABLES}


def rows(conn: Connection, table: str) -> Iterator[dict[str, Any]]:
    """A table's rows as dicts, by primary key (the audit log without its ids, which an import renumbers)."""
    t = _BY_NAME[table]
    order = list(t.primary_key.columns)
    for r in conn.execute(select(t).order_by(*order)):
        d = {str(k): v for k, v in r._asdict().items()}
        if table == "audit_log":
            d.pop("id", None)  # renumbered on import
        yield d


def columns(table: str) -> tuple[set[str], set[str]]:
    """(every column, the columns a row must give) of a table: the required ones are not nullable and have
    no default, nor are they a generated key (nor the audit log's id)."""
    t = _BY_NAME[table]
    names = {c.name for c in t.columns}
    required = {c.name for c in t.columns if not c.nullable and c.default is None and c.server_default is None
                and not (c.primary_key and c.autoincrement is True) and not (t.name == "audit_log" and c.name == "id")}
    return names, required


def held(conn: Connection) -> int:
    """How many participants and passports the store holds (an archive goes only into an empty node)."""
    return sum(conn.execute(select(func.count()).select_from(t)).scalar_one() for t in (participants, passports))


def insert_rows(conn: Connection, table: str, table_rows: list[dict[str, Any]], chunk: int = 2000) -> None:
    """Rows into a table, ``chunk`` rows per statement."""
    t = _BY_NAME[table]
    for i in range(0, len(table_rows), chunk):
        conn.execute(insert(t), table_rows[i:i + chunk])


def delete_all(conn: Connection) -> None:
    """Empty the ledger's derived tables and every table of :data:`TABLES` (undoing an import)."""
    derived = [t for t in (getattr(tt, n, None) for n in ("trace_custody", "trace_pack_sources", "trace_lot_edges",
                                                           "trace_lots", "trace_chain", "trace_events")) if t is not None]
    for t in derived + list(reversed(TABLES)):
        conn.execute(delete(t))
