"""Recall through recycling without visiting every pack it reaches: jumps over packs (``trace_recall_jumps``).

The recall walk (:mod:`batteryloop.store.trace_queries`) follows *arcs*: lot edges that do not lead into a
module, and pack sources (a pack's modules' inputs and its other direct inputs). Through recycling, most of
what a recall reaches are packs, and most packs are leaves — nothing consumed them; the walk of before
looked up every one of them for arcs out (16,800 packs, four index probes each, from the first 2019 mine lot
of the registry bench). A pack that *was* consumed (recycled into black mass, built into another pack) is
where the walk goes on, and that is what this table keeps: for every arc ``P -> Y`` that leaves a pack P, a
row ``(Y, t)`` for every lot ``t`` that is not a pack and reaches P through packs only (:func:`in_star`:
P's in-arcs from lots that are not packs, and the jumps into P).

Then, for a walk from lots that are not packs: every lot (not a pack) it reaches is reached by a walk over
lots that are not packs alone, through edges to lots that are neither modules nor packs and jumps to such
lots; and every pack it reaches is one arc or one jump away from a lot of that walk. (A path
``t -> P1 -> … -> Pk -> Y`` through packs is the jump ``(Y, t)``: ``t`` reaches ``Pk`` through packs only;
a path ending in a run of packs ``t -> P1 -> … -> Pk`` ends in an arc from ``t`` (k = 1) or in the jump of
the arc ``Pk-1 -> Pk``.) A walk that starts at a pack first follows arcs from packs to packs (rare: a pack
built from a dismantled pack's modules) and starts the lot walk from the lots they lead to
(:func:`batteryloop.store.trace_queries.recall_via_jumps`). Time order is the arcs' own: an arc always leads
from an older lot to the lot an event made from it, so a jump does too — a jump adds no path the arcs do not
have, and the recall finds exactly the packs the walk of every arc finds (tested on both stores).

**Kept with the ledger.** The arcs into a lot are all made by the event that creates it; so the rows
``(Y, ·)`` are written once, in the transaction that creates ``Y`` (:func:`add`, called by
:func:`batteryloop.store.ledger.append` with the rows it stores), from P's in-arcs (made with P) and the jumps
into P (written with P, in an earlier transaction or earlier in this one) — never changed afterwards, and no
two writers write the same row. :func:`rebuild` recomputes the table from the lot edges and pack sources
alone (migration 0014, the bulk-loaded registry bench); ``Ledger.verify_derived`` recomputes it from the
signed events (:func:`event_jumps`) and reports any difference.

Size: one row per (lot before a consumed pack, where the pack went) — 1,742 rows for 100,000 packs with 30 %
of four model-years recycled (the registry bench: 15,320 consumed packs), under 2 % of ``trace_pack_sources``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from sqlalchemy import insert, select, text

from . import trace_tables as tt

J, L, ED = tt.trace_recall_jumps, tt.trace_lots, tt.trace_lot_edges
Row = tuple[str, str, str]
"""A jump: (target_id, source_id, target_kind)."""


def in_star(pack: str, inputs_of: Callable[[str], Iterable[str]], kind_of: Callable[[str], str | None],
            jumps_into: Callable[[str], Iterable[str]]) -> set[str]:
    """The lots (not packs) that reach ``pack`` through packs only: its in-arcs from lots that are not packs —
    its direct inputs (modules included: a module's edge to its pack is an arc) and the inputs of its
    modules (its pack sources) — and the sources of the jumps into it (what reaches its pack inputs)."""
    out: set[str] = set()
    for i in inputs_of(pack):
        k = kind_of(i)
        if k == "module":
            out.add(i)
            out.update(x for x in inputs_of(i) if kind_of(x) != "pack")
        elif k != "pack":
            out.add(i)
    out.update(jumps_into(pack))
    return out


def event_jumps(arcs: Iterable[Row], kind_of: Callable[[str], str | None], inputs_of: Callable[[str], Iterable[str]],
                jumps_into: Callable[[str], Iterable[str]]) -> set[Row]:
    """The jumps of new arcs ``(source, target, target_kind)``: for each arc whose source is a pack, a row
    ``(target, t, target_kind)`` for every ``t`` in :func:`in_star` of that pack."""
    rows: set[Row] = set()
    for p, y, kind in arcs:
        if kind_of(p) == "pack":
            rows.update((y, t, kind) for t in in_star(p, inputs_of, kind_of, jumps_into))
    return rows


def recall_arcs(edges: Iterable[Mapping[str, Any]], sources: Iterable[Mapping[str, Any]]) -> list[Row]:
    """The recall walk's arcs among rows of ``trace_lot_edges`` and ``trace_pack_sources`` (dicts by column),
    as (from, to, kind of to): edges that do not lead into a module, and pack sources."""
    arcs = [(e["input_id"], e["output_id"], e["output_kind"]) for e in edges if e["output_kind"] != "module"]
    arcs += [(s["source_id"], s["pack_id"], "pack") for s in sources]
    return arcs


def _chunks(items: Iterable[str], size: int = 500) -> Iterable[list[str]]:
    items = sorted(items)
    for k in range(0, len(items), size):
        yield items[k:k + size]


def add(conn: Any, edges: list[dict[str, Any]], sources: list[dict[str, Any]]) -> int:
    """Write the jumps of the lot edges and pack sources just stored in this transaction (rows of
    :func:`batteryloop.store.ledger.append`); returns how many. Nothing is read unless an arc leaves a
    lot: one query for the kinds of the arcs' sources, and three or four more only if one is a pack."""
    arcs = recall_arcs(edges, sources)
    if not arcs:
        return 0
    kind: dict[str, str | None] = {}
    for chunk in _chunks({a[0] for a in arcs}):
        # by primary key, the kind filtered here: with ``kind = ? AND id IN (…)`` SQLite's planner takes the
        # (kind, model) index and reads every pack of the store, once a transaction (120 s of the 100,000-pack
        # pilot's main process, growing with the square of the packs)
        for lid, k in conn.execute(select(L.c.id, L.c.kind).where(L.c.id.in_(chunk))):
            if k == "pack":
                kind[lid] = "pack"
    arcs = [a for a in arcs if a[0] in kind]
    if not arcs:
        return 0
    inputs: dict[str, list[str]] = {}

    def load_inputs(ids: Iterable[str]) -> None:
        for chunk in _chunks(set(ids) - set(inputs)):
            for c in chunk:
                inputs[c] = []
            q = select(ED.c.output_id, ED.c.input_id, L.c.kind).join(L, L.c.id == ED.c.input_id)
            for out_id, in_id, k in conn.execute(q.where(ED.c.output_id.in_(chunk))):
                inputs[out_id].append(in_id)
                kind[in_id] = k

    packs = {a[0] for a in arcs}
    load_inputs(packs)
    load_inputs({i for p in packs for i in inputs[p] if kind.get(i) == "module"})
    into: dict[str, set[str]] = {p: set() for p in packs}
    for chunk in _chunks(packs):
        for y, t in conn.execute(select(J.c.target_id, J.c.source_id).where(J.c.target_id.in_(chunk))):
            into[y].add(t)
    rows: set[Row] = set()
    while True:  # a pack made in this batch from a pack may be consumed in it too: until nothing new
        rows = event_jumps(arcs, kind.get, lambda x: inputs.get(x, ()), lambda x: into.get(x, ()))
        grew = False
        for y, t, _ in rows:
            if y in into and t not in into[y]:
                into[y].add(t)
                grew = True
        if not grew:
            break
    if rows:
        conn.execute(insert(J), [{"target_id": y, "source_id": t, "target_kind": k} for y, t, k in sorted(rows)])
    return len(rows)


# The same definition over whole tables, for a store filled without the ledger (migration 0014, the bulk-loaded
# registry bench): the arcs that leave packs, joined to in_star of their pack; repeated until nothing is new
# (a second pass only adds the jumps over a pack built from a pack's modules).
_REBUILD = text("""
INSERT INTO trace_recall_jumps (target_id, source_id, target_kind)
SELECT DISTINCT a.dst, s.src, a.kind FROM (
    SELECT e.input_id AS p, e.output_id AS dst, e.output_kind AS kind
      FROM trace_lot_edges e JOIN trace_lots pl ON pl.id = e.input_id
     WHERE pl.kind = 'pack' AND e.output_kind <> 'module'
    UNION
    SELECT ps.source_id, ps.pack_id, 'pack'
      FROM trace_pack_sources ps JOIN trace_lots pl ON pl.id = ps.source_id WHERE pl.kind = 'pack'
  ) a JOIN (
    SELECT e.output_id AS p, e.input_id AS src
      FROM trace_lot_edges e JOIN trace_lots il ON il.id = e.input_id
     WHERE e.output_kind = 'pack' AND il.kind <> 'pack'
    UNION
    SELECT e.output_id, e2.input_id
      FROM trace_lot_edges e JOIN trace_lots m ON m.id = e.input_id
      JOIN trace_lot_edges e2 ON e2.output_id = e.input_id JOIN trace_lots il ON il.id = e2.input_id
     WHERE e.output_kind = 'pack' AND m.kind = 'module' AND il.kind <> 'pack'
    UNION
    SELECT j.target_id, j.source_id FROM trace_recall_jumps j
  ) s ON s.p = a.p
WHERE NOT EXISTS (SELECT 1 FROM trace_recall_jumps x WHERE x.target_id = a.dst AND x.source_id = s.src)
""")


def rebuild(conn: Any) -> int:
    """Empty ``trace_recall_jumps`` and fill it again from the lot edges and pack sources (in the caller's
    transaction); returns the number of rows."""
    conn.execute(J.delete())
    n = 0
    while True:
        got = conn.execute(_REBUILD).rowcount
        n += got
        if not got:
            return n


def stored(conn: Any) -> set[Row]:
    """Every stored jump as (target_id, source_id, target_kind)."""
    return {(r[0], r[1], r[2]) for r in conn.execute(select(J.c.target_id, J.c.source_id, J.c.target_kind))}
