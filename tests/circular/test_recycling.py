"""Recycling processes against hand calculations from the EverBatt/BatPaC tables, conservation, errors."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from batteryloop.circular.chemistry import CHEMISTRIES, composition_for_mass, composition_from_materials, pack_composition
from batteryloop.circular.errors import CircularInputError
from batteryloop.circular.recycling import LI2CO3_PER_LI, PROCESSES, recycle, recycle_mass, recycle_pack
from batteryloop.reference import References

# kg Li2CO3 per kg Li = (2 × 6.94 + 12.011 + 3 × 15.999) / (2 × 6.94) = 73.888 / 13.88
LI2CO3 = 73.888 / 13.88


def test_li2co3_factor():
    assert LI2CO3_PER_LI == pytest.approx(LI2CO3)


def test_nmc622_hydro_revenue_per_kg_of_cells_at_default_prices():
    # one kWh of NMC622 cells weighs 3.19 kg and holds (BatPaC 5.0):
    # Li 0.105, Ni 0.519, Co 0.174, Mn 0.162, graphite 0.87, Cu 0.254, Al 0.165 kg.
    # hydro recovers Li 90 % (as Li2CO3), Ni/Co/Mn 98 %, graphite/Cu/Al 90 %; EverBatt 2023 prices:
    revenue_per_kwh = (
        0.105 * 0.90 * LI2CO3 * 8.57  # Li2CO3   4.3108
        + 0.519 * 0.98 * 16.85  # Ni            8.5702
        + 0.174 * 0.98 * 50.35  # Co            8.5857
        + 0.162 * 0.98 * 3.15  # Mn             0.5001
        + 0.87 * 0.90 * 0.20  # graphite        0.1566
        + 0.254 * 0.90 * 7.11  # Cu             1.6254
        + 0.165 * 0.90 * 1.117  # Al            0.1659
    )  # = 23.9146 $ per kWh of cells
    expected_per_kg = revenue_per_kwh / 3.19  # = 7.4967 $/kg of cells
    r = recycle(composition_for_mass("NMC622", 3.19, "cell"), "hydro", basis="cell")
    assert r.revenue_usd_per_kg == pytest.approx(expected_per_kg, rel=1e-9)
    assert r.revenue_usd_per_kg == pytest.approx(7.4967, abs=1e-3)


def test_hydro_inputs_cost_and_ghg_per_kg():
    r = recycle(composition_for_mass("NMC622", 100.0, "pack"), "hydro", grid_country="US")
    # per kg of spent battery: H2SO4 1.08 kg, NaOH 0.561 kg, H2O2 0.366 kg, natural gas 2.5 MJ,
    # electricity 0.125 MJ, diesel 0.6 MJ; assumed prices and factors (batteryloop_assumptions, IPCC, grid US 0.37)
    # charged on the cells (100 × 3.19 / 5.15 = 61.94175 kg: pre-treatment sends the hardware to scrap metal) but
    # diesel, on the whole 100 kg (handling and shredding)
    cells = 100 * 3.19 / 5.15
    cost = 1.08 * 0.10 + 0.561 * 0.50 + 0.366 * 0.60 + 2.5 * 0.004 + 0.125 / 3.6 * 0.08
    ghg = 1.08 * 0.1 + 0.561 * 1.2 + 0.366 * 1.0 + 2.5 * 0.0561 + 0.125 / 3.6 * 0.37
    assert r.input_cost_usd == pytest.approx(cells * cost + 100 * 0.6 * 0.025)
    assert r.process_ghg_kgco2e == pytest.approx(cells * ghg + 100 * 0.6 * 0.0741)
    assert {i.name for i in r.inputs} == {"H2SO4_kg", "NaOH_kg", "H2O2_kg", "natural_gas_mj", "electricity_mj", "diesel_mj"}


def test_gate_fee_sign_lfp_recycler_is_paid():
    r = recycle(composition_for_mass("LFP", 100.0, "pack"), "hydro")
    assert r.gate_fee_usd_per_kg == -2.0
    # recycler net = revenue − gate fee × mass − inputs: a −2 $/kg gate fee adds 200 $
    assert r.recycler_net_value_usd == pytest.approx(r.revenue_usd + 200.0 - r.input_cost_usd)
    assert r.material_net_value_usd == pytest.approx(r.revenue_usd - r.input_cost_usd)


def test_pyro_loses_li_mn_al_graphite_and_credits():
    r = recycle_pack("NMC111", 50, "pyro")
    assert r.recovered_kg("Li") == 0 and r.recovered_kg("Mn") == 0 and r.recovered_kg("graphite") == 0
    assert r.recovered_kg("Co") == pytest.approx(0.323 * 50 * 0.98)
    # credits: Co as CoSO4 (154.989/58.933 kg per kg Co) × 6.9; Ni as NiSO4 (154.749/58.693) × 7.6; Cu × 4.5,
    # the cells' Cu and the hardware's (10 % of (5.38 − 3.41) kg/kWh × 50 kWh, batpac_5 NMC111, module_pack);
    # the hardware's aluminium goes to slag in pyro: not recovered, not credited
    hw_cu = 0.10 * (5.38 - 3.41) * 50
    credit = (
        0.323 * 50 * 0.98 * (154.989 / 58.933) * 6.9
        + 0.322 * 50 * 0.98 * (154.749 / 58.693) * 7.6
        + 0.275 * 50 * 0.90 * 4.5
        + hw_cu * 0.90 * 4.5
    )
    assert r.recovered_kg("Cu", "hardware") == pytest.approx(hw_cu * 0.90) and r.recovered_kg("Al", "hardware") == 0
    assert r.credit_ghg_kgco2e == pytest.approx(credit, rel=1e-4)
    assert r.net_ghg_kgco2e == pytest.approx(r.process_ghg_kgco2e - credit, rel=1e-4)


def test_direct_recovers_cathode_powder_at_its_price():
    comp = pack_composition("NMC811", 1)
    r = recycle(comp, "direct", basis="cell")
    cathode = next(x for x in r.recovered if x.material == "cathode")
    assert cathode.product_kg == pytest.approx(0.9 * comp.cathode_active_material_kg)
    assert cathode.revenue_usd == pytest.approx(0.9 * comp.cathode_active_material_kg * 26.0)
    assert r.material_recovery_fraction["Ni"] == pytest.approx(0.9)


def test_recycling_efficiency_cell_basis_hydro_nmc622():
    # recovered element mass per kWh: 0.9 × (0.105 + 0.87 + 0.254 + 0.165) + 0.98 × (0.519 + 0.174 + 0.162)
    recovered = 0.9 * (0.105 + 0.87 + 0.254 + 0.165) + 0.98 * (0.519 + 0.174 + 0.162)  # = 2.0925
    r = recycle(pack_composition("NMC622", 1), "hydro", basis="cell")
    assert r.recycling_efficiency_fraction == pytest.approx(recovered / 3.19)  # 0.656


def test_prices_as_input_change_revenue_and_are_recorded():
    base = recycle_pack("NMC622", 1, "hydro")
    dear = recycle_pack("NMC622", 1, "hydro", prices_usd_per_kg={"Li2CO3": 71.0})
    assert dear.revenue_usd - base.revenue_usd == pytest.approx(0.105 * 0.9 * LI2CO3 * (71.0 - 8.57))
    assert any(u.set == "input" and u.key == "price_usd_per_kg.Li2CO3" for u in dear.references)


def test_missing_price_is_a_clear_error():
    with pytest.raises(CircularInputError) as e:
        recycle_pack("NMC532", 60, "direct")
    assert e.value.field == "prices_usd_per_kg.cathode" and "NMC532" in str(e.value)
    ok = recycle_pack("NMC532", 60, "direct", prices_usd_per_kg={"cathode": 24.0})
    assert ok.revenue_usd > 0
    refs = References.default().override({"everbatt_2023": {"cathode_price_usd_per_kg": {"NMC532": 24.0}}})
    assert recycle_pack("NMC532", 60, "direct", references=refs).revenue_usd == pytest.approx(ok.revenue_usd)


def test_bad_inputs_name_the_field():
    with pytest.raises(CircularInputError) as e:
        recycle_mass("NMC622", -5)
    assert e.value.field == "mass_kg"
    with pytest.raises(CircularInputError) as e:
        recycle_pack("NMC622", 60, "smelt")
    assert e.value.field == "process"
    with pytest.raises(CircularInputError) as e:
        recycle_mass("XYZ", 10)
    assert e.value.field == "chemistry"
    with pytest.raises(CircularInputError) as e:
        recycle_pack("NMC622", 60, "hydro", prices_usd_per_kg={"Co": -3})
    assert e.value.field == "prices_usd_per_kg.Co"
    with pytest.raises(CircularInputError) as e:
        recycle_pack("NMC622", 60, "hydro", grid_country="XX")
    assert e.value.field == "grid_country"


def test_recycle_mass_all_processes():
    results = recycle_mass("NMC811", 500.0)
    assert [r.process for r in results] == list(PROCESSES)
    assert all(r.input_mass_kg == 500.0 for r in results)


@settings(max_examples=150, deadline=None)
@given(
    chem=st.sampled_from(CHEMISTRIES),
    process=st.sampled_from(PROCESSES),
    capacity=st.floats(0.5, 500),
    fractions=st.lists(st.floats(0, 1), min_size=10, max_size=10),
)
def test_recovered_never_exceeds_contained(chem, process, capacity, fractions):
    keys = ["Cu", "steel", "Al", "graphite", "Li", "Co", "Ni", "Mn", "Fe", "cathode"]
    refs = References.default().override(
        {"everbatt_2023": {"recovery_fraction": {process: dict(zip(keys, fractions))}}}
    )
    comp = pack_composition(chem, capacity, refs)
    r = recycle(comp, process, references=refs, missing_price="zero")
    for item in r.recovered:
        assert item.recovered_kg <= item.contained_kg * (1 + 1e-12)
    for el, frac in r.material_recovery_fraction.items():
        assert 0 <= frac <= 1 + 1e-12, el
    assert r.recycling_efficiency_fraction <= 1


@settings(max_examples=60, deadline=None)
@given(
    masses=st.dictionaries(st.sampled_from(["Li", "Ni", "Co", "Mn", "graphite", "Cu", "Al"]), st.floats(0, 20), min_size=1),
    process=st.sampled_from(PROCESSES),
)
def test_given_composition_conserves_mass(masses, process):
    comp = composition_from_materials("NMC622", masses, cell_mass_kg=200.0, pack_mass_kg=300.0)
    r = recycle(comp, process, missing_price="zero")
    for el, kg in masses.items():
        assert r.recovered_kg(el) <= kg + 1e-9


def test_result_records_overridden_reference_values():
    refs = References.default().override({"everbatt_2023": {"recovery_fraction": {"hydro": {"Li": 0.5}}}})
    r = recycle_pack("NMC622", 10, "hydro", references=refs)
    used = {(u.set, u.key): u for u in r.references}
    li = used[("everbatt_2023", "recovery_fraction.hydro.Li")]
    assert li.value == 0.5 and li.overridden
    assert not used[("everbatt_2023", "recovery_fraction.hydro.Co")].overridden
    assert r.recovered_kg("Li") == pytest.approx(0.105 * 10 * 0.5)
    assert not used[("batteryloop_assumptions", "process_input_price_usd.H2SO4_per_kg")].verified


def test_pack_hardware_metals_are_sold_at_their_prices():
    """A whole NMC622 pack (1 kWh: hardware 5.15 − 3.19 = 1.96 kg, module_pack shares Al 0.60, steel 0.15,
    Cu 0.10) through hydro (Al, steel, Cu recovered at 0.90): the hardware adds 0.9 × 1.96 × (0.60 × Al price
    + 0.15 × steel price + 0.10 × Cu price) to the revenue of the cells alone, with the EverBatt 2023
    prices read from the reference table (not the code under test)."""
    from batteryloop.reference import References

    prices = References.default().set("everbatt_2023").get("price_usd_per_kg")
    comp = pack_composition("NMC622", 1)
    pack, cells = recycle(comp, "hydro"), recycle(comp, "hydro", basis="cell")
    hw = 0.9 * 1.96 * (0.60 * prices["Al"] + 0.15 * prices["steel"] + 0.10 * prices["Cu"])
    assert pack.revenue_usd - cells.revenue_usd == pytest.approx(hw, rel=1e-9)
    assert {m.material for m in pack.recovered if m.part == "hardware"} == {"Al", "steel", "Cu"}
