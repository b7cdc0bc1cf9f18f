"""Recall through recycling over lots and the jumps over consumed packs (``trace_recall_jumps``, migration 0014)
finds exactly the packs the walk of every arc finds, on both stores.

The material graphs here are random and hold every shape an arc can take — modules (edges into them are no
arcs; a module's edge to its pack is), packs recycled into black mass whose recovered lots feed later
cathodes, packs dismantled into modules built into later packs (pack to pack through pack sources), a pack
built straight into another pack, a pack made and consumed in the same appended batch — and are appended in
random batches through the ledger's own ``append`` (which writes the jumps). Then: the stored jumps equal the
jumps rebuilt from the arcs (``trace_reach.rebuild``, migration 0014's statement) and those recomputed in
creation order (``event_jumps``, what ``Ledger.verify_derived`` recomputes from the signed events); and from
every lot, and from sites and suppliers, the recall over jumps gives what the walk of before gives
(``method="walk"``), what the walk of every edge gives (``exhaustive``) and what an independent walk over
the generated arcs gives — whole, and page by page."""

from __future__ import annotations

import random
from collections import defaultdict
from typing import Any

import pytest
from sqlalchemy import delete

from batteryloop.errors import InvalidData, NotFound
from batteryloop.store import ledger as ledger_repo
from batteryloop.store import trace_reach
from batteryloop.store import trace_tables as tt
from batteryloop.trace.lots import pack_sources
from batteryloop.trace.queries import TraceQueries


class Graph:
    """A random material graph made event by event: lots, edges and pack sources as the ledger derives them."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.kind: dict[str, str] = {}
        self.inputs_of: dict[str, list[str]] = {}
        self.events: list[dict[str, list[dict[str, Any]]]] = []
        self.n = 0

    def _new(self, kind: str, site: str, producer: str, origin: str | None = None) -> dict[str, Any]:
        self.n += 1
        lid = f"{kind}-{self.n:04d}"
        self.kind[lid] = kind
        return {"id": lid, "kind": kind, "mass_kg": 10.0, "consumed_kg": 0.0, "elements": "{}", "material": None,
                "model_id": "M1" if kind == "pack" else None, "origin_type": origin,
                "origin_country": "CL" if origin else None, "origin_site": f"mine-{self.n % 3}" if origin else None,
                "certified_by": "BPNLRECYCLER" if origin == "post_consumer" else None, "producer": producer,
                "site_country": "DE", "site": site, "produced_at": f"2026-01-01T00:00:{self.n % 60:02d}.{self.n:06d}Z",
                "event_id": f"ev-{self.n:04d}"}

    def event(self, inputs: list[str], outs: list[tuple[str, str, str, str | None]]) -> list[str]:
        lots = [self._new(k, site, prod, origin) for k, site, prod, origin in outs]
        eid = f"ev-{len(self.events):04d}"
        edges = [{"output_id": o["id"], "input_id": i, "output_kind": o["kind"], "mass_kg": 1.0, "event_id": eid}
                 for o in lots for i in inputs]
        sources: list[dict[str, Any]] = []
        for o in lots:
            self.inputs_of[o["id"]] = list(inputs)
            if o["kind"] == "pack":
                sources += pack_sources(o["id"], inputs, self.kind.get, lambda i: self.inputs_of.get(i, []))
        custody = [{"subject": o["id"], "holder": self.rng.choice(["BPNLA", "BPNLB", None]), "country": "DE",
                    "status": "in_use", "last_event_id": eid, "last_kind": "pack_assembly", "last_event_at": "2026"}
                   for o in lots if o["kind"] == "pack"]
        self.events.append({"lots": lots, "edges": edges, "sources": sources, "custody": custody})
        return [o["id"] for o in lots]

    def of(self, *kinds: str) -> list[str]:
        return [x for x, k in self.kind.items() if k in kinds]

    def pick(self, kinds: tuple[str, ...], k: int) -> list[str]:
        pool = self.of(*kinds)
        return self.rng.sample(pool, min(k, len(pool))) if pool else []


def random_graph(seed: int, steps: int = 170) -> Graph:
    g = Graph(seed)
    rng = g.rng
    for _ in range(4):
        g.event([], [("ore", "mine", "BPNLMINER", "primary")])
    for _ in range(steps):
        r = rng.random()
        site = rng.choice(["plant-A", "plant-B"])
        if r < 0.08:
            g.event([], [("ore", "mine", "BPNLMINER", "primary")])
        elif r < 0.22:
            ins = g.pick(("ore", "material"), rng.randint(1, 3))
            g.event(ins, [("material", site, "BPNLREFINER", None) for _ in range(rng.randint(1, 2))])
        elif r < 0.36:
            g.event(g.pick(("material",), rng.randint(1, 2)), [("cell_batch", site, "BPNLCELLS", None)])
        elif r < 0.46:
            g.event(g.pick(("cell_batch",), rng.randint(1, 2)),
                    [("module", site, "BPNLPACKER", None) for _ in range(rng.randint(1, 3))])
        elif r < 0.70:  # a pack from modules and/or cell batches, now and then straight from another pack
            ins = g.pick(("module",), rng.randint(0, 2)) + g.pick(("cell_batch",), rng.randint(0, 2))
            if rng.random() < 0.15:
                ins += g.pick(("pack",), 1)
            if ins:
                g.event(sorted(set(ins)), [("pack", site, "BPNLPACKER", None)])
        elif r < 0.80:  # recycling to black mass, then recovery
            packs = g.pick(("pack",), rng.randint(1, 3))
            if packs:
                bm = g.event(packs, [("black_mass", "recycler", "BPNLRECYCLER", None)])
                if rng.random() < 0.8:
                    g.event(bm, [("material", "recycler", "BPNLRECYCLER", "post_consumer")])
        elif r < 0.88:  # a pack taken apart: modules (no arcs into them) and scrap
            packs = g.pick(("pack",), 1)
            if packs:
                g.event(packs, [("module", "dismantler", "BPNLDISMANTLER", None),
                                ("scrap", "dismantler", "BPNLDISMANTLER", None)])
        elif r < 0.94:  # the same, and its module built into a new pack at once (pack to pack, one batch)
            packs = g.pick(("pack",), 1)
            if packs:
                mod = g.event(packs, [("module", "dismantler", "BPNLDISMANTLER", None)])
                new = g.event(mod + g.pick(("cell_batch",), 1), [("pack", site, "BPNLPACKER", None)])
                if rng.random() < 0.5:
                    g.event(new, [("black_mass", "recycler", "BPNLRECYCLER", None)])
        else:
            g.event(g.pick(("scrap", "black_mass"), 2), [("material", site, "BPNLREFINER", None)])
    return g


def append_in_batches(store: Any, g: Graph) -> None:
    """Every event's rows through the ledger's append (which writes the jumps), in batches of random size."""
    k = 0
    while k < len(g.events):
        n = g.rng.choice([1, 1, 2, 5, 17])
        batch = g.events[k:k + n]
        k += n
        with store.write() as conn:
            ledger_repo.append(conn, events=[], chain=[], lots=[x for e in batch for x in e["lots"]],
                               edges=[x for e in batch for x in e["edges"]],
                               sources=[x for e in batch for x in e["sources"]], consumed={},
                               custody_new=[x for e in batch for x in e["custody"]], custody_changed=[])


def independent(g: Graph, starts: list[str]) -> list[str]:
    out: dict[str, set[str]] = defaultdict(set)
    for e in g.events:
        for x in e["edges"]:
            if x["output_kind"] != "module":
                out[x["input_id"]].add(x["output_id"])
        for x in e["sources"]:
            out[x["source_id"]].add(x["pack_id"])
    seen, todo = set(starts), list(starts)
    while todo:
        for y in out[todo.pop()] - seen:
            seen.add(y)
            todo.append(y)
    return sorted(x for x in seen if g.kind[x] == "pack")


def in_creation_order(g: Graph) -> set[tuple[str, str, str]]:
    rows: set[tuple[str, str, str]] = set()
    into: dict[str, set[str]] = defaultdict(set)
    for e in g.events:
        for y, t, k in trace_reach.event_jumps(trace_reach.recall_arcs(e["edges"], e["sources"]), g.kind.get,
                                               lambda i: g.inputs_of.get(i, ()), lambda i: into.get(i, ())):
            rows.add((y, t, k))
            into[y].add(t)
    return rows


@pytest.mark.parametrize("seed", [1, 2])
def test_recall_over_jumps_equals_every_walk(store: Any, seed: int) -> None:
    g = random_graph(seed)
    # the graph holds the shapes that matter: recycled packs, packs built from packs, modules
    assert len(g.of("pack")) > 30 and g.of("black_mass") and g.of("module")
    pack_to_pack = [x for e in g.events for x in e["sources"] if g.kind[x["source_id"]] == "pack"]
    assert pack_to_pack, "no pack was built from another pack"
    append_in_batches(store, g)
    with store.read() as conn:
        kept = trace_reach.stored(conn)
    assert kept == in_creation_order(g)
    assert any(k == "pack" for _, _, k in kept) and any(k == "black_mass" for _, _, k in kept)
    with store.write() as conn:
        assert trace_reach.rebuild(conn) == len(kept)
        assert trace_reach.stored(conn) == kept

    q = TraceQueries(store)
    longer = 0
    for lot in sorted(g.kind):
        want = independent(g, [lot])
        got = q.recall(lot)
        assert [p["pack"] for p in got["packs"]] == want, lot
        assert got == q.recall(lot, method="walk"), lot
        assert got == q.recall(lot, exhaustive=True), lot
        assert got["count"] == len(want) and sum(got["holders"].values()) == len(want)
        longer += len(want) > len(q.recall(lot, through_recycling=False)["packs"])
    assert longer > 10, "recycling should carry many lots into later packs"
    # pages: in order, without overlap or gap, each with the count of all
    big = max(g.of("ore"), key=lambda x: len(independent(g, [x])))
    whole = q.recall(big)
    pages, off = [], 0
    while off is not None:
        page = q.recall(big, limit=7, offset=off)
        assert page["count"] == whole["count"] and "holders" not in page
        pages += page["packs"]
        off = page["next_offset"]
    assert pages == whole["packs"] and len(pages) > 7
    assert q.recall(big, limit=5, offset=whole["count"] + 3)["packs"] == []
    assert q.recall(big, limit=5, method="walk") == q.recall(big, limit=5)
    # sites (origin or production site) and suppliers: many start lots, packs among them
    for by, keys in (("site", ["plant-A", "mine-1", "dismantler"]), ("supplier", ["BPNLRECYCLER", "BPNLPACKER"])):
        for key in keys:
            starts = [r["id"] for e in g.events for r in e["lots"]
                      if (by == "site" and key in (r["site"], r["origin_site"]))
                      or (by == "supplier" and key in (r["producer"], r["certified_by"]))]
            got = q.recall(key, by=by)
            assert [p["pack"] for p in got["packs"]] == independent(g, starts), (by, key)
            assert got == q.recall(key, by=by, method="walk"), (by, key)
    with pytest.raises(NotFound):
        q.recall("no-such-lot")
    for bad in ({"limit": 0}, {"offset": -1}, {"method": "closure"}):
        with pytest.raises(InvalidData):
            q.recall(big, **bad)


def test_a_missing_jump_changes_the_recall(store: Any) -> None:
    """The jumps are what carries the recall over consumed packs: without them it stops at the first pack."""
    g = random_graph(3)
    append_in_batches(store, g)
    q = TraceQueries(store)
    ore = max(g.of("ore"), key=lambda x: len(independent(g, [x])))
    want = q.recall(ore)
    with store.write() as conn:
        conn.execute(delete(tt.trace_recall_jumps))
    assert len(q.recall(ore)["packs"]) < len(want["packs"]) == len(q.recall(ore, method="walk")["packs"])
