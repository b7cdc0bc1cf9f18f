"""The as-built bill of materials: a lot's direct inputs, read from the ledger's ``trace_lot_edges`` and
``trace_lots`` tables (which the ledger writes; nothing here writes).

Functions take the connection of the caller's transaction.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select

from .trace_tables import trace_lot_edges, trace_lots


def produced_at(conn: Connection, lot_id: str) -> Any | None:
    """When the ledger says the lot was produced (``None``: the ledger does not know the lot)."""
    row = conn.execute(select(trace_lots.c.produced_at).where(trace_lots.c.id == lot_id)).first()
    return None if row is None else row.produced_at


def direct_inputs(conn: Connection, lot_id: str) -> list[dict[str, Any]]:
    """The lot's inputs one tier down, by id: ``{id, mass_kg, kind, producer, produced_at, model_id}`` each."""
    e, lots = trace_lot_edges, trace_lots
    rows = conn.execute(
        select(e.c.input_id, e.c.mass_kg, lots.c.kind, lots.c.producer, lots.c.produced_at, lots.c.model_id)
        .join(lots, lots.c.id == e.c.input_id).where(e.c.output_id == lot_id).order_by(e.c.input_id)).all()
    return [{"id": r.input_id, "mass_kg": r.mass_kg, "kind": r.kind, "producer": r.producer,
             "produced_at": r.produced_at, "model_id": r.model_id} for r in rows]
