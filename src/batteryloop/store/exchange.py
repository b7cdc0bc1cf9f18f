"""The exchange repository: rows of the data-space connector's tables (:mod:`.exchange_tables`).

Reads and writes ``exchange_negotiations`` and ``exchange_transfers`` (a row per process and side; a state
change is a compare-and-set on the state read), ``exchange_credentials`` (issued credentials and their
status-list index, revocation) and ``exchange_ouranos`` (the Ouranos-compatible records and the Digital
Twin Registry's shells, JSON documents by kind and id).

Functions take the connection of the caller's transaction (``store.read()``/``store.write()``) and
values as stored (JSON already as text); rows come back as records with attribute access, named by
their columns.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import bindparam, func, insert, or_, select, update

from .exchange_tables import exchange_credentials, exchange_negotiations, exchange_ouranos, exchange_transfers

# Hot statements, built once (building a statement costs more CPU than running it on SQLite).
_N, _T, _O = exchange_negotiations, exchange_transfers, exchange_ouranos
_NEG_BY_PID = select(_N).where(_N.c.pid == bindparam("k_pid"))
_NEG_BY_PID_ROLE = _NEG_BY_PID.where(_N.c.role == bindparam("k_role"))
_NEG_BY_AGREEMENT = select(_N).where(_N.c.agreement_id == bindparam("k_agreement"), _N.c.role == bindparam("k_role"))
_TR_BY_PID = select(_T).where(_T.c.pid == bindparam("k_pid"))
_TR_BY_PID_ROLE = _TR_BY_PID.where(_T.c.role == bindparam("k_role"))
_NEG_INSERT = insert(_N)
_TR_INSERT = insert(_T)
_NEG_MOVE = update(_N).where(_N.c.pid == bindparam("k_pid"), _N.c.state == bindparam("k_from"))
_TR_MOVE = update(_T).where(_T.c.pid == bindparam("k_pid"), _T.c.state == bindparam("k_from"))


# ------------------------------------------------------------------ negotiations
def insert_negotiation(conn: Any, row: dict[str, Any]) -> None:
    """A new negotiation row (every column of ``exchange_negotiations``)."""
    conn.execute(_NEG_INSERT, row)


def negotiation(conn: Any, pid: str, role: str | None = None) -> Any:
    """The negotiation row with ``pid`` (and ``role``, when given), ``None`` if there is none."""
    if role:
        return conn.execute(_NEG_BY_PID_ROLE, {"k_pid": pid, "k_role": role}).first()
    return conn.execute(_NEG_BY_PID, {"k_pid": pid}).first()


def negotiation_by_agreement(conn: Any, agreement_id: str, role: str) -> Any:
    """The ``role`` side's negotiation row that made agreement ``agreement_id``, ``None`` if there is none."""
    return conn.execute(_NEG_BY_AGREEMENT, {"k_agreement": agreement_id, "k_role": role}).first()


def latest_negotiations(conn: Any, limit: int) -> list[Any]:
    """The ``limit`` negotiation rows created last, newest first."""
    return conn.execute(select(_N).order_by(_N.c.created_at.desc()).limit(limit)).all()


def move_negotiation(conn: Any, pid: str, from_state: str, values: Mapping[str, Any]) -> bool:
    """Set ``values`` (columns, ``state`` among them) on negotiation ``pid`` if it is still in ``from_state``;
    whether it was."""
    return conn.execute(_NEG_MOVE, {"k_pid": pid, "k_from": from_state, **values}).rowcount == 1


# --------------------------------------------------------------------- transfers
def insert_transfer(conn: Any, row: dict[str, Any]) -> None:
    """A new transfer row (every column of ``exchange_transfers``)."""
    conn.execute(_TR_INSERT, row)


def transfer(conn: Any, pid: str, role: str | None = None) -> Any:
    """The transfer row with ``pid`` (and ``role``, when given), ``None`` if there is none."""
    if role:
        return conn.execute(_TR_BY_PID_ROLE, {"k_pid": pid, "k_role": role}).first()
    return conn.execute(_TR_BY_PID, {"k_pid": pid}).first()


def latest_transfers(conn: Any, limit: int) -> list[Any]:
    """The ``limit`` transfer rows created last, newest first."""
    return conn.execute(select(_T).order_by(_T.c.created_at.desc()).limit(limit)).all()


def move_transfer(conn: Any, pid: str, from_state: str, values: Mapping[str, Any]) -> bool:
    """Set ``values`` (columns, ``state`` among them) on transfer ``pid`` if it is still in ``from_state``;
    whether it was."""
    return conn.execute(_TR_MOVE, {"k_pid": pid, "k_from": from_state, **values}).rowcount == 1


def set_peer_pid(conn: Any, kind: str, pid: str, peer_pid: str) -> None:
    """Record the counterparty's pid on process ``pid`` (``kind`` negotiation, else transfer) unless one
    is recorded already."""
    t = _N if kind == "negotiation" else _T
    conn.execute(update(t).where(t.c.pid == pid, t.c.peer_pid.is_(None)).values(peer_pid=peer_pid))


# ------------------------------------------------------------------- credentials
def next_status_index(conn: Any, status_list: str) -> int:
    """The first free index of a status list (one above the highest given)."""
    return conn.execute(select(func.coalesce(func.max(exchange_credentials.c.status_index), -1) + 1)
                        .where(exchange_credentials.c.status_list == status_list)).scalar_one()


def insert_credential(conn: Any, row: dict[str, Any]) -> None:
    """An issued credential's row (columns of ``exchange_credentials``)."""
    conn.execute(insert(exchange_credentials), row)


def credential_status_index(conn: Any, cid: str) -> int | None:
    """The status-list index of credential ``cid``, ``None`` if it was not issued here."""
    row = conn.execute(select(exchange_credentials.c.status_index).where(exchange_credentials.c.id == cid)).first()
    return None if row is None else row.status_index


def revoke_credential(conn: Any, cid: str, at: str) -> None:
    """Mark credential ``cid`` revoked at ``at`` unless it is revoked already."""
    conn.execute(update(exchange_credentials).where(exchange_credentials.c.id == cid,
                                                    exchange_credentials.c.revoked_at.is_(None))
                 .values(revoked_at=at))


def revoked_indexes(conn: Any, status_list: str) -> list[int]:
    """The indexes of a status list's revoked credentials."""
    rows = conn.execute(select(exchange_credentials.c.status_index).where(
        exchange_credentials.c.status_list == status_list,
        or_(exchange_credentials.c.revoked_at.is_not(None)))).all()
    return [r.status_index for r in rows]


# ------------------------------------------------------------------- documents (Ouranos, DTR)
def put_document(conn: Any, kind: str, rid: str, values: Mapping[str, Any]) -> None:
    """Create or replace the document (``kind``, ``rid``) with ``values`` (operator_id, trace_id, body as
    JSON text, updated_at)."""
    exists = conn.execute(select(_O.c.id).where(_O.c.kind == kind, _O.c.id == rid)).first()
    if exists:
        conn.execute(update(_O).where(_O.c.kind == kind, _O.c.id == rid).values(**values))
    else:
        conn.execute(insert(_O), {"kind": kind, "id": rid, **values})


def document(conn: Any, kind: str, rid: str) -> tuple[str, str] | None:
    """The document (``kind``, ``rid``) as (operator_id, body as JSON text), ``None`` if there is none."""
    row = conn.execute(select(_O.c.operator_id, _O.c.body).where(_O.c.kind == kind, _O.c.id == rid)).first()
    return None if row is None else (row.operator_id, row.body)


def documents(conn: Any, kind: str, where: Mapping[str, str]) -> list[tuple[str, str]]:
    """The documents of ``kind`` whose columns equal ``where`` (e.g. ``operator_id``, ``trace_id``), oldest
    change first, as (operator_id, body as JSON text)."""
    q = select(_O.c.operator_id, _O.c.body).where(_O.c.kind == kind)
    for k, v in where.items():
        q = q.where(getattr(_O.c, k) == v)
    return [(r.operator_id, r.body) for r in conn.execute(q.order_by(_O.c.updated_at)).all()]
