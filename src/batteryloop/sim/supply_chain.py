"""A generated supply chain, written as signed lifecycle events: mines and recyclers to packs.

Deterministic for a seed. Used by the tests, the benchmarks and the demo. The chain:

    extraction (mine lots: Li brine CL, spodumene AU, Ni laterite ID, Co ore CD)
      → refining (lithium carbonate, nickel sulfate, cobalt sulfate)
      + material recovery (post-consumer Li/Ni/Co salts from recyclers, pre-consumer scrap)
      → cathode production (NMC811 cathode active material, mixing primary and recycled salts)
      → cell production (cell batches: cathode + graphite)
      → module assembly (one cell batch → ``modules_per_batch`` modules)
      → pack assembly (``modules_per_pack`` modules → one pack, at one of the pilot's plants)
      → passport issued → installation → (some) change of owner, transport, export

Element fractions are round textbook values (Li2CO3 18.8 % Li; NiSO4·6H2O 22.3 % Ni; CoSO4·7H2O
21 % Co; NMC811 LiNi0.8Mn0.1Co0.1O2 ≈ 7.2 % Li, 48.2 % Ni, 6.0 % Co, 5.6 % Mn). Masses are per pack of
about 82 kWh; non-traced components (electrolyte, casings) are left out, so a pack weighs what its
traced material weighs.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator, Sequence
from typing import Any

from . import pilot
from ..trace.client import ChainWriter
from ..trace.keys import Signer

MINE_CL = "BPNL000000000MC1"  # lithium brine, Chile
MINE_AU = "BPNL000000000MA2"  # spodumene, Australia
MINE_ID = "BPNL000000000MI3"  # nickel laterite, Indonesia
MINE_CD = "BPNL000000000MD4"  # cobalt, DR Congo
REFINER_CN = "BPNL000000000RC5"
CAM_KR = "BPNL000000000CK6"  # cathode active material plant, Korea

TRACE_PARTICIPANTS: list[dict[str, Any]] = [
    {"id": MINE_CL, "name": "Salar Andino Litio SpA", "country": "CL", "roles": ["supplier"]},
    {"id": MINE_AU, "name": "Pilbara Spodumene Pty", "country": "AU", "roles": ["supplier"]},
    {"id": MINE_ID, "name": "Sulawesi Nickel Tbk", "country": "ID", "roles": ["supplier"]},
    {"id": MINE_CD, "name": "Katanga Cobalt SARL", "country": "CD", "roles": ["supplier"]},
    {"id": REFINER_CN, "name": "Jiangxi Refining Co.", "country": "CN", "roles": ["supplier"]},
    {"id": CAM_KR, "name": "Hanbit Cathode Materials", "country": "KR", "roles": ["supplier"]},
]

MINES = {  # element, mine participant, country, site, ore element fraction, refined product, its fraction
    "Li-CL": ("Li", MINE_CL, "CL", "Salar de Atacama", 0.002, "lithium carbonate", 0.188),
    "Li-AU": ("Li", MINE_AU, "AU", "Greenbushes", 0.028, "lithium carbonate", 0.188),
    "Ni-ID": ("Ni", MINE_ID, "ID", "Sorowako", 0.018, "nickel sulfate", 0.223),
    "Co-CD": ("Co", MINE_CD, "CD", "Kolwezi", 0.03, "cobalt sulfate", 0.21),
}
SALT = {"Li": ("lithium carbonate", 0.188), "Ni": ("nickel sulfate", 0.223), "Co": ("cobalt sulfate", 0.21)}
NMC811 = {"Li": 0.072, "Ni": 0.482, "Co": 0.060, "Mn": 0.056}
CATHODE_PER_PACK_KG = 106.0
GRAPHITE_PER_PACK_KG = 80.0


def all_participants() -> list[dict[str, Any]]:
    return pilot.PARTICIPANTS + TRACE_PARTICIPANTS + pilot.LOOP_PARTICIPANTS


def demo_signers() -> dict[str, Signer]:
    """Deterministic demo keys, one per participant (never use such keys outside demos and tests)."""
    import hashlib

    return {p["id"]: Signer.from_seed(p["id"], hashlib.sha256(b"batteryloop-demo-key:" + p["id"].encode()).digest())
            for p in all_participants()}


def register_participants(participant_service: Any, signers: dict[str, Signer]) -> None:
    """Register every participant of the generated chain with its public key (skip existing ones)."""
    from ..errors import Conflict

    for p in all_participants():
        try:
            participant_service.create({**p, "public_key": signers[p["id"]].public_key_text})
        except Conflict:
            pass


class _Stock:
    """A supplier's lots of one material, drawn down as downstream production consumes them."""

    def __init__(self) -> None:
        self.lots: list[list[Any]] = []  # [lot id, remaining kg]


def supply_chain(n_packs: int, *, seed: int = 7, signers: dict[str, Signer] | None = None,
                 modules_per_pack: int = 8, packs_per_batch: int = 25, recycled_share: float = 0.15,
                 start: dt.datetime | None = None, lifecycle: bool = True,
                 packs: Sequence[tuple[str, str]] | None = None) -> Iterator[dict[str, Any]]:
    """Signed events (wire form) for ``n_packs`` packs and the material behind them, in a valid order.

    ``packs`` gives the (pack id, battery model id) of each pack — e.g. the demo's passport ids — instead
    of generated ``PACK-<seed>-<n>`` ids of model EM-NMC811-82.
    """
    pack_list = list(packs) if packs is not None else None
    if pack_list is not None:
        n_packs = len(pack_list)
    rng = random.Random(seed)
    signers = signers or demo_signers()
    w = ChainWriter(signers)
    t = start or dt.datetime(2026, 1, 5, 6, 0, tzinfo=dt.UTC)
    counter = {"n": 0}

    def nid(prefix: str) -> str:
        counter["n"] += 1
        return f"{prefix}-{seed}-{counter['n']:08d}"

    def at() -> str:
        nonlocal t
        t += dt.timedelta(seconds=rng.randint(20, 120))
        return t.strftime("%Y-%m-%dT%H:%M:%S.%fZ")

    salts: dict[str, list[list[Any]]] = {"Li": [], "Ni": [], "Co": []}
    recycled: dict[str, list[list[Any]]] = {"Li": [], "Ni": [], "Co": []}
    cathodes: list[list[Any]] = []
    graphite: list[list[Any]] = []

    def refine(el: str, need_kg: float) -> Iterator[dict[str, Any]]:
        key = rng.choice([k for k, v in MINES.items() if v[0] == el])
        _, mine, country, site, ore_f, product, prod_f = MINES[key]
        el_kg = max(need_kg, 40_000.0) * prod_f  # element needed in a refined lot of ≥ 40 t
        ore_kg = round(el_kg / ore_f * 1.03, 3)
        ore = nid(f"ore-{key}")
        yield w.wire({"id": nid("ev"), "kind": "extraction", "actor": mine, "occurred_at": at(),
                      "place": {"country": country, "site": site},
                      "outputs": [{"lot": ore, "kind": "ore", "mass_kg": ore_kg,
                                   "elements_kg": {el: round(ore_kg * ore_f, 6)}, "material": f"{el} ore",
                                   "origin": {"type": "primary", "country": country, "site": site}}]})
        ref = nid(f"salt-{el}")
        out_el = round(ore_kg * ore_f * 0.97, 6)
        yield w.wire({"id": nid("ev"), "kind": "refining", "actor": REFINER_CN, "occurred_at": at(),
                      "place": {"country": "CN", "site": "Yichun refinery"}, "data": {"max_loss_pct": 5},
                      "inputs": [{"lot": ore, "mass_kg": ore_kg}],
                      "outputs": [{"lot": ref, "kind": "material", "mass_kg": round(out_el / prod_f, 6),
                                   "elements_kg": {el: out_el}, "material": product}]})
        salts[el].append([ref, round(out_el / prod_f, 6), prod_f])

    def recover(el: str) -> Iterator[dict[str, Any]]:
        """Recycled salt from waste of an earlier production (outside this chain's packs): a cell line's rejected
        cell batch (pre-consumer, the Korean recycler) or the modules of used batteries (post-consumer, the
        European recycler), each made from primary salt — recycled material is recovered, never minted."""
        product, prod_f = SALT[el]
        post = rng.random() < 0.7
        recycler = pilot.RECYCLER_EU if post else pilot.RECYCLER_KR
        country = "DE" if post else "KR"
        site = "Magdeburg hydromet" if post else "Ochang scrap line"
        mass = 8_000.0
        el_kg = round(mass * prod_f, 6)
        first = {"mass_kg": mass, "elements_kg": {el: el_kg}}
        salt, cells, lot = nid(f"salt-{el}"), nid("cellbatch"), nid(f"rec-{el}")
        yield w.wire({"id": nid("ev"), "kind": "extraction", "actor": REFINER_CN, "occurred_at": at(),
                      "place": {"country": "CN", "site": "Yichun refinery"},
                      "outputs": [{"lot": salt, "kind": "material", **first, "material": product,
                                   "origin": {"type": "primary", "country": "CN", "site": "Yichun refinery"}}]})
        yield w.wire({"id": nid("ev"), "kind": "cell_production", "actor": pilot.CELL_KR, "occurred_at": at(),
                      "place": {"country": "KR", "site": "Ochang first-life cell line"},
                      "inputs": [{"lot": salt, "mass_kg": mass}],
                      "outputs": [{"lot": cells, "kind": "cell_batch", **first, "material": "cells"}]})
        waste = cells
        if post:
            waste = nid("module")
            yield w.wire({"id": nid("ev"), "kind": "module_assembly", "actor": pilot.CELL_KR, "occurred_at": at(),
                          "place": {"country": "KR", "site": "Ochang first-life module line"},
                          "inputs": [{"lot": cells, "mass_kg": mass}],
                          "outputs": [{"lot": waste, "kind": "module", **first}]})
        yield w.wire({"id": nid("ev"), "kind": "material_recovery", "actor": recycler, "occurred_at": at(),
                      "place": {"country": country, "site": site},
                      "inputs": [{"lot": waste, "mass_kg": mass}],
                      "outputs": [{"lot": lot, "kind": "material", **first, "material": f"recycled {product}",
                                   "origin": {"type": "post_consumer" if post else "pre_consumer", "country": country,
                                              "site": site, "certified_by": recycler}}]})
        recycled[el].append([lot, mass, prod_f])

    def draw(stock: list[list[Any]], kg: float) -> list[dict[str, Any]]:
        out = []
        while kg > 1e-9:
            lot = stock[0]
            take = min(kg, lot[1])
            take = round(take, 6)
            if take <= 0:
                stock.pop(0)
                continue
            out.append({"lot": lot[0], "mass_kg": take})
            lot[1] = round(lot[1] - take, 6)
            kg = round(kg - take, 6)
            if lot[1] <= 1e-6:
                stock.pop(0)
        return out

    def make_cathode(packs: int) -> Iterator[dict[str, Any]]:
        mass = CATHODE_PER_PACK_KG * packs
        inputs = []
        els: dict[str, float] = {}
        for el in ("Li", "Ni", "Co"):
            need_el = mass * NMC811[el] / 0.99
            rec_el = need_el * recycled_share * rng.uniform(0.5, 1.5) if rng.random() < 0.8 else 0.0
            prim_el = need_el - rec_el
            for stock, part in ((recycled[el], rec_el), (salts[el], prim_el)):
                if part <= 0:
                    continue
                f = SALT[el][1]
                while sum(x[1] for x in stock) * f < part:
                    yield from (recover(el) if stock is recycled[el] else refine(el, part / f))
                inputs += draw(stock, part / f)
            els[el] = round(need_el * 0.99, 6)
        els["Mn"] = round(mass * NMC811["Mn"], 6)
        mn = nid("salt-Mn")
        yield w.wire({"id": nid("ev"), "kind": "extraction", "actor": MINE_ID, "occurred_at": at(),
                      "place": {"country": "ZA", "site": "Kalahari manganese"},
                      "outputs": [{"lot": mn, "kind": "material", "mass_kg": round(els["Mn"] / 0.32, 6),
                                   "elements_kg": {"Mn": els["Mn"]}, "material": "manganese sulfate",
                                   "origin": {"type": "primary", "country": "ZA", "site": "Kalahari manganese"}}]})
        inputs.append({"lot": mn, "mass_kg": round(els["Mn"] / 0.32, 6)})
        lot = nid("cam")
        total_in = sum(i["mass_kg"] for i in inputs)
        yield w.wire({"id": nid("ev"), "kind": "cathode_production", "actor": CAM_KR, "occurred_at": at(),
                      "place": {"country": "KR", "site": "Gwangyang CAM plant"}, "data": {"max_loss_pct": 2},
                      "inputs": inputs,
                      "outputs": [{"lot": lot, "kind": "material", "mass_kg": round(min(mass, total_in), 6),
                                   "elements_kg": els, "material": "NMC811 cathode active material"}]})
        cathodes.append([lot, round(min(mass, total_in), 6)])

    def make_graphite(packs: int) -> Iterator[dict[str, Any]]:
        mass = max(GRAPHITE_PER_PACK_KG * packs, 20_000.0)
        lot = nid("graphite")
        yield w.wire({"id": nid("ev"), "kind": "extraction", "actor": REFINER_CN, "occurred_at": at(),
                      "place": {"country": "CN", "site": "Heilongjiang graphite"},
                      "outputs": [{"lot": lot, "kind": "material", "mass_kg": mass, "elements_kg": {"graphite": mass},
                                   "material": "natural graphite",
                                   "origin": {"type": "primary", "country": "CN", "site": "Heilongjiang graphite"}}]})
        graphite.append([lot, mass])

    cell_maker = pilot.CELL_KR
    made = 0
    pack_no = 0
    while made < n_packs:
        packs = min(packs_per_batch, n_packs - made)
        while sum(c[1] for c in cathodes) < CATHODE_PER_PACK_KG * packs - 1e-6:
            yield from make_cathode(packs_per_batch * 2)
        while sum(g[1] for g in graphite) < GRAPHITE_PER_PACK_KG * packs - 1e-6:
            yield from make_graphite(packs_per_batch * 40)
        cam_in = draw(cathodes, CATHODE_PER_PACK_KG * packs)
        gr_in = draw(graphite, GRAPHITE_PER_PACK_KG * packs)
        # elements brought by the cathode (NMC811 fractions after the 1 % refining loss)
        els = {el: round(CATHODE_PER_PACK_KG * packs * f * 0.99 * 0.995, 6) for el, f in NMC811.items()}
        els["graphite"] = round(GRAPHITE_PER_PACK_KG * packs * 0.995, 6)
        batch = nid("cellbatch")
        batch_kg = round((CATHODE_PER_PACK_KG + GRAPHITE_PER_PACK_KG) * packs * 0.995, 6)
        yield w.wire({"id": nid("ev"), "kind": "cell_production", "actor": cell_maker, "occurred_at": at(),
                      "place": {"country": "KR", "site": "Ochang cell plant"}, "data": {"max_loss_pct": 2},
                      "inputs": cam_in + gr_in,
                      "outputs": [{"lot": batch, "kind": "cell_batch", "mass_kg": batch_kg, "elements_kg": els,
                                   "material": "NMC811 pouch cells"}]})
        n_mod = packs * modules_per_pack
        mod_kg = round(batch_kg / n_mod * 0.999999, 6)
        mod_els = {el: round(v / n_mod * 0.999999, 6) for el, v in els.items()}
        mods = [nid("module") for _ in range(n_mod)]
        yield w.wire({"id": nid("ev"), "kind": "module_assembly", "actor": cell_maker, "occurred_at": at(),
                      "place": {"country": "KR", "site": "Ochang module line"},
                      "inputs": [{"lot": batch, "mass_kg": batch_kg}],
                      "outputs": [{"lot": m, "kind": "module", "mass_kg": mod_kg, "elements_kg": mod_els}
                                  for m in mods]})
        for p in range(packs):
            country, site = pilot.PLANTS[rng.randrange(len(pilot.PLANTS))]
            pack, model = (pack_list[pack_no] if pack_list is not None
                           else (f"PACK-{seed}-{pack_no:07d}", "EM-NMC811-82"))
            pack_no += 1
            pm = mods[p * modules_per_pack:(p + 1) * modules_per_pack]
            yield w.wire({"id": nid("ev"), "kind": "pack_assembly", "actor": pilot.AUTOMAKER, "occurred_at": at(),
                          "place": {"country": country, "site": site},
                          "inputs": [{"lot": m, "mass_kg": mod_kg} for m in pm],
                          "outputs": [{"lot": pack, "kind": "pack", "mass_kg": round(mod_kg * modules_per_pack, 6),
                                       "elements_kg": {el: round(v * modules_per_pack, 6) for el, v in mod_els.items()},
                                       "model_id": model}]})
            if lifecycle:
                yield from _use(w, rng, pack, model, country, at)
        made += packs


def _use(w: ChainWriter, rng: random.Random, pack: str, model: str, country: str, at: Any) -> Iterator[dict[str, Any]]:
    yield w.wire({"id": f"{pack}-passport", "kind": "passport_issued", "actor": pilot.AUTOMAKER, "occurred_at": at(),
                  "place": {"country": country, "site": "passport service"}, "subjects": [pack],
                  "data": {"passport_id": pack[:50], "model_id": model}})
    r = rng.random()
    if r < 0.6:
        dest = rng.choice(["DE", "FR", "NL", "PL"]) if country != "KR" else "KR"
        yield w.wire({"id": f"{pack}-install", "kind": "installation", "actor": pilot.AUTOMAKER, "occurred_at": at(),
                      "place": {"country": dest, "site": "vehicle plant"}, "subjects": [pack],
                      "data": {"vehicle_id": f"WVW{rng.randrange(10**13):013d}"}})
    if r < 0.1:
        yield w.wire({"id": f"{pack}-owner", "kind": "change_of_owner", "actor": pilot.AUTOMAKER, "occurred_at": at(),
                      "place": {"country": country, "site": "dealer"}, "subjects": [pack],
                      "data": {"to_holder": pilot.BAAS}})


def attach_demo_keys(store: Any, signers: dict[str, Signer]) -> None:
    """Demo set-up: register the chain's participants that are missing and give keyless ones their demo key.

    Writes the participant registry directly (there is no key-rotation use case yet); never use it
    outside demos and tests.
    """
    from ..identity import ParticipantService
    from ..store import participants as repo

    register_participants(ParticipantService(store), signers)
    with store.write() as conn:
        for pid, public_key in repo.public_keys(conn):
            if not public_key and pid in signers:
                repo.set_public_key(conn, pid, signers[pid].public_key_text)


def record_pilot(store: Any, *, n_packs: int = 200, seed: int = 7,
                 packs: Sequence[tuple[str, str]] | None = None) -> Any:
    """Record a pilot's supply chain through the ledger (for the demo): mines to packs, signed and verified."""
    from ..trace.ledger import Ledger

    signers = demo_signers()
    attach_demo_keys(store, signers)
    return Ledger(store).ingest(list(supply_chain(n_packs, seed=seed, signers=signers, packs=packs)))
