"""The pilot's material chain, year after year, as signed lifecycle events: mines and recyclers to packs,
and packs back to recovered material.

One :class:`MaterialChain` keeps the stocks every supplier holds between years (refined salts, recovered
salts, cathode, graphite) and signs each event with its actor's key through its writer (a :class:`ChainWriter`,
whose ``sign`` returns the sealed event; the pilot's writer returns the event as it is, sealed with the pilot's
others in a batch):

    extraction (Li brine CL / spodumene AU, Ni laterite ID, Co ore CD, Mn ZA, iron phosphate CN)
      → refining (Li2CO3, NiSO4·6H2O, CoSO4·7H2O)
      + material recovery: manufacturing scrap (pre-consumer) and, from the recycling of the pilot's own
        retired packs, post-consumer salts — used by cathode plants in later years, up to a cap
      → cathode production (NMC811 in Korea, NCA in Japan, LFP in China)
      → cell production (cathode + graphite) → module assembly → pack assembly (the automaker's plants)
    end of life: dismantling (pack → black mass) → recycling → material recovery (salts, certified)

A pack's traced mass is its cell materials (Li, Ni, Co, Mn, Fe, graphite: BatPaC 5.0 intensities via
:func:`batteryloop.circular.chemistry.pack_composition`); casings and electrolyte are not traced.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from ..circular.chemistry import pack_composition
from ..reference import References
from ..trace.client import ChainWriter
from .supply_chain import MINE_AU, MINE_CD, MINE_CL, MINE_ID, REFINER_CN, CAM_KR
from . import pilot

SALT = {  # element → (product, element mass fraction)
    "Li": ("lithium carbonate", 0.188), "Ni": ("nickel sulfate", 0.223), "Co": ("cobalt sulfate", 0.21),
    "Mn": ("manganese sulfate", 0.325), "Fe": ("iron phosphate", 0.37),
}
RECYCLABLE = ("Li", "Ni", "Co")  # salts a cathode plant may take from recovered stock (Art. 8 elements)
MINES = {  # element → [(mine participant, country, site, ore element fraction)]
    "Li": [(MINE_CL, "CL", "Salar de Atacama", 0.002), (MINE_AU, "AU", "Greenbushes", 0.028)],
    "Ni": [(MINE_ID, "ID", "Sorowako", 0.018)],
    "Co": [(MINE_CD, "CD", "Kolwezi", 0.03)],
}
CATHODE_PLANT = {  # chemistry family → (cathode plant, country, site)
    "NMC": (CAM_KR, "KR", "Gwangyang CAM plant"),
    "NCA": (pilot.CAM_JP, "JP", "Niihama CAM plant"),
    "LFP": (pilot.CAM_CN, "CN", "Yibin LFP plant"),
}
CELL_PLANT = {
    pilot.CELL_KR: ("KR", "Ochang cell plant"),
    pilot.CELL_JP: ("JP", "Tokushima cell plant"),
    pilot.CELL_CN: ("CN", "Ningde cell plant"),
}
SCRAP_FRACTION = 0.04  # cell plants' electrode scrap, recovered as pre-consumer salts
CELL_YIELD = 0.99  # of the electrode material that is not scrap, what ends up in cells
TRACED = ("Li", "Ni", "Co", "Mn", "Fe")


def _module_share(batch_kg: float, modules: int) -> float:
    """One of ``modules`` modules' share of a batch's element kg: a hair under the even share, to 6 decimals,
    never more than the batch holds in all."""
    kg = round(batch_kg / modules * 0.999999, 6)
    return kg if kg * modules <= batch_kg else math.floor(batch_kg / modules * 1e6) / 1e6


def family(chemistry: str) -> str:
    c = chemistry.upper()
    return "LFP" if c.startswith("LFP") else "NCA" if c.startswith("NCA") else "NMC"


@dataclass
class PackMaterials:
    """What one pack of a model is made of (kg)."""

    cathode_kg: float
    cathode_elements_kg: dict[str, float]
    graphite_kg: float

    @property
    def mass_kg(self) -> float:
        return self.cathode_kg + self.graphite_kg

    @property
    def metal_in_pack_kg(self) -> float:
        """Li, Ni, Co, Mn and Fe that end up in one pack (after electrode scrap and cell-making loss)."""
        return sum(self.cathode_elements_kg.values()) * (1 - SCRAP_FRACTION) * CELL_YIELD


def pack_materials(chemistry: str, energy_kwh: float, references: References | None = None) -> PackMaterials:
    comp = pack_composition(chemistry, energy_kwh, references)
    els = {e: round(comp.materials_kg.get(e, 0.0), 6) for e in TRACED if comp.materials_kg.get(e, 0.0) > 0}
    return PackMaterials(round(comp.cathode_active_material_kg, 6), els, round(comp.materials_kg.get("graphite", 0.0), 6))


_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


class Clock:
    """Event times inside a window of the simulated year, always moving forward: each call 10–100 ms (drawn
    from ``rng``) after the last, as ``YYYY-MM-DDTHH:MM:SS.ffffffZ`` (UTC). ``t`` is the last time given."""

    __slots__ = ("rng", "_us", "_second", "_prefix")

    def __init__(self, t: dt.datetime, rng: random.Random) -> None:
        self.rng = rng
        self.t = t

    @property
    def t(self) -> dt.datetime:
        return _EPOCH + dt.timedelta(microseconds=self._us)

    @t.setter
    def t(self, value: dt.datetime) -> None:
        self._us = (value - _EPOCH) // dt.timedelta(microseconds=1)  # an aware time, as microseconds since 1970
        self._second = -1
        self._prefix = ""

    def __call__(self) -> str:
        # 10–100 ms apart: a million events stay within a day of their window's start. The millions of pilot
        # events' times: the text of each second made once (strftime), the microseconds appended
        self._us += 1000 * self.rng.randint(10, 100)
        second, us = divmod(self._us, 1_000_000)
        if second != self._second:
            self._second = second
            self._prefix = (_EPOCH + dt.timedelta(seconds=second)).strftime("%Y-%m-%dT%H:%M:%S.")
        return f"{self._prefix}{us:06d}Z"


@dataclass
class MaterialChain:
    writer: ChainWriter | Any  # anything with sign(data): ChainWriter, or the pilot's batch (sim.loop)
    seed: int
    recycled_cap_fraction: float = 0.35
    rng: random.Random = field(init=False)
    n: int = 0
    primary: dict[str, list[list[Any]]] = field(default_factory=lambda: {e: [] for e in SALT})
    recovered: dict[str, list[list[Any]]] = field(default_factory=lambda: {e: [] for e in RECYCLABLE})
    cathode: dict[str, list[list[Any]]] = field(default_factory=dict)  # model id → [[lot, kg]]
    graphite: list[list[Any]] = field(default_factory=list)
    scrap: list[list[Any]] = field(default_factory=list)  # [[scrap lot, kg, elements]]: the cell plants' scrap
    recovered_kg: dict[str, float] = field(default_factory=lambda: {e: 0.0 for e in RECYCLABLE})
    flows: dict[tuple[str, str], float] = field(default_factory=dict)  # (from stage, to stage) → kg, for the Sankey
    pack_contents: dict[str, tuple[float, dict[str, float]]] = field(default_factory=dict)  # pack → (kg, elements)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed * 7919 + 1)

    def nid(self, prefix: str) -> str:
        self.n += 1
        return f"{prefix}-{self.seed}-{self.n:08d}"

    def flow(self, a: str, b: str, kg: float) -> None:
        self.flows[(a, b)] = self.flows.get((a, b), 0.0) + kg

    # ------------------------------------------------------------------ stocks
    def _draw(self, stock: list[list[Any]], kg: float) -> list[dict[str, Any]]:
        out = []
        kg = round(kg, 6)
        while kg > 1e-6 and stock:
            lot = stock[0]
            take = round(min(kg, lot[1]), 6)
            if take > 0:
                out.append({"lot": lot[0], "mass_kg": take})
                lot[1] = round(lot[1] - take, 6)
                kg = round(kg - take, 6)
            if lot[1] <= 1e-6:
                stock.pop(0)
        if kg > 1e-3:  # callers top stocks up first; below a gram it is rounding, and the draw takes what is there
            raise RuntimeError(f"material chain: a stock is {kg} kg short of a draw; the caller must top the stock "
                               "up before drawing (a bug in the chain, not in its input)")
        return out

    def _refine(self, el: str, need_salt_kg: float, at: Clock) -> Iterator[Any]:
        product, frac = SALT[el]
        salt_kg = max(need_salt_kg, 20_000.0)
        el_kg = salt_kg * frac
        if el in MINES:
            mine, country, site, ore_f = self.rng.choice(MINES[el])
            ore_kg = round(el_kg / 0.97 / ore_f, 3)
            ore = self.nid(f"ore-{el}")
            yield self.writer.sign({"id": self.nid("ev"), "kind": "extraction", "actor": mine, "occurred_at": at(),
                                    "place": {"country": country, "site": site},
                                    "outputs": [{"lot": ore, "kind": "ore", "mass_kg": ore_kg,
                                                 "elements_kg": {el: round(ore_kg * ore_f, 6)}, "material": f"{el} ore",
                                                 "origin": {"type": "primary", "country": country, "site": site}}]})
            lot = self.nid(f"salt-{el}")
            out_el = round(ore_kg * ore_f * 0.97, 6)
            yield self.writer.sign({"id": self.nid("ev"), "kind": "refining", "actor": REFINER_CN, "occurred_at": at(),
                                    "place": {"country": "CN", "site": "Yichun refinery"}, "data": {"max_loss_pct": 5},
                                    "inputs": [{"lot": ore, "mass_kg": ore_kg}],
                                    "outputs": [{"lot": lot, "kind": "material", "mass_kg": round(out_el / frac, 6),
                                                 "elements_kg": {el: out_el}, "material": product}]})
            self.primary[el].append([lot, round(out_el / frac, 6), country])
        else:  # Mn and iron phosphate: bought as refined primary material
            country, site = ("ZA", "Kalahari manganese") if el == "Mn" else ("CN", "Guizhou phosphate")
            lot = self.nid(f"salt-{el}")
            yield self.writer.sign({"id": self.nid("ev"), "kind": "extraction", "actor": MINE_ID if el == "Mn" else REFINER_CN,
                                    "occurred_at": at(), "place": {"country": country, "site": site},
                                    "outputs": [{"lot": lot, "kind": "material", "mass_kg": round(salt_kg, 6),
                                                 "elements_kg": {el: round(el_kg, 6)}, "material": product,
                                                 "origin": {"type": "primary", "country": country, "site": site}}]})
            self.primary[el].append([lot, round(salt_kg, 6), country])

    def _stock_kg(self, stock: list[list[Any]]) -> float:
        return sum(x[1] for x in stock)

    def make_cathode(self, model_id: str, chemistry: str, per_pack: PackMaterials, packs: int, at: Clock
                     ) -> Iterator[Any]:
        plant, country, site = CATHODE_PLANT[family(chemistry)]
        mass = round(per_pack.cathode_kg * packs, 6)
        inputs: list[dict[str, Any]] = []
        els: dict[str, float] = {}
        for el, el_kg_pack in per_pack.cathode_elements_kg.items():
            need_el = el_kg_pack * packs / 0.99  # 1 % loss in cathode synthesis
            frac = SALT[el][1]
            rec_el = 0.0
            if el in RECYCLABLE:
                avail = self._stock_kg(self.recovered[el]) * frac
                rec_el = round(min(avail, need_el * self.recycled_cap_fraction), 6)
                if rec_el > 1e-6:
                    inputs += self._draw(self.recovered[el], rec_el / frac)
                    self.flow("recovered material", "cathode", rec_el)
            prim_el = need_el - rec_el
            if prim_el > 1e-6:
                while self._stock_kg(self.primary[el]) * frac < prim_el - 1e-6:
                    yield from self._refine(el, prim_el / frac, at)
                countries = {x[0]: x[2] for x in self.primary[el]}
                drawn = self._draw(self.primary[el], prim_el / frac)
                inputs += drawn
                for d in drawn:  # the metal used, by the mine's country (lots bought but not used are stock)
                    self.flow(f"mine {countries[d['lot']]}", "refining", d["mass_kg"] * frac)
                self.flow("refining", "cathode", prim_el)
            els[el] = round(el_kg_pack * packs, 6)
        merged: dict[str, float] = {}
        for i in inputs:
            merged[i["lot"]] = round(merged.get(i["lot"], 0.0) + i["mass_kg"], 6)
        lot = self.nid("cam")
        yield self.writer.sign({"id": self.nid("ev"), "kind": "cathode_production", "actor": plant, "occurred_at": at(),
                                "place": {"country": country, "site": site}, "data": {"max_loss_pct": 2},
                                "inputs": [{"lot": k, "mass_kg": v} for k, v in merged.items()],
                                "outputs": [{"lot": lot, "kind": "material", "mass_kg": mass, "elements_kg": els,
                                             "material": f"{chemistry} cathode active material"}]})
        self.cathode.setdefault(model_id, []).append([lot, mass])

    def _graphite(self, kg: float, at: Clock) -> Iterator[Any]:
        mass = round(max(kg, 20_000.0), 6)
        lot = self.nid("graphite")
        yield self.writer.sign({"id": self.nid("ev"), "kind": "extraction", "actor": REFINER_CN, "occurred_at": at(),
                                "place": {"country": "CN", "site": "Heilongjiang graphite"},
                                "outputs": [{"lot": lot, "kind": "material", "mass_kg": mass, "elements_kg": {"graphite": mass},
                                             "material": "natural graphite",
                                             "origin": {"type": "primary", "country": "CN", "site": "Heilongjiang graphite"}}]})
        self.graphite.append([lot, mass])  # graphite is traced but not in the metal flows (Sankey)

    # ------------------------------------------------------------------ packs
    def make_packs(self, model: dict[str, Any], per_pack: PackMaterials, packs: list[tuple[str, str, str]],
                   at: Clock, *, packs_per_batch: int = 25, modules_per_pack: int = 8,
                   assembler: str = pilot.AUTOMAKER) -> Iterator[Any]:
        """Events that build ``packs`` — (pack id, plant country, plant site) — of ``model`` from the mines up;
        ``assembler`` assembles the packs (the automaker's plants; the Lanzhou fleets' maker for theirs)."""
        model_id, chemistry, cell_maker = model["model_id"], model["chemistry"], model["cell_maker"]
        cell_country, cell_site = CELL_PLANT[cell_maker]
        for start in range(0, len(packs), packs_per_batch):
            group = packs[start:start + packs_per_batch]
            n = len(group)
            while self._stock_kg(self.cathode.get(model_id, [])) < per_pack.cathode_kg * n - 1e-6:
                yield from self.make_cathode(model_id, chemistry, per_pack, packs_per_batch * 2, at)
            while self._stock_kg(self.graphite) < per_pack.graphite_kg * n - 1e-6:
                yield from self._graphite(per_pack.graphite_kg * packs_per_batch * 40, at)
            cam_in = self._draw(self.cathode[model_id], per_pack.cathode_kg * n)
            gr_in = self._draw(self.graphite, per_pack.graphite_kg * n)
            # SCRAP_FRACTION (4 %) of the electrode material is scrap; of the rest, 1 % is lost in cell making
            els = {el: round(v * n * (1 - SCRAP_FRACTION) * CELL_YIELD, 6) for el, v in per_pack.cathode_elements_kg.items()}
            els["graphite"] = round(per_pack.graphite_kg * n * CELL_YIELD, 6)
            # the scrap is a lot of its own (cathode-side electrode scrap), recovered by the recycler (recover_scrap)
            scrap_els = {el: round(v * n * SCRAP_FRACTION, 6) for el, v in per_pack.cathode_elements_kg.items()}
            scrap_kg = round(per_pack.cathode_kg * n * SCRAP_FRACTION, 6)
            batch_kg = round(sum(els.values()), 6)
            batch = self.nid("cellbatch")
            scrap = self.nid("scrap")
            yield self.writer.sign({"id": self.nid("ev"), "kind": "cell_production", "actor": cell_maker, "occurred_at": at(),
                                    "place": {"country": cell_country, "site": cell_site},
                                    "data": {"max_loss_pct": 2},
                                    "inputs": cam_in + gr_in,
                                    "outputs": [{"lot": batch, "kind": "cell_batch", "mass_kg": batch_kg, "elements_kg": els,
                                                 "material": f"{chemistry} cells"},
                                                {"lot": scrap, "kind": "scrap", "mass_kg": scrap_kg,
                                                 "elements_kg": scrap_els, "material": f"{chemistry} electrode scrap"}]})
            self.scrap.append([scrap, scrap_kg, scrap_els])
            self.flow("cathode", "cells", sum(v * n for v in per_pack.cathode_elements_kg.values()))
            n_mod = n * modules_per_pack
            # each module a hair under its share (rounded to the gram's thousandth; down where rounding up would
            # give the modules more than the batch holds: a small pack's modules hold a few grams of an element)
            mod_els = {el: _module_share(v, n_mod) for el, v in els.items()}
            mod_kg = round(sum(mod_els.values()), 6)
            mods = [self.nid("module") for _ in range(n_mod)]
            yield self.writer.sign({"id": self.nid("ev"), "kind": "module_assembly", "actor": cell_maker, "occurred_at": at(),
                                    "place": {"country": cell_country, "site": cell_site.replace("cell", "module")},
                                    "inputs": [{"lot": batch, "mass_kg": batch_kg}],
                                    "outputs": [{"lot": m, "kind": "module", "mass_kg": mod_kg, "elements_kg": mod_els}
                                                for m in mods]})
            pack_kg = round(mod_kg * modules_per_pack, 6)
            pack_els = {el: round(v * modules_per_pack, 6) for el, v in mod_els.items()}
            for p, (pack, country, site) in enumerate(group):
                pm = mods[p * modules_per_pack:(p + 1) * modules_per_pack]
                self.pack_contents[pack] = (pack_kg, pack_els)
                yield self.writer.sign({"id": self.nid("ev"), "kind": "pack_assembly", "actor": assembler,
                                        "occurred_at": at(), "place": {"country": country, "site": site},
                                        "inputs": [{"lot": m, "mass_kg": mod_kg} for m in pm],
                                        "outputs": [{"lot": pack, "kind": "pack", "mass_kg": pack_kg,
                                                     "elements_kg": pack_els, "model_id": model_id}]})
                self.flow("cells", "packs", sum(v for k, v in mod_els.items() if k != "graphite") * modules_per_pack)

    def recover_scrap(self, at: Clock) -> Iterator[Any]:
        """The year's electrode scrap lots (the cell plants' ``cell_production`` outputs), consumed by the Korean
        recycler's scrap line and recovered as pre-consumer salts (95 % of each Art. 8 element)."""
        scrap, self.scrap = self.scrap, []
        if not scrap:
            return
        total = {el: sum(x[2].get(el, 0.0) for x in scrap) for el in RECYCLABLE}
        outs = []
        for el in RECYCLABLE:
            el_kg = round(total[el] * 0.95, 6)
            if el_kg < 1.0:
                continue
            product, frac = SALT[el]
            lot = self.nid(f"rec-{el}")
            outs.append({"lot": lot, "kind": "material", "mass_kg": round(el_kg / frac, 6),
                         "elements_kg": {el: el_kg}, "material": f"recycled {product}",
                         "origin": {"type": "pre_consumer", "country": "KR", "site": "Ochang scrap line",
                                    "certified_by": pilot.RECYCLER_KR}})
            self.flow("cells", "recovered material", el_kg)
            self.recovered[el].append([lot, round(el_kg / frac, 6)])
        if not outs:
            return
        # one tick of the clock per salt, as when each salt was an event of its own (the pilot's random stream,
        # which the clock shares, stays the same): the reagents at the first, the recovery at the last
        ticks = [at() for _ in outs]
        inputs = [{"lot": x[0], "mass_kg": x[1]} for x in scrap]
        # the salts weigh more than the scrap's metal (sulfate, carbonate, water): reagents bought in, no traced element
        reagent_kg = round(max(0.0, sum(o["mass_kg"] for o in outs) - sum(x[1] for x in scrap)) * 1.02 + 1.0, 6)
        reagent = self.nid("reagent")
        yield self.writer.sign({"id": self.nid("ev"), "kind": "extraction", "actor": REFINER_CN, "occurred_at": ticks[0],
                                "place": {"country": "CN", "site": "Jiangxi reagent plant"},
                                "outputs": [{"lot": reagent, "kind": "material", "mass_kg": reagent_kg,
                                             "material": "process reagents (H2SO4, Na2CO3)",
                                             "origin": {"type": "primary", "country": "CN", "site": "Jiangxi reagent plant"}}]})
        yield self.writer.sign({"id": self.nid("ev"), "kind": "material_recovery", "actor": pilot.RECYCLER_KR,
                                "occurred_at": ticks[-1], "place": {"country": "KR", "site": "Ochang scrap line"},
                                "inputs": [*inputs, {"lot": reagent, "mass_kg": reagent_kg}], "outputs": outs})

    # ------------------------------------------------------------------ end of life
    def dismantle(self, pack: str, pack_kg: float, elements_kg: dict[str, float], dismantler: str, place: dict[str, str],
                  at: Clock) -> tuple[Any, str, dict[str, float], float]:
        """Pack → black mass (2 % handling loss). Returns the event, the black-mass lot, its elements and mass."""
        bm = self.nid("blackmass")
        els = {k: round(v * 0.98, 6) for k, v in elements_kg.items()}
        mass = round(sum(els.values()), 6)
        ev = self.writer.sign({"id": self.nid("ev"), "kind": "dismantling", "actor": dismantler, "occurred_at": at(),
                               "place": place, "data": {"max_loss_pct": 3}, "subjects": [pack],
                               "inputs": [{"lot": pack, "mass_kg": round(pack_kg, 6)}],
                               "outputs": [{"lot": bm, "kind": "black_mass", "mass_kg": mass, "elements_kg": els}]})
        return ev, bm, els, mass

    def recycle(self, recycler: str, place: dict[str, str], black_mass: list[tuple[str, float, dict[str, float]]],
                recovery: dict[str, float], at: Clock) -> Iterator[Any]:
        """A recycler's black mass of a year → hydrometallurgical recycling → recovered salts (post-consumer)."""
        if not black_mass:
            return
        total = {k: sum(b[2].get(k, 0.0) for b in black_mass) for k in ("Li", "Ni", "Co", "Mn", "Fe", "graphite")}
        out_els = {el: round(total[el] * recovery.get(el, 0.0), 6) for el in RECYCLABLE if total[el] > 0}
        inter = self.nid("hydro-liquor")
        bm_kg = sum(b[1] for b in black_mass)
        inter_kg = round(min(sum(out_els.values()) / 0.6, bm_kg * 0.95), 6)  # metal-bearing liquor
        present = [k for k, v in total.items() if v > 0]
        worst_loss = max(1 - (out_els.get(k, 0.0) / total[k]) for k in present)
        yield self.writer.sign({"id": self.nid("ev"), "kind": "recycling", "actor": recycler, "occurred_at": at(),
                                "place": place,
                                "data": {"process": "hydrometallurgical", "max_loss_pct": min(100.0, round(worst_loss * 100 + 1, 3))},
                                "inputs": [{"lot": b[0], "mass_kg": round(b[1], 6)} for b in black_mass],
                                "outputs": [{"lot": inter, "kind": "material", "mass_kg": inter_kg, "elements_kg": out_els,
                                             "material": "hydrometallurgical leach liquor"}]})
        outs = []
        for el, kg in out_els.items():
            product, frac = SALT[el]
            lot = self.nid(f"rec-{el}")
            salt = round(kg / frac, 6)
            outs.append({"lot": lot, "kind": "material", "mass_kg": salt, "elements_kg": {el: kg},
                         "material": f"recycled {product}",
                         "origin": {"type": "post_consumer", "country": place["country"], "site": place["site"],
                                    "certified_by": recycler}})
            self.recovered[el].append([lot, salt])
            self.recovered_kg[el] += kg
            self.flow("recycling", "recovered material", kg)
        # precipitating salts takes reagents (sulfuric acid, soda ash): bought in, no traced element in them
        reagent_kg = round(max(0.0, sum(o["mass_kg"] for o in outs) - inter_kg) * 1.02 + 1.0, 6)
        reagent = self.nid("reagent")
        yield self.writer.sign({"id": self.nid("ev"), "kind": "extraction", "actor": REFINER_CN, "occurred_at": at(),
                                "place": {"country": "CN", "site": "Jiangxi reagent plant"},
                                "outputs": [{"lot": reagent, "kind": "material", "mass_kg": reagent_kg,
                                             "material": "process reagents (H2SO4, Na2CO3)",
                                             "origin": {"type": "primary", "country": "CN", "site": "Jiangxi reagent plant"}}]})
        yield self.writer.sign({"id": self.nid("ev"), "kind": "material_recovery", "actor": recycler, "occurred_at": at(),
                                "place": place, "data": {"max_loss_pct": 1},
                                "inputs": [{"lot": inter, "mass_kg": inter_kg}, {"lot": reagent, "mass_kg": reagent_kg}],
                                "outputs": outs})
