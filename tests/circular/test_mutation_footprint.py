"""Carbon footprint (Art. 7, Annex II of (EU) 2023/1542) line by line, by hand from REFERENCE.md:

- functional unit: usable kWh × full equivalent cycles per year (60 for M1/N1, 250 for M2/M3/N2/N3, 20
  for L) × service-life years; service life = warranty years, or the mileage warranty converted with
  the annual distance when that is *shorter*;
- LFP per kWh (BatPaC 5.0): cell 4.24 kg, pack 6.49 kg, Li 0.089, Fe 0.68, graphite 0.96, Cu 0.408,
  Al 0.251 kg; CAM (LiFePO4) = Li + Fe + Fe/55.845 × (30.974 + 4 × 15.999) kg;
- GREET via EverBatt 2023 (kg CO2e/kg): LFP 9.45, graphite 9.1, Cu 4.5, Al 6.05, electronics 25.0,
  Li2CO3 12.4; cell manufacturing energy LFP 40.1 MJ/kg cell, 17.6 % electricity;
- grid factors (kg CO2e/kWh): CN 0.58, FR 0.056, US 0.37; IPCC natural gas 0.0561, diesel 0.0741 kg/MJ;
- distribution: 1000 km by truck at 0.1 kg CO2e/t·km (project assumption);
- EverBatt process inputs per kg of spent battery: hydro H2SO4 1.08, NaOH 0.561, H2O2 0.366 kg,
  natural gas 2.5, electricity 0.125, diesel 0.6 MJ; pyro electricity 4.68, diesel 0.6 MJ, limestone
  0.30, sand 0.15, HCl 0.21, H2O2 0.06 kg; project factors H2SO4 0.1, NaOH 1.2, H2O2 1.0, limestone 0.02,
  sand 0.005, HCl 0.8 kg CO2e/kg;
- hydro recovery: Li, graphite, Cu, Al 90 %; Li credited as Li2CO3 (73.888 / 13.88 kg per kg Li).
"""

from __future__ import annotations

import pytest

from batteryloop.circular.chemistry import composition_from_materials
from batteryloop.circular.errors import CircularInputError
from batteryloop.circular.footprint import MaterialFootprint, carbon_footprint, functional_unit, performance_class
from batteryloop.reference import References

CAM = 0.089 + 0.68 + 0.68 / 55.845 * (30.974 + 4 * 15.999)  # kg LiFePO4 per kWh ≈ 1.92540
PACK = 60 * 6.49  # 389.4 kg
CELLS = 60 * 4.24  # 254.4 kg
GREET = "Argonne National Laboratory, GREET battery material GHG factors and cell manufacturing energy, as EverBatt 2023 defaults (2023)"


@pytest.mark.parametrize(("category", "cycles"), [("M1", 60), ("N1", 60), ("M2", 250), ("M3", 250), ("N2", 250),
                                                  ("N3", 250), ("L", 20)])
def test_cycles_per_year_by_category(category: str, cycles: int) -> None:
    fu = functional_unit(50, category, 8)
    assert fu.cycles_per_year == cycles and fu.total_energy_kwh == 50 * cycles * 8
    assert (fu.usable_energy_kwh, fu.vehicle_category, fu.warranty_years) == (50, category, 8)
    assert fu.service_life_years == 8 and fu.service_life_basis == "warranty_years"
    assert fu.warranty_km is None and fu.annual_distance_km is None


def test_mileage_warranty_only_when_shorter() -> None:
    """8 years or 160,000 km at 25,000 km/yr = 6.4 years: shorter, applies → 50 × 60 × 6.4 = 19,200 kWh.
    200,000 km = exactly 8 years: not shorter, the years stay the basis. 300,000 km = 12 years: 8."""
    fu = functional_unit(50, "M1", 8, warranty_km=160_000, annual_distance_km=25_000)
    assert fu.service_life_years == 6.4 and fu.service_life_basis == "warranty_km"
    assert fu.total_energy_kwh == pytest.approx(19_200.0)
    assert fu.warranty_km == 160_000 and fu.annual_distance_km == 25_000
    same = functional_unit(50, "M1", 8, warranty_km=200_000, annual_distance_km=25_000)
    assert same.service_life_basis == "warranty_years" and same.service_life_years == 8
    longer = functional_unit(50, "M1", 8, warranty_km=300_000, annual_distance_km=25_000)
    assert longer.service_life_basis == "warranty_years" and longer.service_life_years == 8
    only_distance = functional_unit(50, "M1", 8, annual_distance_km=25_000)
    assert only_distance.service_life_years == 8 and only_distance.annual_distance_km == 25_000


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"usable_energy_kwh": 0}, "usable_energy_kwh=0: must be a finite number greater than 0"),
        ({"warranty_years": -1}, "warranty_years=-1: must be a finite number greater than 0"),
        ({"vehicle_category": "car"}, r"vehicle_category='car': must be one of M1, N1, M2, M3, N2, N3, L \(EU vehicle categories\)"),
        ({"warranty_km": 160_000}, "annual_distance_km=None: a mileage warranty is converted to years with the vehicle's "
                                   "annual distance: give annual_distance_km"),
        ({"warranty_km": 0, "annual_distance_km": 10_000}, "warranty_km=0: must be a finite number greater than 0"),
        ({"warranty_km": 1000, "annual_distance_km": 0}, "annual_distance_km=0: must be a finite number greater than 0"),
        ({"annual_distance_km": -5}, "annual_distance_km=-5: must be a finite number greater than 0"),
    ],
)
def test_functional_unit_errors_name_the_field(kwargs: dict, message: str) -> None:
    args = {"usable_energy_kwh": 50, "vehicle_category": "M1", "warranty_years": 8} | kwargs
    with pytest.raises(CircularInputError, match=message):
        functional_unit(args.pop("usable_energy_kwh"), args.pop("vehicle_category"), args.pop("warranty_years"), **args)


def test_performance_class_lowest_inclusive_limit() -> None:
    """Limits given out of order (C 0.3, A 0.1, B 0.2): 0.1 → A (inclusive), 0.1001 → B, 0.2 → B,
    0.3 → C, 0.31 → above all: None; no limits: None."""
    limits = {"C": 0.3, "A": 0.1, "B": 0.2}
    assert [performance_class(x, limits) for x in (0.05, 0.1, 0.1001, 0.2, 0.3, 0.31)] == ["A", "A", "B", "B", "C", None]
    assert performance_class(0.1, {}) is None


def test_lfp_car_pack_line_by_line() -> None:
    """60 kWh LFP for an M1 car made in CN, 8 years → 60 × 60 × 8 = 28,800 kWh.

    raw material: CAM 60 × 1.92540 kg × 9.45; graphite 57.6 kg × 9.1; Cu 24.48 kg × 4.5; Al 15.06 kg × 6.05.
    main production: 254.4 kg cells × 40.1 MJ/kg = 10,201.44 MJ; electricity 17.6 % / 3.6 = 498.737 kWh × 0.58;
    heat 82.4 % = 8405.99 MJ × 0.0561.
    distribution: 0.3894 t × 1000 km = 389.4 t·km × 0.1 = 38.94 kg.
    end of life (hydro, grid US 0.37): 254.4 kg of cells × (1.08 × 0.1 + 0.561 × 1.2 + 0.366 × 1.0 + 2.5 × 0.0561
    + 0.125 / 3.6 × 0.37) + 389.4 kg × 0.6 × 0.0741 (diesel: handling and shredding of the whole pack)."""
    r = carbon_footprint("LFP", 60, "M1", 8, manufacturing_country="CN")
    lines = [(x.stage, x.item, x.unit, x.factor_unit) for x in r.lines]
    assert lines[:4] == [
        ("raw_material", "LFP cathode active material", "kg", "kgCO2e/kg"),
        ("raw_material", "graphite", "kg", "kgCO2e/kg"),
        ("raw_material", "Cu", "kg", "kgCO2e/kg"),
        ("raw_material", "Al", "kg", "kgCO2e/kg"),
    ]
    raw = {x.item: x for x in r.lines if x.stage == "raw_material"}
    for item, mass, factor in (("LFP cathode active material", 60 * CAM, 9.45), ("graphite", 57.6, 9.1),
                               ("Cu", 24.48, 4.5), ("Al", 15.06, 6.05)):
        assert raw[item].quantity == pytest.approx(mass, rel=1e-12)
        assert raw[item].factor == factor
        assert raw[item].ghg_kgco2e == pytest.approx(mass * factor, rel=1e-12)
        assert raw[item].source == GREET
    elec, heat = (x for x in r.lines if x.stage == "main_production")
    mj = CELLS * 40.1
    assert (elec.item, elec.unit, elec.factor, elec.factor_unit) == ("cell manufacturing electricity (CN)", "kWh", 0.58, "kgCO2e/kWh")
    assert elec.quantity == pytest.approx(mj * 0.176 / 3.6, rel=1e-12)
    assert elec.ghg_kgco2e == pytest.approx(mj * 0.176 / 3.6 * 0.58, rel=1e-12)
    assert elec.source.startswith("Ember; European Environment Agency")
    assert (heat.item, heat.unit, heat.factor, heat.factor_unit) == ("cell manufacturing heat (natural gas)", "MJ", 0.0561, "kgCO2/MJ")
    assert heat.quantity == pytest.approx(mj * 0.824, rel=1e-12)
    assert heat.ghg_kgco2e == pytest.approx(mj * 0.824 * 0.0561, rel=1e-12)
    assert heat.source.startswith("IPCC, 2006")
    (dist,) = (x for x in r.lines if x.stage == "distribution")
    assert (dist.item, dist.unit, dist.factor, dist.factor_unit) == ("pack transport by truck", "t·km", 0.1, "kgCO2e/t·km")
    assert dist.quantity == pytest.approx(389.4, rel=1e-12) and dist.ghg_kgco2e == pytest.approx(38.94, rel=1e-12)
    assert dist.source.startswith("batteryloop, batteryloop default assumptions")
    eol = {x.item: x for x in r.lines if x.stage == "end_of_life"}
    expected = {"H2SO4_kg": (1.08, "kg", 0.1), "NaOH_kg": (0.561, "kg", 1.2), "H2O2_kg": (0.366, "kg", 1.0),
                "natural_gas_mj": (2.5, "MJ", 0.0561), "electricity_mj": (0.125, "MJ", 0.37 / 3.6), "diesel_mj": (0.6, "MJ", 0.0741)}
    assert set(eol) == {f"hydro recycling: {k}" for k in expected}
    for name, (per_kg, unit, factor) in expected.items():
        line = eol[f"hydro recycling: {name}"]
        on = PACK if name == "diesel_mj" else CELLS  # pre-treatment: the housing to scrap metal, the cells leached
        assert line.quantity == pytest.approx(on * per_kg, rel=1e-12) and line.unit == unit
        assert line.factor == pytest.approx(factor, rel=1e-12) and line.factor_unit == f"kgCO2e/{unit}"
        assert line.ghg_kgco2e == pytest.approx(on * per_kg * factor, rel=1e-12)
        assert line.source == "everbatt_2023 inputs × factors"
    raw_total = 60 * CAM * 9.45 + 57.6 * 9.1 + 24.48 * 4.5 + 15.06 * 6.05
    main_total = mj * 0.176 / 3.6 * 0.58 + mj * 0.824 * 0.0561
    eol_total = CELLS * (1.08 * 0.1 + 0.561 * 1.2 + 0.366 * 1.0 + 2.5 * 0.0561 + 0.125 / 3.6 * 0.37) + PACK * 0.6 * 0.0741
    total = raw_total + main_total + 38.94 + eol_total
    assert r.stages_kgco2e == pytest.approx({"raw_material": raw_total, "main_production": main_total,
                                             "distribution": 38.94, "end_of_life": eol_total}, rel=1e-12)
    assert r.total_kgco2e == pytest.approx(total, rel=1e-12)
    assert r.total_kgco2e_per_kwh == pytest.approx(total / 28_800, rel=1e-12)
    assert r.total_kgco2e_per_kwh_usable_energy == pytest.approx(total / 60, rel=1e-12)
    assert r.stages_kgco2e_per_kwh["distribution"] == pytest.approx(38.94 / 28_800, rel=1e-12)
    assert r.stages_kgco2e_per_kwh["raw_material"] == pytest.approx(raw_total / 28_800, rel=1e-12)
    assert r.chemistry == "LFP" and r.manufacturing_country == "CN" and r.include_recycling_credits is False
    assert r.functional_unit.total_energy_kwh == 28_800
    assert "electrolyte salt and electronics not counted: add them as MaterialFootprint lines" in r.notes
    assert "process heat of cell manufacturing taken as natural gas" in r.notes
    assert ("no performance class: class limits are not adopted yet (Art. 7(2)); supply class_limits_kgco2e_per_kwh"
            in r.notes)
    assert r.performance_class is None and r.class_limits_kgco2e_per_kwh == {}
    # references: what was read, but no recycled-material price (the footprint does not value material)
    assert not any(u.set == "everbatt_2023" and "price" in u.key for u in r.references)
    keys = {(u.set, u.key) for u in r.references}
    assert ("everbatt_2023", "process_inputs_per_kg_spent_battery.hydro.H2SO4_kg") in keys
    assert ("greet_everbatt_ghg", "cell_manufacturing_electricity_fraction") in keys
    assert ("batteryloop_assumptions", "distribution.distance_km") in keys
    fields = r.to_passport_fields()
    assert fields == {
        "total_kgco2e_per_kwh": round(total / 28_800, 4),
        "raw_material_kgco2e_per_kwh": round(raw_total / 28_800, 4),
        "main_production_kgco2e_per_kwh": round(main_total / 28_800, 4),
        "distribution_kgco2e_per_kwh": round(38.94 / 28_800, 4),
        "end_of_life_kgco2e_per_kwh": round(eol_total / 28_800, 4),
        "performance_class": None,
    }


def test_recycling_credit_is_reported_and_only_subtracted_when_asked() -> None:
    """Hydro credits for 60 kWh LFP: Li 5.34 × 0.9 = 4.806 kg → × 73.888/13.88 Li2CO3 × 12.4; graphite
    57.6 × 0.9 × 9.1; Cu 24.48 × 0.9 × 4.5; Al 15.06 × 0.9 × 6.05 (Fe: no factor); and the pack hardware
    ((6.49 − 4.24) × 60 = 135 kg, module_pack design): Cu 0.10 × 135 × 0.9 × 4.5, Al 0.60 × 135 × 0.9 × 6.05
    (steel 0.15 × 135: sold, no factor)."""
    hardware = (6.49 - 4.24) * 60
    credit = (4.806 * 73.888 / 13.88 * 12.4 + 57.6 * 0.9 * 9.1 + 24.48 * 0.9 * 4.5 + 15.06 * 0.9 * 6.05
              + 0.10 * hardware * 0.9 * 4.5 + 0.60 * hardware * 0.9 * 6.05)
    a = carbon_footprint("LFP", 60, "M1", 8, manufacturing_country="CN")
    b = carbon_footprint("LFP", 60, "M1", 8, manufacturing_country="CN", include_recycling_credits=True)
    assert a.recycling_credit_kgco2e == pytest.approx(credit, rel=1e-9)
    assert b.recycling_credit_kgco2e == pytest.approx(credit, rel=1e-9)
    assert b.include_recycling_credits is True
    assert b.stages_kgco2e["end_of_life"] == pytest.approx(a.stages_kgco2e["end_of_life"] - credit, rel=1e-9)
    last = b.lines[-1]
    assert (last.stage, last.item, last.quantity, last.unit, last.factor_unit, last.source) == (
        "end_of_life", "credit for recovered material", 1, "pack", "kgCO2e/pack", "greet_everbatt_ghg × recovered mass")
    assert last.factor == pytest.approx(-credit, rel=1e-9) and last.ghg_kgco2e == pytest.approx(-credit, rel=1e-9)
    assert not any(x.item == "credit for recovered material" for x in a.lines)


def test_pyro_end_of_life_and_recycling_country() -> None:
    """Pyro in FR: 389.4 kg × (4.68 / 3.6 × 0.056 + 0.6 × 0.0741 + 0.30 × 0.02 + 0.15 × 0.005 + 0.21 × 0.8
    + 0.06 × 1.0)."""
    r = carbon_footprint("LFP", 60, "M1", 8, manufacturing_country="CN", end_of_life_process="pyro", recycling_country="FR")
    eol = PACK * (4.68 / 3.6 * 0.056 + 0.6 * 0.0741 + 0.30 * 0.02 + 0.15 * 0.005 + 0.21 * 0.8 + 0.06 * 1.0)
    assert r.stages_kgco2e["end_of_life"] == pytest.approx(eol, rel=1e-12)
    assert all(x.item.startswith("pyro recycling: ") for x in r.lines if x.stage == "end_of_life")


def test_traced_lots_and_their_sources() -> None:
    """Cathode from a lot at 5.0 kg/kg (100 kg) replaces the default CAM line; electronics (2 kg) without a
    factor take the default 25.0 → 50 kg; a lot without id or source is 'material lot ?'. Raw material =
    100 × 5 + 2 × 25 + 40 × 3 + graphite 57.6 × 9.1 + Cu 24.48 × 4.5 + Al 15.06 × 6.05; with electronics
    given, no note about uncounted electrolyte salt and electronics."""
    lots = [MaterialFootprint(material="cathode", mass_kg=100, kgco2e_per_kg=5.0, lot_id="L-1", source="EPD 42"),
            MaterialFootprint(material="electronics", mass_kg=2),
            MaterialFootprint(material="LiPF6", mass_kg=40, kgco2e_per_kg=3.0)]
    r = carbon_footprint("LFP", 60, "M1", 8, manufacturing_country="CN", material_footprints=lots)
    raw = [x for x in r.lines if x.stage == "raw_material"]
    assert [x.item for x in raw] == ["graphite", "Cu", "Al", "cathode", "electronics", "LiPF6"]
    by = {x.item: x for x in raw}
    assert (by["cathode"].quantity, by["cathode"].factor, by["cathode"].source) == (100, 5.0, "material lot L-1 (EPD 42)")
    assert (by["electronics"].factor, by["electronics"].ghg_kgco2e, by["electronics"].source) == (25.0, 50.0, GREET)
    assert by["LiPF6"].source == "material lot ?" and by["LiPF6"].ghg_kgco2e == 120.0
    assert all((x.unit, x.factor_unit) == ("kg", "kgCO2e/kg") for x in raw)
    expected = 500 + 50 + 120 + 57.6 * 9.1 + 24.48 * 4.5 + 15.06 * 6.05
    assert r.stages_kgco2e["raw_material"] == pytest.approx(expected, rel=1e-12)
    assert not any("electrolyte salt" in n for n in r.notes)
    only_salt = carbon_footprint("LFP", 60, "M1", 8, manufacturing_country="CN",
                                 material_footprints=[MaterialFootprint(material="LiPF6", mass_kg=1, kgco2e_per_kg=11.2)])
    assert not any("electrolyte salt" in n for n in only_salt.notes)
    only_electronics = carbon_footprint("LFP", 60, "M1", 8, manufacturing_country="CN",
                                        material_footprints=[MaterialFootprint(material="electronics", mass_kg=1)])
    assert not any("electrolyte salt" in n for n in only_electronics.notes)


def test_a_material_without_default_is_named() -> None:
    with pytest.raises(CircularInputError, match="material_footprints='unobtainium': no default footprint for 'unobtainium' in "
                                                 "greet_everbatt_ghg.material_kgco2e_per_kg: give this material's kgco2e_per_kg"):
        carbon_footprint("LFP", 60, "M1", 8, manufacturing_country="CN",
                         material_footprints=[MaterialFootprint(material="unobtainium", mass_kg=1)])


def test_given_composition_skips_absent_materials() -> None:
    """A given composition with no Al and no Cu: only CAM and graphite lines (a 0 kg line is not
    written). Cells 100 kg → main production from 100 kg × 40.1 MJ; pack 150 kg → 0.15 t × 1000 km ×
    0.1 = 15 kg; capacity_kwh does not matter when a composition is given."""
    comp = composition_from_materials("LFP", {"Li": 2.0, "Fe": 15.0, "graphite": 20.0}, cell_mass_kg=100, pack_mass_kg=150)
    r = carbon_footprint("LFP", 40, "M1", 8, manufacturing_country="FR", composition=comp)
    assert [x.item for x in r.lines if x.stage == "raw_material"] == ["LFP cathode active material", "graphite"]
    assert r.stages_kgco2e["distribution"] == pytest.approx(15.0, rel=1e-12)
    mj = 100 * 40.1
    assert r.stages_kgco2e["main_production"] == pytest.approx(mj * 0.176 / 3.6 * 0.056 + mj * 0.824 * 0.0561, rel=1e-12)


def test_capacity_scales_the_composition_not_the_energy() -> None:
    """capacity_kwh=120 with 60 kWh usable: the pack (120 × 6.49 kg) moves 0.7788 t: distribution
    = 0.7788 t × 1000 × 0.1 = 77.88 kg, while the functional unit keeps 60 kWh usable."""
    r = carbon_footprint("LFP", 60, "M1", 8, manufacturing_country="CN", capacity_kwh=120)
    assert r.stages_kgco2e["distribution"] == pytest.approx(77.88, rel=1e-12)
    assert r.functional_unit.total_energy_kwh == 28_800


def test_given_inputs_replace_defaults() -> None:
    """manufacturing energy 50 MJ/kg → 254.4 × 50 MJ; distribution 0 km → 0 kg (allowed); 500 km → 19.47 kg."""
    r = carbon_footprint("LFP", 60, "M1", 8, manufacturing_country="CN", manufacturing_energy_mj_per_kg_cell=50.0,
                         distribution_km=0)
    mj = CELLS * 50.0
    assert r.stages_kgco2e["main_production"] == pytest.approx(mj * 0.176 / 3.6 * 0.58 + mj * 0.824 * 0.0561, rel=1e-12)
    assert r.stages_kgco2e["distribution"] == 0.0
    inputs = {u.key: u.value for u in r.references if u.set == "input"}
    assert inputs == {"manufacturing_energy_mj_per_kg_cell": 50.0, "distribution_km": 0.0}
    half = carbon_footprint("LFP", 60, "M1", 8, manufacturing_country="CN", distribution_km=500)
    assert half.stages_kgco2e["distribution"] == pytest.approx(19.47, rel=1e-12)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"chemistry": "NMC532"}, r"manufacturing_energy_mj_per_kg_cell=None: greet_everbatt_ghg has no cell manufacturing "
                                  r"energy for NMC532: give it \(MJ per kg of cell\)"),
        ({"manufacturing_energy_mj_per_kg_cell": 0}, "manufacturing_energy_mj_per_kg_cell=0: must be a finite number greater than 0"),
        ({"manufacturing_country": "Narnia"}, r"manufacturing_country='Narnia': no grid factor; known: CN, DE, .*, WORLD "
                                              r"\(or override grid_factors.kgco2e_per_kwh\)"),
        ({"distribution_km": -1}, "distribution_km=-1: must be a finite number, 0 or more"),
        ({"end_of_life_process": "landfill"}, "end_of_life_process='landfill': must be one of pyro, hydro, direct"),
        ({"class_limits_kgco2e_per_kwh": {"A": 0}}, r"class_limits_kgco2e_per_kwh\.A=0: must be a finite number greater than 0"),
    ],
)
def test_footprint_errors_name_the_field(kwargs: dict, message: str) -> None:
    args = {"chemistry": "LFP", "manufacturing_country": "CN"} | kwargs
    with pytest.raises(CircularInputError, match=message):
        carbon_footprint(args.pop("chemistry"), 60, "M1", 8, **args)


def test_classes_from_given_or_reference_limits() -> None:
    """The LFP pack is ≈ 0.109 kg/kWh: limits A 0.1, B 0.2 → B (limits recorded as inputs); A 0.05, B 0.1
    → above every limit: None with a note; limits from a reference override (A 0.2) → A, not as inputs."""
    b = carbon_footprint("LFP", 60, "M1", 8, manufacturing_country="CN", class_limits_kgco2e_per_kwh={"A": 0.1, "B": 0.2})
    assert b.performance_class == "B" and b.class_limits_kgco2e_per_kwh == {"A": 0.1, "B": 0.2}
    assert b.to_passport_fields()["performance_class"] == "B"
    assert {u.key: u.value for u in b.references if u.set == "input"} == {"class_limits_kgco2e_per_kwh.A": 0.1,
                                                                          "class_limits_kgco2e_per_kwh.B": 0.2}
    assert not any("class" in n for n in b.notes)
    above = carbon_footprint("LFP", 60, "M1", 8, manufacturing_country="CN", class_limits_kgco2e_per_kwh={"A": 0.05, "B": 0.1})
    assert above.performance_class is None and "footprint above every class limit" in above.notes
    refs = References.default().override({"eu_2023_1542": {"carbon_footprint": {"class_limits_kgco2e_per_kwh": {"A": 0.2}}}})
    ref = carbon_footprint("LFP", 60, "M1", 8, manufacturing_country="CN", references=refs)
    assert ref.performance_class == "A" and ref.class_limits_kgco2e_per_kwh == {"A": 0.2}
    assert not any(u.set == "input" for u in ref.references)


def test_class_order_is_by_limit_not_by_name() -> None:
    """Classes named so that their alphabetical order is the reverse of their limits: 'high' 0.3, 'low'
    0.1 — 0.05 kg/kWh is in 'low' (the lowest limit not below it), 0.2 in 'high'."""
    limits = {"high": 0.3, "low": 0.1}
    assert performance_class(0.05, limits) == "low" and performance_class(0.2, limits) == "high"


def test_mileage_warranty_reaches_the_footprint() -> None:
    """60 kWh, 8 years or 160,000 km at 25,000 km/yr = 6.4 years: 60 × 60 × 6.4 = 23,040 kWh, so the
    footprint per kWh is the 8-year one × 8 / 6.4."""
    years = carbon_footprint("LFP", 60, "M1", 8, manufacturing_country="CN")
    km = carbon_footprint("LFP", 60, "M1", 8, manufacturing_country="CN", warranty_km=160_000, annual_distance_km=25_000)
    assert km.functional_unit.total_energy_kwh == pytest.approx(23_040.0)
    assert km.functional_unit.service_life_basis == "warranty_km" and km.functional_unit.annual_distance_km == 25_000
    assert km.total_kgco2e_per_kwh == pytest.approx(years.total_kgco2e_per_kwh * 8 / 6.4, rel=1e-12)
    with pytest.raises(CircularInputError, match="annual_distance_km=None"):
        carbon_footprint("LFP", 60, "M1", 8, manufacturing_country="CN", warranty_km=160_000)


def test_reference_overrides_reach_the_composition_and_factors() -> None:
    """A BatPaC override of the LFP pack mass (7.0 kg/kWh instead of 6.49) moves the distribution stage to
    0.42 t × 1000 km × 0.1 = 42 kg; a GREET override of Cu (5.0 instead of 4.5) moves the Cu line to
    24.48 × 5.0 = 122.4 kg; an override of M1's cycles per year (100) gives 60 × 100 × 8 = 48,000 kWh."""
    refs = References.default().override({
        "batpac_5": {"kg_per_kwh_cell": {"LFP": {"pack_mass": 7.0}}},
        "greet_everbatt_ghg": {"material_kgco2e_per_kg": {"Cu": 5.0}},
        "eu_2023_1542": {"carbon_footprint": {"cycles_per_year": {"M1": 100}}},
    })
    r = carbon_footprint("LFP", 60, "M1", 8, manufacturing_country="CN", references=refs)
    assert r.stages_kgco2e["distribution"] == pytest.approx(42.0, rel=1e-12)
    assert next(x for x in r.lines if x.item == "Cu").ghg_kgco2e == pytest.approx(122.4, rel=1e-12)
    assert r.functional_unit.total_energy_kwh == 48_000
    assert any(u.set == "batpac_5" and u.overridden for u in r.references)


def test_a_bare_composition_and_small_masses() -> None:
    """A composition built directly with only Li, Fe and 0.5 kg of Al (no graphite or Cu keys at all):
    the raw-material lines are the CAM (given, 2 kg) and the 0.5 kg of Al (below 1 kg, still counted:
    0.5 × 6.05 = 3.025 kg CO2e); absent materials give no line."""
    from batteryloop.circular.chemistry import PackComposition

    comp = PackComposition(chemistry="LFP", capacity_kwh=None, materials_kg={"Li": 0.1, "Fe": 0.8, "Al": 0.5},
                           cathode_active_material_kg=2.0, cell_mass_kg=5.0, pack_mass_kg=8.0, is_estimate=False, source="given")
    r = carbon_footprint("LFP", 1, "M1", 8, manufacturing_country="CN", composition=comp)
    raw = [(x.item, x.quantity, x.ghg_kgco2e) for x in r.lines if x.stage == "raw_material"]
    assert raw == [("LFP cathode active material", 2.0, pytest.approx(2.0 * 9.45)), ("Al", 0.5, pytest.approx(3.025))]


def test_end_of_life_values_no_material_and_reads_the_references() -> None:
    """NMC532 has no cathode powder price: its direct-recycling end of life still counts (material is
    not valued in a footprint). Process inputs come from the given references: hydro H2SO4 2.0 kg per kg
    (instead of 1.08) adds 254.4 (the cells) × 0.92 × 0.1 kg CO2e; a diesel input of 0 MJ gives a 0 kg line with
    factor 0."""
    r = carbon_footprint("NMC532", 60, "M1", 8, manufacturing_country="CN", manufacturing_energy_mj_per_kg_cell=51.0,
                         end_of_life_process="direct")
    assert r.stages_kgco2e["end_of_life"] > 0 and any(x.item == "direct recycling: CO2_kg" for x in r.lines)
    base = carbon_footprint("LFP", 60, "M1", 8, manufacturing_country="CN")
    refs = References.default().override({"everbatt_2023": {"process_inputs_per_kg_spent_battery": {
        "hydro": {"H2SO4_kg": 2.0, "diesel_mj": 0.0}}}})
    more = carbon_footprint("LFP", 60, "M1", 8, manufacturing_country="CN", references=refs)
    assert more.stages_kgco2e["end_of_life"] - base.stages_kgco2e["end_of_life"] == pytest.approx(
        CELLS * 0.92 * 0.1 - PACK * 0.6 * 0.0741, rel=1e-9)
    diesel = next(x for x in more.lines if x.item == "hydro recycling: diesel_mj")
    assert (diesel.quantity, diesel.factor, diesel.ghg_kgco2e) == (0.0, 0.0, 0.0)


@pytest.mark.parametrize(("chem", "category", "country"), [("LFP", "M1", "CN"), ("NMC811", "N3", "DE"), ("NCA", "L", "FR"),
                                                          ("NMC622", "M2", "PL")])
def test_passport_fields_are_rounded_to_four_decimals(chem: str, category: str, country: str) -> None:
    """The passport carries each per-kWh figure rounded to 4 decimals (0.1 g CO2e/kWh)."""
    r = carbon_footprint(chem, 60, category, 8, manufacturing_country=country)
    f = r.to_passport_fields()
    s = r.stages_kgco2e_per_kwh
    assert f == {"total_kgco2e_per_kwh": round(r.total_kgco2e_per_kwh, 4),
                 "raw_material_kgco2e_per_kwh": round(s["raw_material"], 4),
                 "main_production_kgco2e_per_kwh": round(s["main_production"], 4),
                 "distribution_kgco2e_per_kwh": round(s["distribution"], 4),
                 "end_of_life_kgco2e_per_kwh": round(s["end_of_life"], 4), "performance_class": None}
