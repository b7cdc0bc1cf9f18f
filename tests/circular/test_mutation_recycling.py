"""Recycling (EverBatt) of a hand-sized NMC111 pack, every figure by hand from REFERENCE.md §4:

The pack (given composition): Li 1, Ni 5, Co 2, Mn 2, graphite 10, Cu 8, Al 4 kg in 50 kg of cells;
pack 80 kg of which 20 kg steel; cathode active material 15 kg.

- recovery (everbatt_2023): pyro Cu, steel 0.90, Co, Ni 0.98, Li, Mn, Al, graphite 0; hydro Cu, steel,
  Al, graphite, Li 0.90, Co, Ni, Mn 0.98; direct Cu, steel, Al, graphite 0.90 and the cathode whole 0.90
  (its Li, Ni, Co, Mn count as 0.90 recovered inside it);
- prices ($/kg, EverBatt 2023): Al 1.117, Cu 7.11, steel 0.327, graphite 0.20, Li2CO3 8.57, Ni 16.85,
  Co 50.35, Mn 3.15, NMC111 cathode 25.5; gate fee NMC111 0.20 $/kg (the recycler pays);
- Li2CO3 per Li = (2 × 6.94 + 12.011 + 3 × 15.999) / (2 × 6.94) = 73.888 / 13.88; NiSO4 per Ni =
  (58.693 + 32.06 + 63.996) / 58.693; CoSO4 per Co = (58.933 + 32.06 + 63.996) / 58.933;
- GHG credits (GREET, kg CO2e/kg): Li2CO3 12.4, NiSO4 7.6, CoSO4 6.9, graphite 9.1, Cu 4.5, Al 6.05,
  NMC111 21.4; Mn and steel none;
- process inputs per kg and their prices / factors as in test_mutation_footprint.py; grid US 0.37.
"""

from __future__ import annotations

import math

import pytest

from batteryloop.circular.chemistry import composition_from_materials, pack_composition
from batteryloop.circular.errors import CircularInputError
from batteryloop.circular.recycling import PROCESSES, recycle, recycle_mass, recycle_pack
from tests.circular.unpriced import unpriced_references

LI2CO3 = 73.888 / 13.88
NISO4 = (58.693 + 32.06 + 63.996) / 58.693
COSO4 = (58.933 + 32.06 + 63.996) / 58.933
PRICE = {"Al": 1.117, "Cu": 7.11, "steel": 0.327, "graphite": 0.20, "Li2CO3": 8.57, "Ni": 16.85, "Co": 50.35, "Mn": 3.15}
CELL = {"Li": 1.0, "Ni": 5.0, "Co": 2.0, "Mn": 2.0, "graphite": 10.0, "Cu": 8.0, "Al": 4.0}
BASES = ("cell", "pack")

# per kg of spent battery: (input name, quantity, unit, $ per unit, kg CO2e per unit)
INPUTS = {
    "pyro": [("electricity_mj", 4.68, "MJ", 0.08 / 3.6, 0.37 / 3.6), ("diesel_mj", 0.6, "MJ", 0.025, 0.0741),
             ("limestone_kg", 0.30, "kg", 0.03, 0.02), ("sand_kg", 0.15, "kg", 0.02, 0.005),
             ("HCl_kg", 0.21, "kg", 0.20, 0.8), ("H2O2_kg", 0.06, "kg", 0.60, 1.0)],
    "hydro": [("H2SO4_kg", 1.08, "kg", 0.10, 0.1), ("NaOH_kg", 0.561, "kg", 0.50, 1.2), ("H2O2_kg", 0.366, "kg", 0.60, 1.0),
              ("natural_gas_mj", 2.5, "MJ", 0.004, 0.0561), ("electricity_mj", 0.125, "MJ", 0.08 / 3.6, 0.37 / 3.6),
              ("diesel_mj", 0.6, "MJ", 0.025, 0.0741)],
    "direct": [("CO2_kg", 2.2, "kg", 0.10, 0.5), ("electricity_mj", 2.73, "MJ", 0.08 / 3.6, 0.37 / 3.6),
               ("diesel_mj", 0.6, "MJ", 0.025, 0.0741)],
}

# recovered (element kg, product, product kg, price key, credit kg CO2e) per process on the pack basis
EXPECTED = {
    "pyro": {
        "Ni": (4.9, "Ni", 4.9, "Ni", 4.9 * NISO4 * 7.6),
        "Co": (1.96, "Co", 1.96, "Co", 1.96 * COSO4 * 6.9),
        "Cu": (7.2, "Cu", 7.2, "Cu", 7.2 * 4.5),
        "steel": (18.0, "steel", 18.0, "steel", 0.0),
    },
    "hydro": {
        "Li": (0.9, "Li2CO3", 0.9 * LI2CO3, "Li2CO3", 0.9 * LI2CO3 * 12.4),
        "Ni": (4.9, "Ni", 4.9, "Ni", 4.9 * NISO4 * 7.6),
        "Co": (1.96, "Co", 1.96, "Co", 1.96 * COSO4 * 6.9),
        "Mn": (1.96, "Mn", 1.96, "Mn", 0.0),
        "graphite": (9.0, "graphite", 9.0, "graphite", 9.0 * 9.1),
        "Cu": (7.2, "Cu", 7.2, "Cu", 7.2 * 4.5),
        "Al": (3.6, "Al", 3.6, "Al", 3.6 * 6.05),
        "steel": (18.0, "steel", 18.0, "steel", 0.0),
    },
    "direct": {
        "graphite": (9.0, "graphite", 9.0, "graphite", 9.0 * 9.1),
        "Cu": (7.2, "Cu", 7.2, "Cu", 7.2 * 4.5),
        "Al": (3.6, "Al", 3.6, "Al", 3.6 * 6.05),
        "steel": (18.0, "steel", 18.0, "steel", 0.0),
        "cathode": (13.5, "NMC111 cathode", 13.5, None, 13.5 * 21.4),
    },
}
RECOVERY = {  # Annex XII C basis: recovered / contained per element
    "pyro": {"Li": 0.0, "Ni": 0.98, "Co": 0.98, "Mn": 0.0, "graphite": 0.0, "Cu": 0.9, "Al": 0.0, "steel": 0.9},
    "hydro": {"Li": 0.9, "Ni": 0.98, "Co": 0.98, "Mn": 0.98, "graphite": 0.9, "Cu": 0.9, "Al": 0.9, "steel": 0.9},
    "direct": {"Li": 0.9, "Ni": 0.9, "Co": 0.9, "Mn": 0.9, "graphite": 0.9, "Cu": 0.9, "Al": 0.9, "steel": 0.9},
}


def _pack():  # type: ignore[no-untyped-def]
    return composition_from_materials("NMC111", {**CELL, "steel": 20.0}, cell_mass_kg=50.0, pack_mass_kg=80.0, cam_kg=15.0)


@pytest.mark.parametrize("process", PROCESSES)
def test_pack_recycling_by_hand(process: str) -> None:
    """Every recovered line, the totals, both values, GHG, efficiency and recovery of the 80 kg pack.
    Efficiency = recovered element (cathode: powder) kg / 80: pyro (4.9 + 1.96 + 7.2 + 18) / 80 = 0.40075;
    hydro (0.9 + 4.9 + 1.96 + 1.96 + 9 + 7.2 + 3.6 + 18) / 80 = 0.594; direct (9 + 7.2 + 3.6 + 18 + 13.5) / 80
    = 0.64125."""
    r = recycle(_pack(), process)
    exp = EXPECTED[process]
    assert [m.material for m in r.recovered] == list(exp)
    revenue = credit = 0.0
    for m in r.recovered:
        rec, product, product_kg, price_key, cr = exp[m.material]
        price = 25.5 if price_key is None else PRICE[price_key]
        assert (m.product, m.price_usd_per_kg) == (product, price)
        assert m.recovered_kg == pytest.approx(rec, rel=1e-12) and m.product_kg == pytest.approx(product_kg, rel=1e-12)
        assert m.revenue_usd == pytest.approx(product_kg * price, rel=1e-12)
        assert m.credit_kgco2e == pytest.approx(cr, rel=1e-12)
        assert m.contained_kg == (15.0 if m.material == "cathode" else {**CELL, "steel": 20.0}[m.material])
        assert m.recovery_fraction == pytest.approx(0.9 if m.material == "cathode" else RECOVERY[process][m.material])
        revenue += product_kg * price
        credit += cr
    # a smelter takes the whole 80 kg; hydro and direct charge their inputs on the 50 kg of cells (pre-treatment
    # sends the 30 kg of hardware to scrap metal), diesel (handling, shredding) on all 80
    on = {n: 80.0 if process == "pyro" or n == "diesel_mj" else 50.0 for n, *_ in INPUTS[process]}
    cost = sum(q * on[n] * c for n, q, _, c, _ in INPUTS[process])
    ghg = sum(q * on[n] * g for n, q, _, _, g in INPUTS[process])
    assert [(i.name, i.unit) for i in r.inputs] == [(n, u) for n, _, u, _, _ in INPUTS[process]]
    for i, (n, q, _, c, g) in zip(r.inputs, INPUTS[process], strict=True):
        assert i.charged_on_kg == on[n]
        assert i.quantity == pytest.approx(q * on[n], rel=1e-12)
        assert i.cost_usd == pytest.approx(q * on[n] * c, rel=1e-12) and i.ghg_kgco2e == pytest.approx(q * on[n] * g, rel=1e-12)
    assert r.revenue_usd == pytest.approx(revenue, rel=1e-12)
    assert r.input_cost_usd == pytest.approx(cost, rel=1e-12)
    assert r.process_ghg_kgco2e == pytest.approx(ghg, rel=1e-12)
    assert r.credit_ghg_kgco2e == pytest.approx(credit, rel=1e-12)
    assert r.net_ghg_kgco2e == pytest.approx(ghg - credit, rel=1e-12)
    assert (r.gate_fee_usd_per_kg, r.gate_fee_usd, r.other_cost_usd) == (0.20, pytest.approx(16.0), 0.0)
    assert r.recycler_net_value_usd == pytest.approx(revenue - 16.0 - cost, rel=1e-12)
    assert r.material_net_value_usd == pytest.approx(revenue - cost, rel=1e-12)
    eff = {"pyro": 0.40075, "hydro": 0.594, "direct": 0.64125}[process]
    assert r.recycling_efficiency_fraction == pytest.approx(eff, rel=1e-12)
    assert r.material_recovery_fraction == pytest.approx(RECOVERY[process], rel=1e-12)
    assert (r.process, r.chemistry, r.input_mass_kg, r.basis, r.grid_country) == (process, "NMC111", 80.0, "pack", "US")
    # per-kg views divide by the 80 kg input
    assert r.revenue_usd_per_kg == pytest.approx(revenue / 80, rel=1e-12)
    assert r.recycler_net_value_usd_per_kg == pytest.approx((revenue - 16.0 - cost) / 80, rel=1e-12)
    assert r.material_net_value_usd_per_kg == pytest.approx((revenue - cost) / 80, rel=1e-12)
    assert r.net_ghg_kgco2e_per_kg == pytest.approx((ghg - credit) / 80, rel=1e-12)
    assert r.recovered_kg("Cu") == pytest.approx(7.2, rel=1e-12) and r.recovered_kg("Fe") == 0
    # 30 kg of hardware, 20 kg of it steel (given): the other 10 kg are of unknown material, not counted
    assert ("pack hardware composition unknown for 10 kg of 30 kg: not counted as recycled; give it "
            "(composition_from_materials(hardware_kg=...)) to count it") in r.notes
    assert "Mn, Fe and steel get no GHG credit (no factor in greet_everbatt_ghg)" in r.notes
    assert not any("Fe is not in EverBatt" in n for n in r.notes)  # no Fe in this pack


@pytest.mark.parametrize("process", PROCESSES)
def test_cell_basis_leaves_out_the_pack(process: str) -> None:
    """basis='cell': the 50 kg of cells only, no steel; gate fee and inputs scale with 50 kg.
    Efficiency: pyro (4.9 + 1.96 + 7.2) / 50 = 0.2812; hydro 29.52 / 50 = 0.5904; direct (9 + 7.2 + 3.6 + 13.5)
    / 50 = 0.666."""
    r = recycle(_pack(), process, basis="cell")
    assert r.input_mass_kg == 50.0 and r.basis == "cell"
    assert "steel" not in r.material_recovery_fraction and r.recovered_kg("steel") == 0
    assert r.recycling_efficiency_fraction == pytest.approx({"pyro": 0.2812, "hydro": 0.5904, "direct": 0.666}[process], rel=1e-12)
    assert r.gate_fee_usd == pytest.approx(10.0)
    assert r.inputs[0].quantity == pytest.approx(INPUTS[process][0][1] * 50, rel=1e-12)


@pytest.mark.parametrize("basis", BASES)
@pytest.mark.parametrize("process", PROCESSES)
def test_properties_on_every_process_and_basis(process: str, basis: str) -> None:
    """For any process and basis: value identities (recycler = material − gate fee), net GHG = process
    − credits, recovered ≤ contained, efficiency ≤ 1, every contained element has a recovery, and
    doubling the input doubles every mass, money and GHG figure but keeps the fractions."""
    one = recycle(_pack(), process, basis=basis)  # type: ignore[arg-type]
    two = recycle(_pack().scaled(2.0), process, basis=basis)  # type: ignore[arg-type]
    assert one.recycler_net_value_usd == pytest.approx(one.material_net_value_usd - one.gate_fee_usd, rel=1e-12)
    assert one.net_ghg_kgco2e == pytest.approx(one.process_ghg_kgco2e - one.credit_ghg_kgco2e, rel=1e-12)
    assert 0 < one.recycling_efficiency_fraction <= 1
    assert all(0 <= f <= 1 for f in one.material_recovery_fraction.values())
    assert all(m.recovered_kg <= m.contained_kg for m in one.recovered)
    for attr in ("revenue_usd", "input_cost_usd", "gate_fee_usd", "process_ghg_kgco2e", "credit_ghg_kgco2e",
                 "recycler_net_value_usd", "input_mass_kg"):
        assert getattr(two, attr) == pytest.approx(2 * getattr(one, attr), rel=1e-12), attr
    assert two.recycling_efficiency_fraction == pytest.approx(one.recycling_efficiency_fraction, rel=1e-12)
    assert two.material_recovery_fraction == pytest.approx(one.material_recovery_fraction, rel=1e-12)


def test_given_prices_gate_fee_other_cost_and_country() -> None:
    """Co at 30 $/kg (given: recorded as an input), gate fee −1.5 $/kg (the recycler is paid: 120 $ for
    80 kg), other cost 0.5 $/kg (40 $), recycling in FR (0.056 kg/kWh): electricity GHG 50 × 0.125 / 3.6 ×
    0.056 (on the 50 kg of cells). Recycler value = revenue + 120 − inputs − 40; material value = revenue − inputs − 40."""
    base = recycle(_pack(), "hydro")
    r = recycle(_pack(), "hydro", prices_usd_per_kg={"Co": 30.0}, gate_fee_usd_per_kg=-1.5, other_cost_usd_per_kg=0.5,
                grid_country="FR")
    assert r.revenue_usd == pytest.approx(base.revenue_usd - 1.96 * (50.35 - 30.0), rel=1e-12)
    assert (r.gate_fee_usd_per_kg, r.gate_fee_usd, r.other_cost_usd) == (-1.5, -120.0, 40.0)
    assert r.recycler_net_value_usd == pytest.approx(r.revenue_usd + 120 - r.input_cost_usd - 40, rel=1e-12)
    assert r.material_net_value_usd == pytest.approx(r.revenue_usd - r.input_cost_usd - 40, rel=1e-12)
    elec = next(i for i in r.inputs if i.name == "electricity_mj")
    assert elec.ghg_kgco2e == pytest.approx(50 * 0.125 / 3.6 * 0.056, rel=1e-12) and r.grid_country == "FR"  # the 50 kg of cells
    inputs = {u.key: u.value for u in r.references if u.set == "input"}
    assert inputs == {"price_usd_per_kg.Co": 30.0, "gate_fee_usd_per_kg": -1.5}
    assert ("grid_factors", "kgco2e_per_kwh.FR") in {(u.set, u.key) for u in r.references}
    zero_fee = recycle(_pack(), "hydro", gate_fee_usd_per_kg=0)
    assert zero_fee.gate_fee_usd == 0.0 and zero_fee.recycler_net_value_usd == pytest.approx(zero_fee.material_net_value_usd)


def test_reference_pack_notes() -> None:
    """A reference LFP pack (hardware from the default pack design: no unknown-hardware note); Fe is
    in no recovery table (note, except in direct recycling, where Fe stays in the cathode); Mn/Fe/steel
    get no credit (note). On the cell basis no hardware note. NMC532 has no published gate fee: 0 with a
    note. LMFP cathode powder has no GHG factor: no credit for it, with a note."""
    lfp = pack_composition("LFP", 1.0)
    hydro = recycle(lfp, "hydro")
    assert not any("pack hardware" in n for n in hydro.notes)
    assert "Fe is not in EverBatt's recovery table: counted as not recovered" in hydro.notes
    assert "Mn, Fe and steel get no GHG credit (no factor in greet_everbatt_ghg)" in hydro.notes
    assert hydro.material_recovery_fraction["Fe"] == 0.0
    direct = recycle(lfp, "direct")
    assert not any("Fe is not in EverBatt" in n for n in direct.notes)
    assert direct.material_recovery_fraction["Fe"] == pytest.approx(0.9)
    cell = recycle(lfp, "hydro", basis="cell")
    assert not any("pack hardware" in n for n in cell.notes)
    nmc532 = recycle(pack_composition("NMC532", 1.0), "hydro")
    assert nmc532.gate_fee_usd_per_kg == 0.0
    assert "no published gate fee for NMC532: 0 assumed; pass gate_fee_usd_per_kg to set one" in nmc532.notes
    lmfp = recycle(pack_composition("LMFP", 1.0), "direct", prices_usd_per_kg={"cathode": 12.0})
    assert "no GHG factor for LMFP cathode powder: no credit for it" in lmfp.notes
    cathode = next(m for m in lmfp.recovered if m.material == "cathode")
    assert cathode.credit_kgco2e == 0.0 and cathode.price_usd_per_kg == 12.0
    nmc = recycle(pack_composition("NMC622", 1.0), "pyro")
    assert not any("Fe is not in EverBatt" in n for n in nmc.notes)  # no Fe in NMC
    assert not any("no GHG factor" in n for n in recycle(pack_composition("NMC622", 1.0), "direct").notes)


def test_missing_price_error_or_zero() -> None:
    """NMC532 cathode powder has no EverBatt price: direct recycling is an error naming the key and the
    fix, or valued at 0 with a note when asked."""
    comp = pack_composition("NMC532", 1.0)
    msg = (r"prices_usd_per_kg\.cathode=None: no price for recovered NMC532 cathode powder "
           r"\(everbatt_2023\.cathode_price_usd_per_kg has no 'NMC532'\); give prices_usd_per_kg=\{'cathode': \.\.\.\} "
           r"or override the reference table")
    with pytest.raises(CircularInputError, match=msg):
        recycle(comp, "direct")
    z = recycle(comp, "direct", missing_price="zero")
    assert "no price for NMC532 cathode powder: valued at 0" in z.notes
    assert next(m for m in z.recovered if m.material == "cathode").revenue_usd == 0.0
    given = recycle(comp, "direct", prices_usd_per_kg={"cathode": 20.0}).recovered
    assert next(m for m in given if m.material == "cathode").price_usd_per_kg == 20.0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"process": "smelt"}, "process='smelt': must be one of pyro, hydro, direct"),
        ({"basis": "module"}, "basis='module': must be 'pack' or 'cell'"),
        ({"other_cost_usd_per_kg": -0.1}, r"other_cost_usd_per_kg=-0\.1: must be a finite number, 0 or more"),
        ({"prices_usd_per_kg": {"Co": -1.0}}, r"prices_usd_per_kg\.Co=-1\.0: must be a finite number, 0 or more"),
        ({"gate_fee_usd_per_kg": math.nan}, "gate_fee_usd_per_kg=nan: must be a finite number"),
        ({"gate_fee_usd_per_kg": math.inf}, "gate_fee_usd_per_kg=inf: must be a finite number"),
        ({"gate_fee_usd_per_kg": -math.inf}, "gate_fee_usd_per_kg=-inf: must be a finite number"),
        ({"grid_country": "Atlantis"}, r"grid_country='Atlantis': no grid factor; known: CN, DE, .*, WORLD \(or add one with an "
                                       r"override of grid_factors\.kgco2e_per_kwh\)"),
    ],
)
def test_bad_input_names_the_field(kwargs: dict, message: str) -> None:
    args = {"process": "hydro"} | kwargs
    with pytest.raises(CircularInputError, match=message):
        recycle(_pack(), args.pop("process"), **args)


def test_recycle_mass_and_pack() -> None:
    """100 kg of NMC622 packs = 100 / 5.15 kWh of packs; all three processes in order, or one. On the
    cell basis the input is 100 kg of cells. recycle_pack of 2 kWh = 10.3 kg."""
    all3 = recycle_mass("NMC622", 100.0)
    assert [r.process for r in all3] == list(PROCESSES)
    assert all(r.input_mass_kg == pytest.approx(100.0) and r.basis == "pack" for r in all3)
    (one,) = recycle_mass("NMC622", 100.0, "pyro", basis="cell")
    assert one.process == "pyro" and one.basis == "cell" and one.input_mass_kg == pytest.approx(100.0)
    assert "steel" not in one.material_recovery_fraction
    with pytest.raises(CircularInputError, match="process='x': must be one of pyro, hydro, direct"):
        recycle_mass("NMC622", 100.0, "x")
    priced = recycle_mass("NMC622", 100.0, "hydro", prices_usd_per_kg={"Co": 0.0})[0]
    assert next(m for m in priced.recovered if m.material == "Co").revenue_usd == 0.0
    p = recycle_pack("NMC622", 2.0, "hydro", other_cost_usd_per_kg=1.0)
    assert p.input_mass_kg == pytest.approx(10.3) and p.other_cost_usd == pytest.approx(10.3)


def test_missing_element_price_names_the_product() -> None:
    """Without any reference price, pyro recycling of the pack fails on the first recovered product (Ni),
    naming it; with missing_price='zero' every product is valued at 0 with a note naming it."""
    refs = unpriced_references()
    with pytest.raises(CircularInputError, match=r"prices_usd_per_kg\.Ni=None: no price for recovered Ni \(everbatt_2023\.price_usd_per_kg has no 'Ni'\)"):
        recycle(_pack(), "pyro", references=refs)
    z = recycle(_pack(), "hydro", references=refs, missing_price="zero")
    assert z.revenue_usd == 0.0
    for product in ("Li2CO3", "Ni", "Co", "Mn", "graphite", "Cu", "Al", "steel"):
        assert f"no price for {product}: valued at 0" in z.notes


def test_exactly_one_kilogram_is_credited_and_unknown_materials_are_not_recovered() -> None:
    """With hydro's Cu recovery overridden to 0.5, 2 kg of Cu give exactly 1 kg recovered: credit 1 × 4.5
    = 4.5 kg CO2e. A material the recovery tables do not know (silicon in the anode) is counted as not
    recovered (recovery 0), neither sold nor credited."""
    from batteryloop.circular.chemistry import PackComposition
    from batteryloop.reference import References

    refs = References.default().override({"everbatt_2023": {"recovery_fraction": {"hydro": {"Cu": 0.5}}}})
    comp = PackComposition(chemistry="NMC811", capacity_kwh=None, materials_kg={"Cu": 2.0, "Si": 1.0},
                           cathode_active_material_kg=0.0, cell_mass_kg=4.0, pack_mass_kg=4.0, is_estimate=False, source="given")
    r = recycle(comp, "hydro", references=refs)
    cu = next(m for m in r.recovered if m.material == "Cu")
    assert cu.recovered_kg == 1.0 and cu.credit_kgco2e == 4.5
    assert [m.material for m in r.recovered] == ["Cu"]
    assert r.material_recovery_fraction == {"Cu": 0.5, "Si": 0.0}
    assert r.recycling_efficiency_fraction == 0.25  # 1 kg of 4 kg
    # no Mn, Fe or steel in it: no note about their missing credit or Fe's missing recovery
    assert not any(n.startswith(("Mn, Fe and steel", "Fe is not")) for n in r.notes)


def test_mn_and_fe_notes_only_when_present() -> None:
    """NCA holds no Mn and no Fe (0 kg each): no note about their credit. 0.5 kg of Mn (less than 1 kg)
    is enough for the note; Fe (0.5 kg) adds the 'not recovered' note except in direct recycling."""
    from batteryloop.circular.chemistry import PackComposition

    nca = recycle(pack_composition("NCA", 1.0), "hydro", basis="cell")
    assert not any(n.startswith(("Mn, Fe and steel", "Fe is not")) for n in nca.notes)
    # the whole NCA pack has steel in its hardware: sold, but not credited, and the note says so
    assert "Mn, Fe and steel get no GHG credit (no factor in greet_everbatt_ghg)" in recycle(
        pack_composition("NCA", 1.0), "hydro").notes

    def bare(materials):  # type: ignore[no-untyped-def]
        return PackComposition(chemistry="NMC811", capacity_kwh=None, materials_kg=materials, cathode_active_material_kg=0.0,
                               cell_mass_kg=4.0, pack_mass_kg=4.0, is_estimate=False, source="given")

    mn = recycle(bare({"Mn": 0.5, "Cu": 1.0}), "hydro")
    assert "Mn, Fe and steel get no GHG credit (no factor in greet_everbatt_ghg)" in mn.notes
    assert not any(n.startswith("Fe is not") for n in mn.notes)
    fe = recycle(bare({"Fe": 0.5, "Cu": 1.0}), "pyro")
    assert "Mn, Fe and steel get no GHG credit (no factor in greet_everbatt_ghg)" in fe.notes
    assert "Fe is not in EverBatt's recovery table: counted as not recovered" in fe.notes


def test_mass_and_pack_helpers_pass_references_and_options_on() -> None:
    """An override of NMC622's pack mass (6.0 kg/kWh instead of 5.15) and its Cu content (0.3 instead of
    0.254 kg/kWh): 60 kg of packs are 10 kWh → 3.0 kg Cu → 2.7 kg recovered; a 2 kWh pack weighs 12 kg.
    Options (other cost 1 $/kg) reach every process."""
    from batteryloop.reference import References

    refs = References.default().override({"batpac_5": {"kg_per_kwh_cell": {"NMC622": {"pack_mass": 6.0, "Cu": 0.3}}}})
    for r in recycle_mass("NMC622", 60.0, references=refs, other_cost_usd_per_kg=1.0):
        assert r.recovered_kg("Cu", "cell") == pytest.approx(2.7, rel=1e-12) and r.other_cost_usd == pytest.approx(60.0)
        assert any(u.set == "batpac_5" and u.overridden for u in r.references)
    p = recycle_pack("NMC622", 2.0, "hydro", references=refs)
    assert p.input_mass_kg == pytest.approx(12.0, rel=1e-12) and p.recovered_kg("Cu", "cell") == pytest.approx(0.54, rel=1e-12)


def test_hardware_note_only_when_there_is_unknown_hardware() -> None:
    """Cells only (pack mass = cell mass): no hardware, no note on the pack basis. 0.5 kg of hardware
    of unknown composition (less than 1 kg): the note."""
    cells = composition_from_materials("NMC111", CELL, cell_mass_kg=50.0)
    assert not any("pack hardware" in n for n in recycle(cells, "hydro").notes)
    small = composition_from_materials("NMC111", CELL, cell_mass_kg=50.0, pack_mass_kg=50.5)
    assert any(n.startswith("pack hardware composition unknown") for n in recycle(small, "hydro").notes)
