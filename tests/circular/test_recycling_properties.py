"""Recycling efficiency (Annex XII B) and material recovery (Annex XII C) for every process, chemistry
and basis: properties over all of them, and one hand computation per process.

Reference values used by the hand computations (read from the reference modules):

- ``batpac_5`` NMC622, kg per kWh of cells: cell 3.19, pack 5.15; Li 0.105, Ni 0.519, Co 0.174,
  Mn 0.162, graphite 0.87, Cu 0.254, Al 0.165 (Fe 0); pack hardware = 5.15 − 3.19 = 1.96 kg;
- ``batteryloop_assumptions.pack_hardware_fraction.module_pack`` (the hardware by material): Al 0.60,
  steel 0.15, Cu 0.10, plastics 0.05, electronics 0.04, coolant 0.04, insulation 0.02; plastics,
  electronics, coolant, insulation recycled at 0 on every route;
- ``everbatt_2023`` recovery fractions — pyro: Ni, Co 0.98, Cu, steel 0.90, Li/Mn/graphite/Al 0;
  hydro: Li, graphite, Cu, Al, steel 0.90, Ni/Co/Mn 0.98; direct: graphite, Cu, Al, steel 0.90 and the cathode
  (Li, Ni, Co, Mn with their oxygen) recovered whole at 0.90;
- atomic masses (g/mol): Ni 58.693, Co 58.933, Mn 54.938, O 15.999. The NMC cathode is LiMO2, so
  CAM = Li + Ni + Co + Mn + 2 × 15.999 × (Ni/58.693 + Co/58.933 + Mn/54.938)
      = 0.960 + 31.998 × (0.00884262 + 0.00295251 + 0.00294878) = 0.960 + 31.998 × 0.01474391
      = 0.960 + 0.4717756 = 1.4317755 kg per kWh.

Pack hardware recycled (1.96 kg): pyro 0.90 × (steel 0.15 + Cu 0.10) × 1.96 = 0.441 kg (the Al casing to
slag); hydro and direct 0.90 × (Al 0.60 + steel 0.15 + Cu 0.10) × 1.96 = 1.4994 kg.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from batteryloop.circular.chemistry import CHEMISTRIES, composition_for_mass, pack_composition
from batteryloop.circular.recycling import PROCESSES, recycle
from batteryloop.reference import References

BASES = ("cell", "pack")
TOL = 1e-9
_RECOVERY_KEYS = ("Cu", "steel", "Al", "graphite", "Li", "Co", "Ni", "Mn", "Fe", "cathode")


def _check_bounds(r, comp, basis):  # type: ignore[no-untyped-def]
    assert 0.0 <= r.recycling_efficiency_fraction <= 1.0 + TOL, (r.process, r.chemistry, basis, r.recycling_efficiency_fraction)
    for el, frac in r.material_recovery_fraction.items():
        assert 0.0 <= frac <= 1.0 + TOL, (el, frac)
        # recovered element mass = fraction × contained ≤ contained
        assert frac * comp.materials_kg[el] <= comp.materials_kg[el] * (1 + TOL)
    for item in r.recovered:
        assert 0.0 <= item.recovered_kg <= item.contained_kg * (1 + TOL), item.material
        assert item.part == "cell" or (basis == "pack" and item.material in ("Al", "steel", "Cu")), item
        if item.material != "cathode":
            # in the cells, plus (pack basis) in the hardware (steel is only ever hardware)
            held = 0.0 if item.material == "steel" else comp.materials_kg.get(item.material, 0.0)
            if basis == "pack":
                held += comp.hardware_kg.get(item.material, 0.0)
            assert r.recovered_kg(item.material) <= held * (1 + TOL)
    if basis == "pack":
        # what is sold from the hardware is what the efficiency counts as the hardware's recycled metal
        sold: dict[str, float] = {}
        for m in r.recovered:
            if m.part == "hardware":
                sold[m.material] = sold.get(m.material, 0.0) + m.recovered_kg
        counted = {f.material: f.recycled_kg for f in r.efficiency_fractions
                   if f.part == "hardware" and f.material in ("Al", "steel", "Cu") and f.recycled_kg > 0}
        assert sold == pytest.approx(counted, rel=1e-9)
    # every element contained in the input has a recovery fraction (0 when lost), none else
    expected = {el for el, kg in comp.materials_kg.items() if kg > 0 and not (basis == "cell" and el == "steel")}
    assert set(r.material_recovery_fraction) == expected
    # the input is the cells alone or the whole pack
    assert r.input_mass_kg == pytest.approx(comp.cell_mass_kg if basis == "cell" else comp.pack_mass_kg)


@settings(max_examples=60, deadline=None)
@given(
    chem=st.sampled_from(CHEMISTRIES),
    process=st.sampled_from(PROCESSES),
    basis=st.sampled_from(BASES),
    mass_kg=st.floats(0.5, 5000.0),
)
def test_reference_recycling_stays_within_the_input(chem, process, basis, mass_kg):  # type: ignore[no-untyped-def]
    """With the reference recovery fractions: efficiency and every element's recovery in [0, 1], no
    element recovered beyond its contained mass, on the cell basis as on the pack basis."""
    comp = composition_for_mass(chem, mass_kg, basis)
    r = recycle(comp, process, basis=basis, missing_price="zero")
    _check_bounds(r, comp, basis)


@pytest.mark.parametrize("basis", BASES)
@pytest.mark.parametrize("process", PROCESSES)
@pytest.mark.parametrize("chem", CHEMISTRIES)
def test_every_process_chemistry_and_basis(chem: str, process: str, basis: str) -> None:
    """The full grid (8 chemistries × 3 processes × 2 bases) once, for 1 kWh of cells' worth of material."""
    comp = pack_composition(chem, 1.0)
    r = recycle(comp, process, basis=basis, missing_price="zero")  # type: ignore[arg-type]
    _check_bounds(r, comp, basis)
    # the pack basis counts the cells' recycled mass plus the hardware's, over the whole pack's mass
    other = recycle(comp, process, basis="pack" if basis == "cell" else "cell", missing_price="zero")
    cell, pack = (r, other) if basis == "cell" else (other, r)
    cell_kg = cell.recycling_efficiency_fraction * comp.cell_mass_kg
    pack_kg = pack.recycling_efficiency_fraction * comp.pack_mass_kg
    hw = [f for f in pack.efficiency_fractions if f.part == "hardware"]
    assert pack_kg == pytest.approx(cell_kg + sum(f.recycled_kg for f in hw), rel=1e-9)
    assert sum(f.input_kg for f in hw) == pytest.approx(comp.pack_hardware_kg, rel=1e-9)
    assert 0 <= sum(f.recycled_kg for f in hw) <= comp.pack_hardware_kg
    assert not any(f.part == "hardware" for f in cell.efficiency_fractions)
    # the fractions split the input exactly
    for x, m in ((cell, comp.cell_mass_kg), (pack, comp.pack_mass_kg)):
        assert sum(f.input_kg for f in x.efficiency_fractions) == pytest.approx(m, rel=1e-9)


@settings(max_examples=60, deadline=None)
@given(
    chem=st.sampled_from(CHEMISTRIES),
    process=st.sampled_from(PROCESSES),
    basis=st.sampled_from(BASES),
    fractions=st.lists(st.floats(0.0, 1.0), min_size=len(_RECOVERY_KEYS), max_size=len(_RECOVERY_KEYS)),
)
def test_any_recovery_table_stays_within_the_input(chem, process, basis, fractions):  # type: ignore[no-untyped-def]
    """Whatever recovery fractions in [0, 1] the table holds (all of them 1 included), the same bounds
    hold on both bases: an element is counted once, as itself or inside the cathode powder."""
    refs = References.default().override(
        {"everbatt_2023": {"recovery_fraction": {process: dict(zip(_RECOVERY_KEYS, fractions, strict=True))}}}
    )
    comp = pack_composition(chem, 1.0, refs)
    r = recycle(comp, process, basis=basis, references=refs, missing_price="zero")
    _check_bounds(r, comp, basis)


@pytest.mark.parametrize("basis", BASES)
@pytest.mark.parametrize("process", PROCESSES)
@pytest.mark.parametrize("chem", CHEMISTRIES)
def test_everything_recovered_is_at_most_the_input(chem: str, process: str, basis: str) -> None:
    """The extreme table: every recovery fraction 1. The recovered mass is then everything tracked (and
    the cathode's O and P in direct recycling), which the cell mass holds: efficiency ≤ 1 on both bases."""
    refs = References.default().override(
        {"everbatt_2023": {"recovery_fraction": {process: dict.fromkeys(_RECOVERY_KEYS, 1.0)}}}
    )
    comp = pack_composition(chem, 1.0, refs)
    r = recycle(comp, process, basis=basis, references=refs, missing_price="zero")  # type: ignore[arg-type]
    _check_bounds(r, comp, basis)
    assert all(f == pytest.approx(1.0) for f in r.material_recovery_fraction.values())


def test_pyro_nmc622_by_hand() -> None:
    """Pyro, 1 kWh of NMC622: recovered from the cells = 0.98 × (Ni 0.519 + Co 0.174) + 0.90 × Cu 0.254
    = 0.67914 + 0.2286 = 0.90774 kg. Cell basis: 0.90774 / 3.19 = 0.284558; pack basis (hardware
    0.441 kg, module docstring): (0.90774 + 0.441) / 5.15 = 1.34874 / 5.15 = 0.261891. Li, Mn, graphite,
    Al: 0 (slag, burned). (Before the hardware was counted the pack basis gave 0.90774 / 5.15 = 0.176260.)"""
    comp = pack_composition("NMC622", 1.0)
    cell = recycle(comp, "pyro", basis="cell")
    pack = recycle(comp, "pyro", basis="pack")
    assert cell.recycling_efficiency_fraction == pytest.approx(0.90774 / 3.19, rel=1e-9)
    assert cell.recycling_efficiency_fraction == pytest.approx(0.284558, abs=1e-6)
    assert pack.recycling_efficiency_fraction == pytest.approx(1.34874 / 5.15, rel=1e-9)
    assert pack.recycling_efficiency_fraction == pytest.approx(0.261891, abs=1e-6)
    assert cell.material_recovery_fraction == pytest.approx(
        {"Li": 0.0, "Ni": 0.98, "Co": 0.98, "Mn": 0.0, "graphite": 0.0, "Cu": 0.90, "Al": 0.0})
    assert cell.recovered_kg("Ni") == pytest.approx(0.98 * 0.519) and cell.recovered_kg("Cu") == pytest.approx(0.9 * 0.254)


def test_hydro_nmc622_by_hand() -> None:
    """Hydro, 1 kWh of NMC622: recovered = 0.90 × (Li 0.105 + graphite 0.87 + Cu 0.254 + Al 0.165)
    + 0.98 × (Ni 0.519 + Co 0.174 + Mn 0.162) = 0.90 × 1.394 + 0.98 × 0.855 = 1.2546 + 0.8379
    = 2.0925 kg (Li counted as Li, not as Li2CO3). Pack basis, with the hardware's 1.4994 kg:
    (2.0925 + 1.4994) / 5.15 = 3.5919 / 5.15 = 0.697456 (it was 2.0925 / 5.15 = 0.406311 with the
    hardware uncounted); cell basis: 2.0925 / 3.19 = 0.655956."""
    comp = pack_composition("NMC622", 1.0)
    pack = recycle(comp, "hydro", basis="pack")
    cell = recycle(comp, "hydro", basis="cell")
    assert pack.recycling_efficiency_fraction == pytest.approx(3.5919 / 5.15, rel=1e-9)
    assert pack.recycling_efficiency_fraction == pytest.approx(0.697456, abs=1e-6)
    assert cell.recycling_efficiency_fraction == pytest.approx(0.655956, abs=1e-6)
    assert pack.material_recovery_fraction == pytest.approx(
        {"Li": 0.90, "Ni": 0.98, "Co": 0.98, "Mn": 0.98, "graphite": 0.90, "Cu": 0.90, "Al": 0.90})
    assert pack.recovered_kg("Li") == pytest.approx(0.9 * 0.105)  # element mass, not the 5.323× Li2CO3


def test_direct_nmc622_by_hand() -> None:
    """Direct, 1 kWh of NMC622: the cathode (CAM 1.4317755 kg, module docstring) recovered whole at
    0.90, plus 0.90 × (graphite 0.87 + Cu 0.254 + Al 0.165): recovered = 0.90 × (1.289 + 1.4317755)
    = 0.90 × 2.7207755 = 2.4486980 kg. Cell basis: 2.4486980 / 3.19 = 0.767617; pack basis, with the
    hardware's 1.4994 kg: 3.9480980 / 5.15 = 0.766621 (0.475475 with the hardware uncounted). Each of
    Li, Ni, Co, Mn is recovered at 0.90, inside the powder.
    (Counting the cathode metals again as elements would add 0.90 × 0.960 = 0.864 kg: 3.3127 / 3.19
    = 1.038 — more than went in.)"""
    comp = pack_composition("NMC622", 1.0)
    assert comp.cathode_active_material_kg == pytest.approx(1.4317755, abs=1e-6)
    cell = recycle(comp, "direct", basis="cell", missing_price="zero")
    pack = recycle(comp, "direct", basis="pack", missing_price="zero")
    assert cell.recycling_efficiency_fraction == pytest.approx(2.4486980 / 3.19, abs=1e-7)
    assert cell.recycling_efficiency_fraction == pytest.approx(0.767617, abs=1e-6)
    assert pack.recycling_efficiency_fraction == pytest.approx(0.766621, abs=1e-6)
    assert cell.material_recovery_fraction == pytest.approx(
        {"Li": 0.90, "Ni": 0.90, "Co": 0.90, "Mn": 0.90, "graphite": 0.90, "Cu": 0.90, "Al": 0.90})
    powder = [x for x in cell.recovered if x.material == "cathode"]
    assert len(powder) == 1 and powder[0].recovered_kg == pytest.approx(0.9 * 1.4317755, abs=1e-6)
    # the metals are sold inside the powder, not again as metals
    assert {x.material for x in cell.recovered} == {"cathode", "graphite", "Cu", "Al"}
