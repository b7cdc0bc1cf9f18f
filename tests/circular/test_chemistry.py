"""Chemistry: per-kWh tables, pack masses, derived cathode mass, given compositions, bad input."""

from __future__ import annotations

import pytest

from batteryloop.circular.chemistry import (
    CHEMISTRIES,
    composition_for_mass,
    composition_from_materials,
    pack_composition,
    parse_chemistry,
)
from batteryloop.circular.errors import CircularInputError


def test_pack_masses_scale_with_capacity():
    p = pack_composition("NMC622", 75)
    # BatPaC 5.0 NMC622: Ni 0.519, Co 0.174 kg/kWh; pack 5.15 kg/kWh
    assert p.materials_kg["Ni"] == pytest.approx(0.519 * 75)
    assert p.materials_kg["Co"] == pytest.approx(0.174 * 75)
    assert p.pack_mass_kg == pytest.approx(5.15 * 75)
    assert p.cell_mass_kg == pytest.approx(3.19 * 75)
    assert not p.is_estimate
    assert {r.key for r in p.references} >= {"kg_per_kwh_cell.NMC622.Ni", "kg_per_kwh_cell.NMC622.pack_mass"}


def test_lfp_iron_and_lmfp_is_flagged_estimate():
    assert pack_composition("LFP", 1).materials_kg["Fe"] == pytest.approx(0.68)
    lmfp = pack_composition("LMFP", 10)
    assert lmfp.is_estimate and lmfp.materials_kg["Mn"] == pytest.approx(3.7)
    assert all(not r.verified for r in lmfp.references)


def test_cathode_mass_by_stoichiometry():
    # NMC111 per kWh: n(TM) = 0.322/58.693 + 0.323/58.933 + 0.301/54.938 = 0.0164461 kmol
    # O = 2 × 0.0164461 × 15.999 = 0.526243 kg; CAM = 0.117 + 0.322 + 0.323 + 0.301 + 0.526243 = 1.589243
    assert pack_composition("NMC111", 1).cathode_active_material_kg == pytest.approx(1.589243, abs=1e-5)
    # LFP: n(Fe) = 0.68/55.845 = 0.0121765; PO4 = 0.0121765 × (30.974 + 4 × 15.999) = 1.1564
    # CAM = 0.089 + 0.68 + 1.1564 = 1.9254
    assert pack_composition("LFP", 1).cathode_active_material_kg == pytest.approx(1.9254, abs=1e-3)


def test_every_chemistry_masses_are_consistent():
    for chem in CHEMISTRIES:
        p = pack_composition(chem, 1)
        assert sum(p.materials_kg.values()) < p.cell_mass_kg < p.pack_mass_kg, chem
        assert p.cathode_active_material_kg < p.cell_mass_kg


def test_parse_chemistry_aliases_and_unknown():
    assert parse_chemistry("ncm-622") == "NMC622"
    assert parse_chemistry("LiFePO4") == "LFP"
    with pytest.raises(CircularInputError) as e:
        parse_chemistry("NMC999")
    assert e.value.field == "chemistry" and "NMC622" in str(e.value)


def test_composition_for_mass_cell_and_pack_basis():
    c = composition_for_mass("NMC622", 319.0, "cell")  # 100 kWh of cells
    assert c.materials_kg["Ni"] == pytest.approx(51.9)
    assert c.pack_mass_kg == c.cell_mass_kg == pytest.approx(319.0)
    p = composition_for_mass("NMC622", 515.0, "pack")  # 100 kWh of packs
    assert p.materials_kg["Ni"] == pytest.approx(51.9)


@pytest.mark.parametrize("bad", [0, -5, float("nan"), float("inf"), "10"])
def test_bad_capacity_names_field(bad):
    with pytest.raises(CircularInputError) as e:
        pack_composition("LFP", bad)
    assert e.value.field == "capacity_kwh"


def test_given_composition_checks_masses():
    c = composition_from_materials("NMC811", {"Ni": 40, "Co": 5, "Li": 6, "steel": 20}, cell_mass_kg=200, pack_mass_kg=330)
    assert c.source == "given" and c.materials_kg["steel"] == 20 and c.materials_kg["Mn"] == 0
    with pytest.raises(CircularInputError) as e:
        composition_from_materials("NMC811", {"Ni": -1}, cell_mass_kg=200)
    assert e.value.field == "materials_kg.Ni"
    with pytest.raises(CircularInputError, match="unknown material"):
        composition_from_materials("NMC811", {"unobtainium": 1}, cell_mass_kg=200)
    with pytest.raises(CircularInputError, match="more than cell_mass_kg"):
        composition_from_materials("NMC811", {"Ni": 150, "Co": 60}, cell_mass_kg=200)
    with pytest.raises(CircularInputError, match="at least cell_mass_kg"):
        composition_from_materials("NMC811", {"Ni": 1}, cell_mass_kg=200, pack_mass_kg=100)
