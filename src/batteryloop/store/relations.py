"""The relations repository: the facts the policy decides on that are not in the passport's own row —
custodians (read from the ledger's ``trace_custody`` table, which the ledger writes) and the
``delegations`` table (a passport's operator or a pack's custodian lets a service provider act for it).

Functions take the connection of the caller's transaction; delegations come out as :class:`Delegation`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import Connection, insert, select, update

from . import bulk
from .tables import delegations
from .trace_tables import trace_custody


def custodians(conn: Connection, subjects: Iterable[str]) -> dict[str, str]:
    """Ledger subject → its holder, for those of ``subjects`` the ledger has a custody record of."""
    return {r.subject: r.holder for r in bulk.select_in(conn, "custodians", lambda ps: select(
        trace_custody.c.subject, trace_custody.c.holder).where(trace_custody.c.subject.in_(ps)), list(subjects))}


@dataclass(frozen=True)
class Delegation:
    """One row of ``delegations`` (``actions``: the policy actions, or ``["*"]``)."""

    id: int
    subject: str
    grantor_id: str
    grantee_id: str
    actions: list[str]
    created_at: str
    expires_at: str | None
    revoked_at: str | None


def _delegation(r: Any) -> Delegation:
    return Delegation(r.id, r.subject, r.grantor_id, r.grantee_id, orjson.loads(r.actions), r.created_at,
                      r.expires_at, r.revoked_at)


def delegations_on(conn: Connection, subjects: Iterable[str]) -> list[Delegation]:
    """Every delegation (in force or not) on any of ``subjects``, in the table's order."""
    subjects = list(subjects)
    if len(subjects) <= 500:  # one statement, compiled once per padded length (the ledger's prefetch: chunks of 500)
        return [_delegation(r) for r in bulk.select_in(
            conn, "delegations-on", lambda ps: select(delegations).where(delegations.c.subject.in_(ps)), subjects)]
    return [_delegation(r) for r in conn.execute(select(delegations).where(delegations.c.subject.in_(subjects)))]


def all_delegations(conn: Connection) -> list[Delegation]:
    """Every delegation, in force or not (the ledger's replay of its custody rules)."""
    return [_delegation(r) for r in conn.execute(select(delegations))]


def delegations_of(conn: Connection, subject: str) -> list[Delegation]:
    """Every delegation (in force or not) on ``subject``, by id."""
    return [_delegation(r) for r in conn.execute(select(delegations).where(delegations.c.subject == subject)
                                                 .order_by(delegations.c.id)).all()]


def insert_delegation(conn: Connection, row: dict[str, Any]) -> int:
    """A new delegation (``actions`` as JSON text); its id."""
    res = conn.execute(insert(delegations), row)
    return res.inserted_primary_key[0]  # type: ignore[index,no-any-return]


def revoke_delegation(conn: Connection, subject: str, delegation_id: int, at: str) -> bool:
    """Mark the delegation revoked at ``at`` if it is on ``subject`` and not revoked yet; whether it was."""
    res = conn.execute(update(delegations).where(
        delegations.c.id == delegation_id, delegations.c.subject == subject,
        delegations.c.revoked_at.is_(None)).values(revoked_at=at))
    return res.rowcount == 1
