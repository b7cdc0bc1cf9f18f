"""Recall and lineage as the registry bench runs them (issue 19), on a generated ledger with recycling runs whose
recovered lots feed later packs, on both stores: the fast walks (through recycling over lots and the jumps over
consumed packs, migration 0014; stopping at recovered lots on PostgreSQL one statement carrying the lot rows and
not looking past packs nothing consumed) find exactly the packs an independent walk over the generated rows
finds, and the walk of before finds — through recycling, and stopping at recovered lots when asked."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import pytest
from sqlalchemy import insert

from batteryloop.errors import NotFound
from batteryloop.identity import ParticipantService
from batteryloop.sim.registry_bulk import COLUMNS, RegistryGenerator
from batteryloop.sim.supply_chain import demo_signers, register_participants
from batteryloop.store import trace_reach
from batteryloop.store import trace_tables as tt
from batteryloop.trace.queries import TraceQueries

TRACE_TABLES = ("trace_events", "trace_chain", "trace_lots", "trace_lot_edges", "trace_pack_sources", "trace_custody")


def generated(n: int = 240) -> dict[str, list[tuple[Any, ...]]]:
    rows: dict[str, list[tuple[Any, ...]]] = {t: [] for t in COLUMNS}
    for chunk in RegistryGenerator(n, packs_per_batch=10, eol_share=0.6, chunk_passports=80).chunks():
        for t, r in chunk.rows.items():
            rows[t] += r
    return rows


def load(store: Any, gen: dict[str, list[tuple[Any, ...]]]) -> None:
    register_participants(ParticipantService(store), demo_signers())
    ev = [(k + 1, *r[1:7], "2026-12-01T00:00:00.000000Z", *r[8:]) for k, r in enumerate(gen["trace_events"])]
    with store.write() as conn:
        for t in TRACE_TABLES:
            rows = ev if t == "trace_events" else gen[t]
            conn.execute(insert(getattr(tt, t)), [dict(zip(COLUMNS[t], r)) for r in rows])
        trace_reach.rebuild(conn)  # rows written without the ledger: recall's jumps over packs from the arcs


def independent_recall(gen: dict[str, list[tuple[Any, ...]]], start: str, through_recycling: bool) -> list[str]:
    """Packs downstream of ``start`` over the generated rows: lot edges (not into modules) and pack sources;
    without recycling, no step out of a lot with an origin other than ``start``."""
    col = {c: i for i, c in enumerate(COLUMNS["trace_lots"])}
    kind = {r[0]: r[col["kind"]] for r in gen["trace_lots"]}
    origin = {r[0]: r[col["origin_type"]] for r in gen["trace_lots"]}
    out: dict[str, set[str]] = defaultdict(set)
    for o, i, ok, _, _ in gen["trace_lot_edges"]:
        if ok != "module":
            out[i].add(o)
    for src, pack in gen["trace_pack_sources"]:
        out[src].add(pack)
    seen, todo = {start}, [start]
    while todo:
        x = todo.pop()
        if not through_recycling and x != start and origin[x] is not None:
            continue
        for y in out[x] - seen:
            seen.add(y)
            todo.append(y)
    return sorted(x for x in seen if kind[x] == "pack")


def test_recall_and_lineage_fast_walks_equal_independent_walks(store: Any) -> None:
    gen = generated()
    load(store, gen)
    q = TraceQueries(store)
    col = {c: i for i, c in enumerate(COLUMNS["trace_lots"])}
    ores = [r[0] for r in gen["trace_lots"] if r[col["kind"]] == "ore"]
    recovered = [r[0] for r in gen["trace_lots"] if r[col["origin_type"]] == "post_consumer"]
    packs = sorted(r[0] for r in gen["trace_lots"] if r[col["kind"]] == "pack")
    assert len(ores) >= 3 and len(recovered) >= 3
    made = {r[0]: r[col["produced_at"]] for r in gen["trace_lots"]}
    longer = 0
    for lot in ores + recovered[:3] + packs[:3]:
        want = independent_recall(gen, lot, True)
        got = q.recall(lot)  # over lots and the jumps over consumed packs (migration 0014)
        assert [p["pack"] for p in got["packs"]] == want, lot
        assert got == q.recall(lot, method="walk"), lot  # the walk of before: every arc, skipping modules
        assert got == q.recall(lot, exhaustive=True), lot  # every edge, modules included, the slow walk
        # time order: material reaches only packs made after the lot (recovered material never earlier packs)
        assert all(p["produced_at"] >= made[lot] for p in got["packs"]), lot
        page = q.recall(lot, limit=25, offset=10)
        assert page["packs"] == got["packs"][10:35] and page["count"] == got["count"], lot
        first = independent_recall(gen, lot, False)
        got1 = q.recall(lot, through_recycling=False)
        assert [p["pack"] for p in got1["packs"]] == first and got1["through_recycling"] is False, lot
        assert got1["packs"] == q.recall(lot, exhaustive=True, through_recycling=False)["packs"], lot
        longer += len(want) > len(first)
    assert longer >= 2, "recycling should carry some mine lots into later packs"
    # every pack's row carries its custody (holder), as the service's answer always did
    r = q.recall(ores[0])
    assert r["count"] == len(r["packs"]) and sum(r["holders"].values()) == r["count"]
    assert all(p["holder"] for p in r["packs"])
    site = next(r[col["origin_site"]] for r in gen["trace_lots"] if r[col["kind"]] == "ore")
    by_site = q.recall(site, by="site")
    want_site = sorted({p for r in gen["trace_lots"] if r[col["origin_site"]] == site or r[col["site"]] == site
                        for p in independent_recall(gen, r[0], True)})
    assert [p["pack"] for p in by_site["packs"]] == want_site
    with pytest.raises(NotFound):
        q.recall("no-such-lot")
    with pytest.raises(NotFound):
        q.lineage("no-such-pack")
    # lineage: on PostgreSQL one statement (lots and their input edges together) gives what the read
    # transaction's two walks give; on SQLite both are the same path
    slow = TraceQueries(store)
    slow._walks = None
    for p in packs[::20] + packs[-3:]:
        lin = q.lineage(p)
        assert lin == slow.lineage(p), p
        for el, shares in lin["origin_share"].items():
            assert sum(shares.values()) == pytest.approx(1.0, abs=1e-5), (p, el)
