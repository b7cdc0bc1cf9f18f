"""A national-scale registry and ledger as store rows, for bulk loading (``bench/registry_scale.py``).

The ledger's own write path (:meth:`batteryloop.trace.ledger.Ledger.ingest`) admits a few thousand signed
events a second: filling a store with tens of millions of events through it takes days. This module writes
the same rows directly — the rows the ledger would have stored had every event gone through it — so that
a bulk loader can ``COPY`` them:

* passports (``passports``, ``passport_versions``): the pilot's three battery models, its plants, made over
  ``years`` model-years, each with its battery data as the passport service stores it (version 1,
  hash-chained with :func:`batteryloop.passport.versions.version_hash`);
* signed ledger events (``trace_events``) forming real chains — mine lot → refining → cathode → cell
  batch → pack (cell-to-pack) → passport issued → vehicle installation → state-of-health updates → (older
  packs) retirement test → hand-over to a recycler → recycling to black mass → material recovery, whose
  recovered lots feed later cathode production — every event in canonical form, hashed and **signed** by
  its actor's demo key (:func:`batteryloop.sim.supply_chain.demo_signers`);
* the tables the ledger derives from them (``trace_chain``, ``trace_lots``, ``trace_lot_edges``,
  ``trace_pack_sources``, ``trace_custody``), built by the ledger's own functions
  (:func:`~batteryloop.trace.lots.lot_row`, :func:`~batteryloop.trace.lots.edge_rows`,
  :func:`~batteryloop.trace.lots.pack_sources`, :func:`~batteryloop.trace.custody.custody_changes`).

Shards are independent supply networks (their own mine, salt, cathode and cell lots): several processes
can generate them at once and a loader interleaves their chunks, numbering events (``gseq``) as it
writes them — chains never cross shards, so any interleaving of whole chunks keeps every chain in order.
``check=True`` re-validates the first events of each kind and the first passports through the real schemas
(:func:`~batteryloop.trace.events.normalize_full`, the passport model) and fails on any difference:
``tests/sim/test_registry_bulk.py`` also ingests a small generated ledger through :class:`Ledger` and
compares every table.
"""

from __future__ import annotations

import datetime as dt
import random
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import orjson

from ..passport.identifiers import global_asset_id
from ..passport.versions import GENESIS as PASSPORT_GENESIS
from ..passport.versions import version_hash
from ..trace.canonical import GENESIS, canonical_json, sha256_hex
from ..trace.custody import custody_changes
from ..trace.events import FlatEvent
from ..trace.keys import Signer
from ..trace.lots import edge_rows, lot_row, pack_sources
from . import pilot
from .supply_chain import CAM_KR, MINE_AU, MINE_CD, MINE_CL, MINE_ID, REFINER_CN, demo_signers

TABLES = ("passports", "passport_versions", "trace_events", "trace_chain", "trace_lots", "trace_lot_edges",
          "trace_pack_sources", "trace_custody")
"""The tables a chunk fills, in the order a loader should write them."""

COLUMNS: dict[str, tuple[str, ...]] = {
    "passports": ("id", "model_id", "economic_operator_id", "owner_id", "status", "serial_number", "chemistry",
                  "manufacture_date", "manufacture_country", "successor_id", "archived", "version", "hash", "data",
                  "created_at", "updated_at", "global_asset_id"),
    "passport_versions": ("passport_id", "version", "hash", "prev_hash", "author_id", "reason", "created_at", "data"),
    "trace_events": ("gseq", "id", "hash", "kind", "actor", "occurred_at", "country", "recorded_at", "body",
                     "signature"),
    "trace_chain": ("subject", "seq", "event_id", "prev_hash", "event_hash"),
    "trace_lots": ("id", "kind", "mass_kg", "consumed_kg", "elements", "material", "model_id", "origin_type",
                   "origin_country", "origin_site", "certified_by", "producer", "site_country", "site", "produced_at",
                   "event_id"),
    "trace_lot_edges": ("output_id", "input_id", "output_kind", "mass_kg", "event_id"),
    "trace_pack_sources": ("source_id", "pack_id"),
    "trace_custody": ("subject", "holder", "country", "status", "last_event_id", "last_kind", "last_event_at",
                      "exported_to"),
}
"""Each table's columns in the order of the rows below (``trace_events`` rows leave ``gseq`` as ``None``)."""


@dataclass(frozen=True)
class Chemistry:
    model_id: str
    cathode: str
    fractions: dict[str, float]  # element mass fraction of the cathode active material
    cathode_kg: float  # per pack
    graphite_kg: float  # per pack
    cell_maker: str
    cell_site: tuple[str, str]


# Cathode fractions: NMC811 as in supply_chain; NCA LiNi0.8Co0.15Al0.05O2 and LFP LiFePO4 from their formulas
CHEMISTRIES = {
    "EM-NMC811-82": Chemistry("EM-NMC811-82", "NMC811 cathode active material",
                              {"Li": 0.072, "Ni": 0.482, "Co": 0.060, "Mn": 0.056}, 106.0, 80.0,
                              pilot.CELL_KR, ("KR", "Ochang cell plant")),
    "EM-NCA-75": Chemistry("EM-NCA-75", "NCA cathode active material",
                           {"Li": 0.072, "Ni": 0.489, "Co": 0.092, "Al": 0.014}, 98.0, 72.0,
                           pilot.CELL_JP, ("JP", "Suminoe cell plant")),
    "EM-LFP-60": Chemistry("EM-LFP-60", "LFP cathode active material", {"Li": 0.044, "Fe": 0.354}, 128.0, 60.0,
                           pilot.CELL_CN, ("CN", "Ningde cell plant")),
}
MODEL_IDS = ("EM-NMC811-82", "EM-LFP-60", "EM-NCA-75")
MODEL_INFO = {m["model_id"]: m for m in pilot.battery_models()}

# element -> (mine key, mine participant, country, site, ore fraction, refined product, product fraction)
MINED = {
    "Li": [("Li-CL", MINE_CL, "CL", "Salar de Atacama", 0.002), ("Li-AU", MINE_AU, "AU", "Greenbushes", 0.028)],
    "Ni": [("Ni-ID", MINE_ID, "ID", "Sorowako", 0.018)],
    "Co": [("Co-CD", MINE_CD, "CD", "Kolwezi", 0.03)],
}
SALTS = {"Li": ("lithium carbonate", 0.188), "Ni": ("nickel sulfate", 0.223), "Co": ("cobalt sulfate", 0.21)}
# elements bought as refined material straight from a primary producer (one extraction event per lot)
BOUGHT = {"Mn": ("manganese sulfate", 0.32, "ZA", "Kalahari manganese"),
          "Al": ("aluminium hydroxide", 0.346, "AU", "Pinjarra alumina"),
          "Fe": ("iron phosphate", 0.37, "CN", "Guizhou phosphate")}
# what material recovery makes of black mass: product, element fraction of the product
RECOVERED = {"Li": ("recycled lithium carbonate", 0.188), "Ni": ("recycled nickel metal", 0.999),
             "Co": ("recycled cobalt metal", 0.999)}
RECYCLER_SITE = ("DE", "Magdeburg hydromet")
PACKS_PER_RECYCLING = 20

_UTC = dt.UTC


def iso(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, _UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass
class _Stock:
    """Lots of one material at a supplier: [lot id, remaining kg, element fraction, available from (epoch s)]."""

    lots: list[list[Any]] = field(default_factory=list)

    def available_kg(self, at: float) -> float:
        return sum(x[1] for x in self.lots if x[3] <= at)


@dataclass
class Chunk:
    """Rows for each table (:data:`COLUMNS` order), and how many passports and events they hold."""

    rows: dict[str, list[tuple[Any, ...]]]
    passports: int = 0
    events: int = 0


class RegistryGenerator:
    """One shard's passports and ledger, generated in store order and yielded in chunks of rows.

    ``passports`` packs, made evenly from ``start_year`` over ``years`` model-years (the last ending
    before ``end``), ``events_per_passport`` ledger events per passport on average (the state-of-health
    updates fill what the production and life events leave), ``eol_share`` of the packs of the first
    ``eol_years`` retired and recycled. Deterministic for (shard, seed).
    """

    def __init__(self, passports: int, *, shard: int = 0, seed: int = 1, events_per_passport: float = 5.0,
                 start_year: int = 2019, years: int = 8, eol_share: float = 0.3, eol_years: int = 4,
                 packs_per_batch: int = 50, recycled_share: float = 0.12, chunk_passports: int = 5000,
                 signers: dict[str, Signer] | None = None, check: bool = False,
                 stop_at: float | None = None) -> None:
        self.n = passports
        self.stop_at = stop_at  # time.time() after which no more packs are made (the shard ends early, whole)
        self.shard = shard
        self.rng = random.Random(seed * 1_000_003 + shard)
        self.events_per_passport = events_per_passport
        self.start = dt.datetime(start_year, 1, 1, tzinfo=_UTC).timestamp()
        self.end = min(dt.datetime(start_year + years, 1, 1, tzinfo=_UTC).timestamp(),
                       dt.datetime(2026, 11, 1, tzinfo=_UTC).timestamp())
        self.eol_until = dt.datetime(start_year + eol_years, 1, 1, tzinfo=_UTC).timestamp()
        self.last_time = dt.datetime(2026, 11, 30, tzinfo=_UTC).timestamp()
        self.eol_share = eol_share
        self.packs_per_batch = packs_per_batch
        self.recycled_share = recycled_share
        self.chunk_passports = chunk_passports
        self.signers = signers or demo_signers()
        self.check = check
        self._checked: dict[str, int] = {}
        self.prefix = f"S{shard}"
        self.counter = 0
        self.heads: dict[str, tuple[int, str]] = {}
        self.custody: dict[str, dict[str, Any]] = {}
        self.open_lots: dict[str, dict[str, Any]] = {}  # lot id -> trace_lots row, until consumed or the end
        self.lot_inputs: dict[str, list[str]] = {}
        self.salts = {el: _Stock() for el in SALTS}
        self.recycled = {el: _Stock() for el in RECOVERED}
        self.bought = {el: _Stock() for el in BOUGHT}
        self.cathodes = {m: _Stock() for m in MODEL_IDS}
        self.graphite = _Stock()
        self.to_recycle: list[tuple[str, float, dict[str, float], float]] = []  # pack, kg, elements, ready at
        self.pending: list[str] = []  # lots drawn to the end, waiting for the event that consumes them
        self._reset()

    # ------------------------------------------------------------------ rows
    def _reset(self) -> None:
        self.out: dict[str, list[tuple[Any, ...]]] = {t: [] for t in TABLES}
        self.n_events = 0

    def _id(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}-{self.prefix}-{self.counter:09d}"

    def _event(self, kind: str, actor: str, ts: float, country: str, site: str, *, data: dict[str, Any] | None = None,
               subjects: list[str] | None = None, inputs: list[dict[str, Any]] | None = None,
               outputs: list[dict[str, Any]] | None = None, event_id: str | None = None) -> FlatEvent:
        subjects = subjects or []
        inputs = inputs or []
        outputs = outputs or []
        chain = sorted({*subjects, *(i["lot"] for i in inputs), *(o["lot"] for o in outputs)})
        prev = {s: self.heads[s][1] if s in self.heads else GENESIS for s in chain}
        body = {"actor": actor, "data": data or {}, "id": event_id or self._id("ev"), "inputs": inputs, "kind": kind,
                "occurred_at": iso(ts), "outputs": outputs, "place": {"country": country, "site": site},
                "prev": prev, "subjects": subjects}
        raw = canonical_json(body)
        h = sha256_hex(raw)
        if self.check:
            self._check_event(kind, body, raw)
        sig = self.signers[actor].sign_hash(h)
        ev = FlatEvent(orjson.loads(raw))  # as the ledger reads it: from the canonical bytes
        self.out["trace_events"].append((None, ev.id, h, kind, actor, body["occurred_at"], country, None,
                                         raw.decode(), sig))
        self.n_events += 1
        for s in chain:
            seq = self.heads[s][0] + 1 if s in self.heads else 1
            self.out["trace_chain"].append((s, seq, ev.id, prev[s], h))
            self.heads[s] = (seq, h)
        for i in inputs:
            row = self.open_lots[i["lot"]]
            row["consumed_kg"] += i["mass_kg"]
        for o in ev.outputs:
            self.open_lots[o.lot] = lot_row(ev, o)
        for r in edge_rows(ev):
            self.out["trace_lot_edges"].append(tuple(r[c] for c in COLUMNS["trace_lot_edges"]))
        if ev.outputs:
            ins = [i["lot"] for i in inputs]
            for o in ev.outputs:
                self.lot_inputs[o.lot] = ins
                if o.kind == "pack":
                    for r in pack_sources(o.lot, ins, lambda x: self.open_lots[x]["kind"] if x in self.open_lots else None,
                                          lambda x: self.lot_inputs.get(x, [])):
                        self.out["trace_pack_sources"].append((r["source_id"], r["pack_id"]))
        for subj, new in custody_changes(ev, self.custody.get).items():
            self.custody[subj] = {**new, "subject": subj, "last_event_id": ev.id, "last_kind": kind,
                                  "last_event_at": body["occurred_at"]}
        if self.pending and inputs:
            used = {i["lot"] for i in inputs}
            for x in [x for x in self.pending if x in used]:
                self.pending.remove(x)
                self._retire_lot(x)
        return ev

    def _check_event(self, kind: str, body: dict[str, Any], raw: bytes) -> None:
        if self._checked.get(kind, 0) >= 20:
            return
        from ..trace.events import normalize_full

        self._checked[kind] = self._checked.get(kind, 0) + 1
        _, canon, _, _ = normalize_full(body)
        if canon != raw:
            raise AssertionError(f"generated {kind} event is not in the ledger's canonical form:\n{raw!r}\n{canon!r}")

    def _close_lot(self, lot_id: str) -> None:
        row = self.open_lots.pop(lot_id)
        self.out["trace_lots"].append(tuple(row[c] for c in COLUMNS["trace_lots"]))
        self.lot_inputs.pop(lot_id, None)

    def _close_subject(self, subj: str) -> None:
        self.heads.pop(subj, None)
        c = self.custody.pop(subj, None)
        if c is not None:
            self.out["trace_custody"].append(tuple(c[k] for k in COLUMNS["trace_custody"]))

    def _draw(self, stock: _Stock, kg: float, at: float) -> list[dict[str, Any]]:
        out = []
        for lot in stock.lots:
            if kg <= 1e-9:
                break
            if lot[3] > at or lot[1] <= 1e-6:
                continue
            take = round(min(kg, lot[1]), 6)
            if take <= 0:
                continue
            out.append({"lot": lot[0], "mass_kg": take})
            lot[1] = round(lot[1] - take, 6)
            kg = round(kg - take, 6)
        done = [x for x in stock.lots if x[1] <= 1e-6]
        if done:
            stock.lots[:] = [x for x in stock.lots if x[1] > 1e-6]
            self.pending.extend(x[0] for x in done)  # retired once the event consuming them is written
        return out

    def _retire_lot(self, lot_id: str) -> None:
        self._close_lot(lot_id)
        self._close_subject(lot_id)

    # ------------------------------------------------------------------ supply
    def _refine(self, el: str, need_salt_kg: float, ts: float) -> None:
        key, mine, country, site, ore_f = self.rng.choice(MINED[el])
        product, prod_f = SALTS[el]
        el_kg = max(need_salt_kg, 40_000.0) * prod_f
        ore_kg = round(el_kg / ore_f * 1.03, 3)
        ore = self._id(f"ore-{key}")
        self._event("extraction", mine, ts - 86400 * 40, country, site, outputs=[{
            "elements_kg": {el: round(ore_kg * ore_f, 6)}, "kind": "ore", "lot": ore, "mass_kg": ore_kg,
            "material": f"{el} ore", "origin": {"country": country, "site": site, "type": "primary"}}])
        salt = self._id(f"salt-{el}")
        out_el = round(ore_kg * ore_f * 0.97, 6)
        salt_kg = round(out_el / prod_f, 6)
        self._event("refining", REFINER_CN, ts - 86400 * 20, "CN", "Yichun refinery", data={"max_loss_pct": 5.0},
                    inputs=[{"lot": ore, "mass_kg": ore_kg}],
                    outputs=[{"elements_kg": {el: out_el}, "kind": "material", "lot": salt, "mass_kg": salt_kg,
                              "material": product}])
        self._retire_lot(ore)
        self.salts[el].lots.append([salt, salt_kg, prod_f, ts - 86400 * 20])

    def _buy(self, el: str, need_kg: float, ts: float) -> None:
        product, f, country, site = BOUGHT[el]
        kg = round(max(need_kg, 20_000.0), 6)
        lot = self._id(f"mat-{el}")
        self._event("extraction", MINE_ID, ts - 86400 * 15, country, site, outputs=[{
            "elements_kg": {el: round(kg * f, 6)}, "kind": "material", "lot": lot, "mass_kg": kg,
            "material": product, "origin": {"country": country, "site": site, "type": "primary"}}])
        self.bought[el].lots.append([lot, kg, f, ts - 86400 * 15])

    def _cathode(self, chem: Chemistry, packs: int, ts: float) -> None:
        mass = chem.cathode_kg * packs
        inputs: list[dict[str, Any]] = []
        els: dict[str, float] = {}
        for el, frac in sorted(chem.fractions.items()):
            need_el = mass * frac / 0.99
            if el in SALTS:
                rec = self.recycled[el]
                rec_el = min(need_el * self.recycled_share * self.rng.uniform(0.5, 1.5),
                             sum(x[1] * x[2] for x in rec.lots if x[3] <= ts))
                rec_el = round(rec_el, 6) if rec_el > 1.0 else 0.0
                if rec_el > 0:
                    inputs += self._draw_element(rec, rec_el, ts)
                prim_el = need_el - rec_el
                f = SALTS[el][1]
                if self.salts[el].available_kg(ts) * f < prim_el:
                    self._refine(el, prim_el / f, ts)
                inputs += self._draw(self.salts[el], round(prim_el / f, 6), ts)
            else:
                f = BOUGHT[el][1]
                if self.bought[el].available_kg(ts) * f < need_el:
                    self._buy(el, need_el / f, ts)
                inputs += self._draw(self.bought[el], round(need_el / f, 6), ts)
            els[el] = round(need_el * 0.99, 6)
        lot = self._id("cam")
        total_in = sum(i["mass_kg"] for i in inputs)
        out_kg = round(min(mass, total_in), 6)
        self._event("cathode_production", CAM_KR, ts - 86400 * 10, "KR", "Gwangyang CAM plant",
                    data={"max_loss_pct": 2.0}, inputs=inputs,
                    outputs=[{"elements_kg": els, "kind": "material", "lot": lot, "mass_kg": out_kg,
                              "material": chem.cathode}])
        self.cathodes[chem.model_id].lots.append([lot, out_kg, 1.0, ts - 86400 * 10])

    def _draw_element(self, stock: _Stock, el_kg: float, at: float) -> list[dict[str, Any]]:
        """Draw ``el_kg`` of an element from lots of varying element fractions."""
        out = []
        for lot in stock.lots:
            if el_kg <= 1e-6:
                break
            if lot[3] > at or lot[1] <= 1e-6:
                continue
            take = round(min(el_kg / lot[2], lot[1]), 6)
            if take <= 0:
                continue
            out.append({"lot": lot[0], "mass_kg": take})
            lot[1] = round(lot[1] - take, 6)
            el_kg -= take * lot[2]
        done = [x for x in stock.lots if x[1] <= 1e-6]
        if done:
            stock.lots[:] = [x for x in stock.lots if x[1] > 1e-6]
            self.pending.extend(x[0] for x in done)  # retired once the event consuming them is written
        return out

    def _graphite(self, need_kg: float, ts: float) -> None:
        kg = round(max(need_kg, 200_000.0), 6)
        lot = self._id("graphite")
        self._event("extraction", REFINER_CN, ts - 86400 * 30, "CN", "Heilongjiang graphite", outputs=[{
            "elements_kg": {"graphite": kg}, "kind": "material", "lot": lot, "mass_kg": kg,
            "material": "natural graphite", "origin": {"country": "CN", "site": "Heilongjiang graphite",
                                                       "type": "primary"}}])
        self.graphite.lots.append([lot, kg, 1.0, ts - 86400 * 30])

    # ------------------------------------------------------------------ recycling
    def _recycle(self, ts: float) -> None:
        batch, self.to_recycle = self.to_recycle[:PACKS_PER_RECYCLING], self.to_recycle[PACKS_PER_RECYCLING:]
        at = max(ts, max(b[3] for b in batch)) + 86400 * 30
        if at > self.last_time:  # not recycled yet: handed over, waiting
            for p, _, _, _ in batch:
                self._finish_pack(p)
            return
        country, site = RECYCLER_SITE
        els: dict[str, float] = {}
        for _, _, e, _ in batch:
            for k, v in e.items():
                els[k] = els.get(k, 0.0) + v
        bm = self._id("blackmass")
        bm_els = {k: round(v * 0.97, 6) for k, v in sorted(els.items())}
        bm_kg = round(sum(bm_els.values()) / 0.98, 6)  # black mass: the shredded cell material, some binder
        self._event("recycling", pilot.RECYCLER_EU, at, country, site, data={"process": "mechanical"},
                    inputs=[{"lot": p, "mass_kg": kg} for p, kg, _, _ in batch],
                    outputs=[{"elements_kg": bm_els, "kind": "black_mass", "lot": bm, "mass_kg": bm_kg,
                              "material": "black mass"}])
        for p, _, _, _ in batch:
            self._retire_lot(p)
        outputs = []
        rec_lots = []
        for el, (product, f) in sorted(RECOVERED.items()):
            if bm_els.get(el, 0.0) <= 1.0:
                continue
            el_kg = round(bm_els[el] * 0.9, 6)
            lot = self._id(f"rec-{el}")
            kg = round(el_kg / f, 6)
            outputs.append({"elements_kg": {el: el_kg}, "kind": "material", "lot": lot, "mass_kg": kg,
                            "material": product, "origin": {"certified_by": pilot.RECYCLER_EU, "country": country,
                                                            "site": site, "type": "post_consumer"}})
            rec_lots.append((el, lot, kg, f))
        self._event("material_recovery", pilot.RECYCLER_EU, at + 86400 * 14, country, site,
                    inputs=[{"lot": bm, "mass_kg": bm_kg}], outputs=outputs)
        self._retire_lot(bm)
        for el, lot, kg, f in rec_lots:
            self.recycled[el].lots.append([lot, kg, f, at + 86400 * 14])

    # ------------------------------------------------------------------ packs
    def _pack_life(self, pack: str, model: str, plant: tuple[str, str], batch: str, take_kg: float,
                   pack_els: dict[str, float], ts: float, soh_mean: float) -> None:
        rng = self.rng
        country, site = plant
        out_kg = round(take_kg * 0.999999, 6)
        self._event("pack_assembly", pilot.AUTOMAKER, ts, country, site, inputs=[{"lot": batch, "mass_kg": take_kg}],
                    outputs=[{"elements_kg": pack_els, "kind": "pack", "lot": pack, "mass_kg": out_kg,
                              "model_id": model}])
        self._event("passport_issued", pilot.AUTOMAKER, ts + 3600, country, "passport service", subjects=[pack],
                    data={"model_id": model, "passport_id": pack}, event_id=f"{pack}-passport")
        t = ts + 86400 * rng.randint(7, 90)
        if t > self.last_time:
            self._finish_pack(pack)
            return
        dest = rng.choice(["DE", "FR", "NL", "PL", "IT", "ES"]) if country != "KR" else "KR"
        self._event("installation", pilot.AUTOMAKER, t, dest, "vehicle plant", subjects=[pack],
                    data={"vehicle_id": f"WVW{rng.randrange(10**13):013d}"}, event_id=f"{pack}-install")
        eol = ts < self.eol_until and rng.random() < self.eol_share
        n_soh = int(soh_mean) + (1 if rng.random() < soh_mean - int(soh_mean) else 0)
        if eol:
            n_soh = max(0, n_soh - 2)
        soh = 100.0
        cycles = 0.0
        step = min(86400 * 365.25, (self.last_time - 86400 * 8 - t) / (n_soh + (2 if eol else 0) + 1))
        for k in range(n_soh):
            t += step
            soh = round(soh - rng.uniform(1.0, 3.5), 1)
            cycles = round(cycles + rng.uniform(30, 110), 1)
            self._event("soh_update", pilot.AUTOMAKER, t, dest, "fleet telemetry", subjects=[pack],
                        data={"full_equivalent_cycles": cycles, "soh_capacity_pct": soh},
                        event_id=f"{pack}-soh-{k + 1}")
        if eol:
            t += step
            soh = round(min(soh, 100.0) - rng.uniform(15.0, 25.0), 1)
            self._event("retirement_test", pilot.AUTOMAKER, t, dest, "dealer workshop", subjects=[pack],
                        data={"decision": "recycle", "grade": "C", "soh_capacity_pct": soh},
                        event_id=f"{pack}-retire")
            self._event("change_of_owner", pilot.AUTOMAKER, t + 86400 * 7, dest, "take-back point", subjects=[pack],
                        data={"role": "owner", "to_holder": pilot.RECYCLER_EU}, event_id=f"{pack}-handover")
            self.to_recycle.append((pack, out_kg, pack_els, t + 86400 * 7))
            if len(self.to_recycle) >= PACKS_PER_RECYCLING:
                self._recycle(t)
            return
        self._finish_pack(pack)

    def _finish_pack(self, pack: str) -> None:
        self._close_lot(pack)
        self._close_subject(pack)

    def _passport(self, pid: str, serial: str, model: str, plant: tuple[str, str], made: dt.date,
                  in_service: dt.date | None, today: dt.date) -> None:
        rng = self.rng
        m = MODEL_INFO[model]
        years = ((today - in_service).days / 365.25) if in_service else 0.0
        cycles, soh = pilot.first_life_draw(rng, m, years)
        energy = m["rated_energy_kwh"]
        content: dict[str, Any] = {
            "passport_id": pid, "serial_number": serial, "model_id": model,
            "economic_operator_id": pilot.AUTOMAKER, "manufacture_date": made.isoformat(),
            "manufacture_country": plant[0], "manufacture_site": plant[1],
            "mass_kg": round(m["mass_kg"] * rng.uniform(0.995, 1.005), 1), "status": "original"}
        if in_service:
            content["putting_into_service_date"] = in_service.isoformat()
        content["state_of_health"] = pilot.state_of_health_draw(rng, m, soh, years, "2026-11-30T02:00:00Z")
        content["usage"] = {
            "full_equivalent_cycles": cycles, "energy_throughput_kwh": round(cycles * energy, 1),
            "capacity_throughput_ah": round(cycles * m["rated_capacity_ah"], 1),
            "time_above_extreme_temperature_h": round(years * rng.uniform(0, 20), 1),
            "time_below_extreme_temperature_h": round(years * rng.uniform(0, 40), 1),
            "deep_discharge_events": rng.randint(0, 3), "min_operating_temperature_c": round(rng.uniform(-25, -5), 1),
            "max_operating_temperature_c": round(rng.uniform(35, 48), 1),
            "state_of_charge_pct": float(rng.randint(20, 90)), "negative_events": []}
        content["predecessor_ids"] = []
        if self.check and self._checked.get("passport", 0) < 20:
            from ..passport.model import BatteryData

            self._checked["passport"] = self._checked.get("passport", 0) + 1
            again = BatteryData.model_validate(content).model_dump(mode="json", exclude_none=True)
            if again != content:
                raise AssertionError(f"generated passport {pid} is not as the passport model dumps it")
        now = iso(dt.datetime.combine(made, dt.time(12), _UTC).timestamp())
        h = version_hash(passport_id=pid, version=1, prev_hash=PASSPORT_GENESIS, author=pilot.AUTOMAKER,
                         created_at=now, reason="issued", content=content)
        text = orjson.dumps(content).decode()
        self.out["passports"].append((pid, model, pilot.AUTOMAKER, None, "original", serial, m["chemistry"], made,
                                      plant[0], None, False, 1, h, text, now, now, global_asset_id(pid)))
        self.out["passport_versions"].append((pid, 1, h, PASSPORT_GENESIS, pilot.AUTOMAKER, "issued", now, text))

    # ------------------------------------------------------------------ driver
    def chunks(self) -> Iterator[Chunk]:
        rng = self.rng
        today = dt.date(2026, 12, 1)
        made_count = 0
        in_chunk = 0
        # events per passport the production and life events give, before state-of-health updates (measured
        # on this generator): pack, passport, installation ≈ 2.95; end of life ≈ 0.5 on the older packs;
        # supply ≈ 0.1
        soh_mean = max(0.0, self.events_per_passport - 3.2)
        span = self.end - self.start
        while made_count < self.n:
            if self.stop_at is not None and made_count and time.time() >= self.stop_at:
                break  # out of time: end the shard here (recycling, lots and custody closed as below)
            packs = min(self.packs_per_batch, self.n - made_count)
            ts = self.start + span * made_count / max(1, self.n)
            model = MODEL_IDS[(made_count // self.packs_per_batch) % len(MODEL_IDS)]
            chem = CHEMISTRIES[model]
            plant = pilot.PLANTS[rng.randrange(len(pilot.PLANTS))]
            cam_need = chem.cathode_kg * packs
            if self.cathodes[model].available_kg(ts) < cam_need - 1e-6:
                self._cathode(chem, self.packs_per_batch * 4, ts)
            gr_need = chem.graphite_kg * packs
            if self.graphite.available_kg(ts) < gr_need - 1e-6:
                self._graphite(gr_need * 40, ts)
            cam_in = self._draw(self.cathodes[model], round(cam_need, 6), ts)
            gr_in = self._draw(self.graphite, round(gr_need, 6), ts)
            els = {el: round(cam_need * f * 0.99 * 0.995, 6) for el, f in chem.fractions.items()}
            els["graphite"] = round(gr_need * 0.995, 6)
            batch = self._id("cellbatch")
            batch_kg = round((chem.cathode_kg + chem.graphite_kg) * packs * 0.995, 6)
            c_country, c_site = chem.cell_site
            self._event("cell_production", chem.cell_maker, ts - 86400 * 5, c_country, c_site,
                        data={"max_loss_pct": 2.0}, inputs=cam_in + gr_in,
                        outputs=[{"elements_kg": els, "kind": "cell_batch", "lot": batch, "mass_kg": batch_kg,
                                  "material": f"{model} cells"}])
            take = round(batch_kg / packs * 0.9999999, 6)
            pack_els = {el: round(v / packs * 0.999999, 6) for el, v in sorted(els.items())}
            for p in range(packs):
                i = made_count + p
                pts = ts + span / max(1, self.n) * p + rng.uniform(0, 3600)
                serial = f"{chem.cathode.split()[0]}-{self.prefix}-{i:09d}"
                pid = f"BL.{pilot.AUTOMAKER}.{serial}"
                made = dt.datetime.fromtimestamp(pts, _UTC).date()
                in_service = made + dt.timedelta(days=rng.randint(7, 120))
                self._passport(pid, serial, model, plant, made, in_service if in_service <= today else None, today)
                self._pack_life(pid, model, plant, batch, take, pack_els, pts, soh_mean)
            self._retire_lot(batch)
            made_count += packs
            in_chunk += packs
            if in_chunk >= self.chunk_passports:
                yield self._take(in_chunk)
                in_chunk = 0
        while len(self.to_recycle) >= PACKS_PER_RECYCLING:
            self._recycle(self.end)
        for pack, _, _, _ in self.to_recycle:  # handed over, waiting for the next recycling run
            self._finish_pack(pack)
        self.to_recycle = []
        for lot_id in list(self.open_lots):
            self._close_lot(lot_id)
        for subj in list(self.custody):
            self._close_subject(subj)
        yield self._take(in_chunk)

    def _take(self, passports: int) -> Chunk:
        c = Chunk(self.out, passports, self.n_events)
        self._reset()
        return c


def shard_chunks(args: tuple[Any, ...]) -> Iterator[Chunk]:
    """Chunks of one shard: ``(shard, passports, seed, events_per_passport, chunk_passports[, stop_at])``
    (``stop_at``: a ``time.time()`` after which the shard makes no more packs and ends, whole)."""
    shard, n, seed, epp, chunk, *rest = args
    yield from RegistryGenerator(n, shard=shard, seed=seed, events_per_passport=epp, chunk_passports=chunk,
                                 stop_at=rest[0] if rest else None).chunks()
