"""The ledger repository: what :mod:`batteryloop.trace.ledger` reads and writes.

Writes: event rows (``trace_events``), chain links (``trace_chain``), lots, lot edges, pack sources and
consumed masses (``trace_lots``, ``trace_lot_edges``, ``trace_pack_sources``), custody states
(``trace_custody``) — appended in bulk, once per admitted chunk. Reads: the admission's prefetches
(chain heads, lots, lot inputs, custody, and of the shared registry the participants' roles and the
passports' operators and manufacture dates; keys and delegations come from :mod:`.participants` and
:mod:`.relations`, which map those tables), the reading of events and chains,
and what verification compares (events by store sequence, chain links, the derived tables).

Functions take the connection of the caller's transaction (``store.read()``/``store.write()``); the
ledger decides what one transaction holds. Rows come back as records with attribute access, named by
their columns. :func:`append_transaction` is the ledger's write transaction: it turns the database's
errors into :class:`~batteryloop.store.errors.IntegrityViolation` (a key collided) and
:class:`TransientStoreError`, so that the ledger can retry.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import orjson
from sqlalchemy import bindparam, func, select, update
from sqlalchemy.exc import DBAPIError

from . import bulk, trace_reach, trace_tables as tt
from .db import Store, is_transient
from .errors import translated
from .tables import participants, passports

E, C, L, ED, CU = tt.trace_events, tt.trace_chain, tt.trace_lots, tt.trace_lot_edges, tt.trace_custody
PS = tt.trace_pack_sources


class TransientStoreError(Exception):
    """A failure that running the same transaction again may cure (a deadlock, a serialization failure,
    SQLite busy): see :func:`batteryloop.store.db.is_transient`."""

    def __init__(self, orig: Any) -> None:
        super().__init__(str(orig))
        self.orig = orig


@contextmanager
def append_transaction(store: Store) -> Iterator[Any]:
    """One write transaction (:meth:`Store.write`) whose key collisions — another writer (PostgreSQL) took
    a chain position or a store sequence number first — raise
    :class:`~batteryloop.store.errors.IntegrityViolation` and whose transient failures raise
    :class:`TransientStoreError`, commit included; other database errors pass unchanged."""
    try:
        with translated(), store.write() as conn:
            yield conn
    except DBAPIError as exc:
        if not is_transient(exc):
            raise
        raise TransientStoreError(exc.orig) from exc


def _chunks(items: list[str], size: int = 500) -> Iterator[list[str]]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


# ------------------------------------------------------------------ participants, passports
def public_key_row(conn: Any, participant_id: str) -> Any:
    """The participant's row (``.public_key``, text or ``None``), or ``None`` if it is not registered."""
    return conn.execute(select(participants.c.public_key).where(participants.c.id == participant_id)).first()


def roles_text(conn: Any, participant_id: str) -> str | None:
    """The participant's roles as stored (a JSON list), ``None`` if it is not registered."""
    row = conn.execute(select(participants.c.roles).where(participants.c.id == participant_id)).first()
    return row.roles if row else None


def all_roles(conn: Any) -> dict[str, frozenset[str]]:
    """Every registered participant's roles."""
    return {r.id: frozenset(orjson.loads(r.roles)) for r in conn.execute(select(participants.c.id, participants.c.roles))}


def passport_births(conn: Any, ids: Iterable[str]) -> list[Any]:
    """The passports among ``ids`` (at most 500): rows of ``id``, ``economic_operator_id``, ``manufacture_date``."""
    # manufacture_date as the driver gives it (text on SQLite, a date on PostgreSQL): readers take either
    return bulk.select_in(conn, "passport-births", lambda ps: select(
        passports.c.id, passports.c.economic_operator_id, passports.c.manufacture_date).where(passports.c.id.in_(ps)),
        list(ids))


# ------------------------------------------------------------------ admission: reads
def max_gseq(conn: Any) -> int:
    """The highest store sequence number (0 for an empty ledger)."""
    return conn.execute(select(func.max(E.c.gseq))).scalar() or 0


def stored_hash_at(conn: Any, gseq: int) -> str | None:
    """The hash of the event at store sequence ``gseq`` (``None``: none there)."""
    return conn.execute(select(E.c.hash).where(E.c.gseq == gseq)).scalar()


def stored_hashes(conn: Any, ids: list[str]) -> dict[str, str]:
    """Event id -> stored hash, for the ids among ``ids`` that are stored."""
    return {r.id: r.hash for r in bulk.select_in(conn, "stored-hashes",
                                                 lambda ps: select(E.c.id, E.c.hash).where(E.c.id.in_(ps)), ids)}


def stored_hash(conn: Any, event_id: str) -> str | None:
    """The stored hash of one event, ``None`` if it is not stored."""
    return conn.execute(select(E.c.hash).where(E.c.id == event_id)).scalar()


def head(conn: Any, subject: str) -> tuple[int, str] | None:
    """The last link of a subject's chain as (seq, event hash); ``None`` for a subject with no events."""
    row = conn.execute(select(C.c.seq, C.c.event_hash).where(C.c.subject == subject)
                       .order_by(C.c.seq.desc()).limit(1)).first()
    return (row.seq, row.event_hash) if row else None


def heads(conn: Any, subjects: list[str]) -> dict[str, tuple[int, str]]:
    """The last link of each subject's chain as (seq, event hash); subjects with no events are absent."""
    c2 = C.alias("c2")
    latest = (select(func.max(c2.c.seq)).where(c2.c.subject == C.c.subject).scalar_subquery())
    return {r.subject: (r.seq, r.event_hash) for r in bulk.select_in(
        conn, "chain-heads", lambda ps: select(C.c.subject, C.c.seq, C.c.event_hash)
        .where(C.c.subject.in_(ps), C.c.seq == latest), subjects)}


def lots(conn: Any, ids: list[str]) -> list[Any]:
    """The stored lots among ``ids``: rows of id, kind, mass_kg, consumed_kg, elements (JSON text),
    produced_at, producer."""
    return bulk.select_in(conn, "lots", lambda ps: select(
        L.c.id, L.c.kind, L.c.mass_kg, L.c.consumed_kg, L.c.elements, L.c.produced_at, L.c.producer)
        .where(L.c.id.in_(ps)), ids)


def lot(conn: Any, lot_id: str) -> Any:
    """One stored lot (id, kind, mass_kg, consumed_kg, elements as JSON text), ``None`` if there is none."""
    return conn.execute(select(L.c.id, L.c.kind, L.c.mass_kg, L.c.consumed_kg, L.c.elements)
                        .where(L.c.id == lot_id)).first()


def lot_inputs(conn: Any, output_ids: list[str]) -> list[tuple[str, str]]:
    """(output, input) for every stored edge out of the lots ``output_ids`` (at most 500)."""
    return [(r.output_id, r.input_id)
            for r in conn.execute(select(ED.c.output_id, ED.c.input_id).where(ED.c.output_id.in_(output_ids)))]


def inputs_of(conn: Any, lot_id: str) -> list[str]:
    """The input lots of one stored lot."""
    return [r.input_id for r in conn.execute(select(ED.c.input_id).where(ED.c.output_id == lot_id))]


def custody_states(conn: Any, subjects: list[str]) -> dict[str, dict[str, Any]]:
    """The custody rows (as dicts by column) of the subjects among ``subjects`` that have one."""
    return {r.subject: dict(r._mapping) for r in bulk.select_in(
        conn, "custody-states", lambda ps: select(CU).where(CU.c.subject.in_(ps)), subjects)}


def custody_state(conn: Any, subject: str) -> dict[str, Any] | None:
    """One subject's custody row as a dict by column, ``None`` if it has none."""
    row = conn.execute(select(CU).where(CU.c.subject == subject)).first()
    return None if row is None else dict(row._mapping)


# ------------------------------------------------------------------ admission: writes
_CUSTODY_COLS = ("holder", "country", "status", "last_event_id", "last_kind", "last_event_at", "exported_to")


def _bulk_update_custody(conn: Any, rows: list[dict[str, Any]]) -> None:
    bulk.execute_many(conn, "custody-update", lambda: update(CU).where(CU.c.subject == bindparam("b_subject")).values(
        {c: bindparam("b_" + c) for c in _CUSTODY_COLS}),
        [{"b_" + k: r[k] for k in (*_CUSTODY_COLS, "subject")} for r in rows])


def append(conn: Any, *, events: list[dict[str, Any]], chain: list[dict[str, Any]], lots: list[dict[str, Any]],
           edges: list[dict[str, Any]], sources: list[dict[str, Any]], consumed: Mapping[str, float],
           custody_new: list[dict[str, Any]], custody_changed: list[dict[str, Any]]) -> None:
    """Store a chunk of admitted events: rows of events, chain links, new lots, lot edges and pack sources
    (each a dict by column), the consumed mass of lots stored before (lot id -> kg), and custody rows
    new and changed. One statement per table; nothing is written for an empty list. Recall's jumps over
    packs (:mod:`.trace_reach`) are written here too, from the edges and pack sources."""
    # chain links, lots, edges and custody rows in key order: a big store's inserts then land on its index pages
    # one after another, not at random (the same rows)
    chain = sorted(chain, key=lambda r: (r["subject"], r["seq"]))
    lots = sorted(lots, key=lambda r: r["id"])
    edges = sorted(edges, key=lambda r: (r["output_id"], r["input_id"]))
    custody_new = sorted(custody_new, key=lambda r: r["subject"])
    for table, rows in ((E, events), (C, chain), (L, lots), (ED, edges), (PS, sources)):
        if rows:
            bulk.insert_many(conn, table, rows)  # compiled once: plain str/float/int values
    if edges or sources:  # recall's jumps over the packs these arcs leave (one query unless a pack was consumed)
        trace_reach.add(conn, edges, sources)
    if consumed:
        bulk.execute_many(conn, "lot-consumed", lambda: update(L).where(L.c.id == bindparam("b_id")).values(
            consumed_kg=bindparam("b_kg")), [{"b_id": lot_id, "b_kg": kg} for lot_id, kg in sorted(consumed.items())])
    if custody_new:
        bulk.insert_many(conn, CU, custody_new)
    if custody_changed:  # one row per subject: in key order too
        _bulk_update_custody(conn, sorted(custody_changed, key=lambda r: r["subject"]))


# ------------------------------------------------------------------ reading events and chains
def event(conn: Any, event_id: str) -> Any:
    """One event row (every column of ``trace_events``), ``None`` if it is not stored."""
    return conn.execute(select(E).where(E.c.id == event_id)).first()


def events(conn: Any, ids: list[str]) -> list[Any]:
    """The event rows (every column) of the stored events among ``ids``."""
    out: list[Any] = []
    for chunk in _chunks(ids):
        out += conn.execute(select(E).where(E.c.id.in_(chunk))).all()
    return out


def chain_events(conn: Any, subject: str) -> list[Any]:
    """A subject's chain in order: rows of seq, prev_hash, event_hash and the event's body and signature."""
    return conn.execute(select(C.c.seq, C.c.prev_hash, C.c.event_hash, E.c.body, E.c.signature)
                        .join(E, E.c.id == C.c.event_id).where(C.c.subject == subject)
                        .order_by(C.c.seq)).all()


def events_after(conn: Any, after: int, limit: int, subject: str | None = None) -> list[Any]:
    """Up to ``limit`` events with a store sequence number above ``after``, in store order: rows of
    gseq, body, signature, recorded_at. With ``subject``, only the events of that subject's chain."""
    q = select(E.c.gseq, E.c.body, E.c.signature, E.c.recorded_at).where(E.c.gseq > after)
    if subject is not None:
        q = q.where(E.c.id.in_(select(C.c.event_id).where(C.c.subject == subject)))
    return conn.execute(q.order_by(E.c.gseq).limit(limit)).all()


# ------------------------------------------------------------------ verification
def links_of_event(conn: Any, event_id: str) -> list[Any]:
    """The chain links (every column of ``trace_chain``) that name one event."""
    return conn.execute(select(C).where(C.c.event_id == event_id)).all()


def link_hash(conn: Any, subject: str, seq: int) -> str | None:
    """The event hash of a subject's link at position ``seq``, ``None`` if there is no such link."""
    row = conn.execute(select(C.c.event_hash).where(C.c.subject == subject, C.c.seq == seq)).first()
    return row.event_hash if row else None


def chain_links(conn: Any, subject: str) -> list[Any]:
    """A subject's chain links (every column of ``trace_chain``) in order."""
    return conn.execute(select(C).where(C.c.subject == subject).order_by(C.c.seq)).all()


def all_chain_links(conn: Any) -> Iterable[Any]:
    """Every chain link (subject, seq, event_id, prev_hash, event_hash) by subject and position, streamed:
    read it before the transaction ends."""
    return conn.execute(select(C.c.subject, C.c.seq, C.c.event_id, C.c.prev_hash, C.c.event_hash)
                        .order_by(C.c.subject, C.c.seq))


def events_in_range(conn: Any, lo: int, hi: int) -> list[Any]:
    """The events with store sequence in [lo, hi], in order: rows of gseq, id, hash, body, signature, kind,
    actor, occurred_at, country."""
    return conn.execute(select(E.c.gseq, E.c.id, E.c.hash, E.c.body, E.c.signature, E.c.kind, E.c.actor,
                               E.c.occurred_at, E.c.country)
                        .where(E.c.gseq >= lo, E.c.gseq <= hi).order_by(E.c.gseq)).all()


def links_in_range(conn: Any, lo: int, hi: int) -> list[Any]:
    """The chain links (event_id, subject, seq, prev_hash, event_hash) of the events with store sequence
    in [lo, hi]."""
    return conn.execute(select(C.c.event_id, C.c.subject, C.c.seq, C.c.prev_hash, C.c.event_hash)
                        .join(E, E.c.id == C.c.event_id).where(E.c.gseq >= lo, E.c.gseq <= hi)).all()


_EVENT_COLS = (E.c.gseq, E.c.id, E.c.hash, E.c.body, E.c.signature, E.c.kind, E.c.actor, E.c.occurred_at, E.c.country,
               E.c.recorded_at)


def event_tuples_in_range(conn: Any, lo: int, hi: int) -> list[tuple[Any, ...]]:
    """Every column of the events with store sequence in [lo, hi], in order, as plain tuples (gseq, id, hash, body,
    signature, kind, actor, occurred_at, country, recorded_at), read through the driver: the verification behind
    the ledger reads every event."""
    return bulk.fetch_tuples(conn, "event-range", lambda: select(*_EVENT_COLS).where(
        E.c.gseq >= bindparam("lo"), E.c.gseq <= bindparam("hi")).order_by(E.c.gseq), {"lo": lo, "hi": hi})


def link_tuples_in_range(conn: Any, lo: int, hi: int) -> list[tuple[Any, ...]]:
    """The chain links (event_id, subject, seq, prev_hash, event_hash) of the events with store sequence in
    [lo, hi], by the event's store sequence and subject, as plain tuples read through the driver."""
    return bulk.fetch_tuples(conn, "link-range", lambda: select(
        C.c.event_id, C.c.subject, C.c.seq, C.c.prev_hash, C.c.event_hash).join(E, E.c.id == C.c.event_id).where(
        E.c.gseq >= bindparam("lo"), E.c.gseq <= bindparam("hi")).order_by(E.c.gseq, C.c.subject), {"lo": lo, "hi": hi})


def count_links(conn: Any) -> int:
    """How many chain links are stored (those of stored events and any others)."""
    return conn.execute(select(func.count()).select_from(C)).scalar() or 0


def all_passport_births(conn: Any) -> Iterable[Any]:
    """Every passport's ``id``, ``economic_operator_id``, ``manufacture_date``, streamed (read it before the
    transaction ends)."""
    return conn.execute(select(passports.c.id, passports.c.economic_operator_id, passports.c.manufacture_date))


def derived_tables(conn: Any) -> tuple[dict[str, dict[str, Any]], dict[tuple[str, str], dict[str, Any]],
                                       dict[tuple[str, str], dict[str, Any]], dict[str, dict[str, Any]]]:
    """The tables the ledger derives from the events, as dicts by column: lots by id, lot edges by
    (output, input), pack sources by (source, pack), custody by subject."""
    stored_lots = {r.id: dict(r._mapping) for r in conn.execute(select(L))}
    stored_edges = {(r.output_id, r.input_id): dict(r._mapping) for r in conn.execute(select(ED))}
    stored_sources = {(r.source_id, r.pack_id): dict(r._mapping) for r in conn.execute(select(PS))}
    stored_custody = {r.subject: dict(r._mapping) for r in conn.execute(select(CU))}
    return stored_lots, stored_edges, stored_sources, stored_custody
