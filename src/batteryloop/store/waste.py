"""What the recycled-origin rule reads of stored lots (``trace.policy.WasteShares``): each lot with the kind of
the event that made it, and its lot edges (the kg of each input in it)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from .trace_tables import trace_events as E
from .trace_tables import trace_lot_edges as ED
from .trace_tables import trace_lots as L


def lot_facts(conn: Any, ids: list[str]) -> list[tuple[Any, list[tuple[str, float]]]]:
    """(row of id, kind, mass_kg, elements (JSON text), origin_type, producer, event_kind; its edges as
    (input lot, kg)) for the stored lots among ``ids``."""
    out: list[tuple[Any, list[tuple[str, float]]]] = []
    for n in range(0, len(ids), 500):
        chunk = ids[n:n + 500]
        rows = conn.execute(select(L.c.id, L.c.kind, L.c.mass_kg, L.c.elements, L.c.origin_type, L.c.producer,
                                   E.c.kind.label("event_kind")).join(E, E.c.id == L.c.event_id)
                            .where(L.c.id.in_(chunk))).all()
        edges: dict[str, list[tuple[str, float]]] = {}
        for r in conn.execute(select(ED.c.output_id, ED.c.input_id, ED.c.mass_kg).where(ED.c.output_id.in_(chunk))
                              .order_by(ED.c.output_id, ED.c.input_id)):
            edges.setdefault(r.output_id, []).append((r.input_id, r.mass_kg))
        out += [(r, edges.get(r.id, [])) for r in rows]
    return out
