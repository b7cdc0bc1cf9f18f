"""The audit-log repository: the ``audit_log`` table (every read that disclosed more than the public tier).

Functions take the connection of the caller's transaction; entries come out as dicts of the table's columns.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, insert, select

from .tables import audit_log, passports


def insert_entries(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Entries ``{at, actor, action, passport_id, tiers, channel}``, in one statement."""
    conn.execute(insert(audit_log), rows)


def entries(conn: Connection, *, of_operator: bool = False, operator: str | None = None,
            passport_id: str | None = None, actor: str | None = None, since: str | None = None,
            limit: int = 100) -> list[dict[str, Any]]:
    """The newest ``limit`` entries matching every filter given. ``of_operator``: only reads of the passports
    ``operator`` is the economic operator of (as those passports are now); ``since``: at or after that time."""
    q = select(audit_log).order_by(audit_log.c.id.desc()).limit(limit)
    if of_operator:
        own = select(passports.c.id).where(passports.c.economic_operator_id == operator)
        q = q.where(audit_log.c.passport_id.in_(own))
    if passport_id:
        q = q.where(audit_log.c.passport_id == passport_id)
    if actor:
        q = q.where(audit_log.c.actor == actor)
    if since:
        q = q.where(audit_log.c.at >= since)
    return [dict(r._mapping) for r in conn.execute(q).all()]
