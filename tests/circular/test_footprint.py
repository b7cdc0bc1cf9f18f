"""Carbon footprint (Art. 7): functional unit, four stages by hand, lots replacing defaults, classes, errors."""

from __future__ import annotations

import pytest

from batteryloop.circular.errors import CircularInputError
from batteryloop.circular.footprint import MaterialFootprint, carbon_footprint, functional_unit, performance_class
from batteryloop.reference import References

# LFP per kWh (BatPaC 5.0): cell 4.24, pack 6.49, Li 0.089, Fe 0.68, graphite 0.96, Cu 0.408, Al 0.251 kg.
# CAM (LiFePO4) = Li + Fe + (Fe / 55.845) × (30.974 + 4 × 15.999)
LFP_CAM_PER_KWH = 0.089 + 0.68 + 0.68 / 55.845 * (30.974 + 4 * 15.999)  # 1.92540


def test_lfp_car_pack_footprint_by_hand():
    r = carbon_footprint("LFP", 60, "M1", 8, manufacturing_country="CN")
    # raw material: CAM × 9.45 (LFP) + graphite × 9.1 + Cu × 4.5 + Al × 6.05  (GREET via EverBatt)
    raw = 60 * (LFP_CAM_PER_KWH * 9.45 + 0.96 * 9.1 + 0.408 * 4.5 + 0.251 * 6.05)  # 1817.14 kg
    # main production: 60 × 4.24 kg cells × 40.1 MJ/kg; 17.6 % electricity at CN 0.58 kg/kWh, rest gas 0.0561 kg/MJ
    mj = 60 * 4.24 * 40.1
    main = mj * 0.176 / 3.6 * 0.58 + mj * 0.824 * 0.0561  # 760.84 kg
    # distribution: 60 × 6.49 kg = 0.3894 t × 1000 km × 0.1 kg/t·km
    dist = 0.3894 * 1000 * 0.1  # 38.94 kg
    # end of life: hydro inputs per kg × the 254.4 kg of cells (pre-treatment sends the housing to scrap metal), diesel
    # × the whole 389.4 kg (grid US 0.37)
    eol = 254.4 * (1.08 * 0.1 + 0.561 * 1.2 + 0.366 * 1.0 + 2.5 * 0.0561 + 0.125 / 3.6 * 0.37) + 389.4 * 0.6 * 0.0741
    total_energy = 60 * 60 * 8  # usable kWh × 60 cycles/yr (M1) × 8 years = 28,800 kWh
    assert r.functional_unit.total_energy_kwh == total_energy
    assert r.stages_kgco2e["raw_material"] == pytest.approx(raw, rel=1e-4)
    assert r.stages_kgco2e["main_production"] == pytest.approx(main, rel=1e-9)
    assert r.stages_kgco2e["distribution"] == pytest.approx(dist, rel=1e-9)
    assert r.stages_kgco2e["end_of_life"] == pytest.approx(eol, rel=1e-9)
    assert r.total_kgco2e_per_kwh == pytest.approx((raw + main + dist + eol) / total_energy, rel=1e-4)  # ≈ 0.109
    fields = r.to_passport_fields()
    stages = sum(fields[k] for k in fields if k.endswith("_kgco2e_per_kwh") and k != "total_kgco2e_per_kwh")
    assert stages == pytest.approx(fields["total_kgco2e_per_kwh"], abs=1e-3)
    keys = {u.set for u in r.references}
    assert {"batpac_5", "greet_everbatt_ghg", "grid_factors", "eu_2023_1542", "ipcc_2006"} <= keys


def test_functional_unit_categories_and_mileage():
    assert functional_unit(100, "N3", 5).total_energy_kwh == 100 * 250 * 5
    assert functional_unit(10, "L", 4).cycles_per_year == 20
    fu = functional_unit(60, "M1", 8, warranty_km=100_000, annual_distance_km=20_000)
    # 100,000 km / 20,000 km per year = 5 years < 8 years: the shorter applies
    assert fu.service_life_years == 5 and fu.service_life_basis == "warranty_km"
    assert fu.total_energy_kwh == 60 * 60 * 5
    longer = functional_unit(60, "M1", 8, warranty_km=300_000, annual_distance_km=20_000)
    assert longer.service_life_years == 8 and longer.service_life_basis == "warranty_years"


def test_functional_unit_errors():
    with pytest.raises(CircularInputError) as e:
        functional_unit(60, "M1", 8, warranty_km=160_000)
    assert e.value.field == "annual_distance_km"
    with pytest.raises(CircularInputError) as e:
        functional_unit(60, "car", 8)
    assert e.value.field == "vehicle_category" and "M1" in str(e.value)
    with pytest.raises(CircularInputError) as e:
        functional_unit(60, "M1", 0)
    assert e.value.field == "warranty_years"


def test_traced_lot_replaces_default_cathode_factor():
    base = carbon_footprint("LFP", 60, "M1", 8, manufacturing_country="CN")
    cam = 60 * LFP_CAM_PER_KWH
    lot = MaterialFootprint(material="cathode", mass_kg=cam, kgco2e_per_kg=5.0, lot_id="LOT-1")
    traced = carbon_footprint("LFP", 60, "M1", 8, manufacturing_country="CN", material_footprints=[lot])
    assert traced.stages_kgco2e["raw_material"] - base.stages_kgco2e["raw_material"] == pytest.approx(
        cam * (5.0 - 9.45), rel=1e-4
    )
    assert any("LOT-1" in line.source for line in traced.lines)
    # a lot without its own factor uses the default (electronics 25.0 kg/kg)
    extra = carbon_footprint("LFP", 60, "M1", 8, manufacturing_country="CN",
                             material_footprints=[MaterialFootprint(material="electronics", mass_kg=4)])
    assert extra.stages_kgco2e["raw_material"] - base.stages_kgco2e["raw_material"] == pytest.approx(100.0)


def test_recycling_credits_only_when_asked():
    a = carbon_footprint("NMC622", 75, "M1", 8, manufacturing_country="DE")
    b = carbon_footprint("NMC622", 75, "M1", 8, manufacturing_country="DE", include_recycling_credits=True)
    assert a.recycling_credit_kgco2e > 0
    assert b.stages_kgco2e["end_of_life"] == pytest.approx(a.stages_kgco2e["end_of_life"] - a.recycling_credit_kgco2e)


def test_grid_country_drives_main_production():
    fr = carbon_footprint("NMC811", 75, "M1", 8, manufacturing_country="FR")
    pl = carbon_footprint("NMC811", 75, "M1", 8, manufacturing_country="PL")
    # only the electricity line differs: 75 × 2.98 kg × 57.1 MJ/kg × 0.176 / 3.6 kWh × (0.66 − 0.056)
    kwh = 75 * 2.98 * 57.1 * 0.176 / 3.6
    assert pl.total_kgco2e - fr.total_kgco2e == pytest.approx(kwh * (0.66 - 0.056))


def test_performance_class_from_configurable_limits():
    limits = {"A": 0.08, "B": 0.12, "C": 0.20}
    assert performance_class(0.05, limits) == "A"
    assert performance_class(0.12, limits) == "B"  # limits are inclusive
    assert performance_class(0.5, limits) is None
    r = carbon_footprint("LFP", 60, "M1", 8, manufacturing_country="CN", class_limits_kgco2e_per_kwh=limits)
    assert r.performance_class == "B"  # 0.109 kg/kWh
    none = carbon_footprint("LFP", 60, "M1", 8, manufacturing_country="CN")
    assert none.performance_class is None and any("class limits" in n for n in none.notes)
    refs = References.default().override(
        {"eu_2023_1542": {"carbon_footprint": {"class_limits_kgco2e_per_kwh": {"A": 0.2}}}}
    )
    assert carbon_footprint("LFP", 60, "M1", 8, manufacturing_country="CN", references=refs).performance_class == "A"


def test_footprint_errors_name_the_field():
    with pytest.raises(CircularInputError) as e:
        carbon_footprint("NMC532", 60, "M1", 8, manufacturing_country="CN")
    assert e.value.field == "manufacturing_energy_mj_per_kg_cell"
    ok = carbon_footprint("NMC532", 60, "M1", 8, manufacturing_country="CN", manufacturing_energy_mj_per_kg_cell=51.0)
    assert ok.total_kgco2e > 0
    with pytest.raises(CircularInputError) as e:
        carbon_footprint("LFP", 60, "M1", 8, manufacturing_country="Narnia")
    assert e.value.field == "manufacturing_country"
    with pytest.raises(CircularInputError) as e:
        carbon_footprint("LFP", -60, "M1", 8, manufacturing_country="CN")
    assert e.value.field == "usable_energy_kwh"
    with pytest.raises(CircularInputError) as e:
        carbon_footprint("LFP", 60, "M1", 8, manufacturing_country="CN", end_of_life_process="landfill")
    assert e.value.field == "end_of_life_process"
    with pytest.raises(CircularInputError) as e:
        carbon_footprint("LFP", 60, "M1", 8, manufacturing_country="CN", class_limits_kgco2e_per_kwh={"A": -1})
    assert e.value.field == "class_limits_kgco2e_per_kwh.A"
