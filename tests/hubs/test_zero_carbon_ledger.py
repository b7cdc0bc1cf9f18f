"""The zero-carbon ledger of a hub's park (hubs/ledger.py) against the hand computation of docs/hubs.md
("The zero-carbon ledger"): two park years of a few hours each, worked through by hand with a grid factor of
0.5 kg CO2e/kWh (an override, so the arithmetic is plain), then the reference factor of the hub's country."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from batteryloop.hubs.ledger import park_year, zero_carbon_ledger
from batteryloop.reference import References

HALF = References.default().override({"grid_factors": {"kgco2e_per_kwh": {"KR": 0.5}}})

# year 1, four hours: EV charging 10 kWh each hour, the swap station 0, 0, 20, 10; PV 30, 20, 0, 0.
# With storage: the PV surplus (20 + 10 = 30 kWh) is stored; the packs give back 20 and 7 kWh (90 % round trip)
# in hours 3 and 4, so the park imports 10 and 13 kWh; nothing is exported.
YEAR1 = SimpleNamespace(dt_h=1.0, hourly={
    "ev_load_kw": np.array([10.0, 10, 10, 10]), "swap_kw": np.array([0.0, 0, 20, 10]), "pv_kw": np.array([30.0, 20, 0, 0]),
    "grid_import_kw": np.array([0.0, 0, 10, 13]), "grid_export_kw": np.zeros(4), "discharge_kw": np.array([0.0, 0, 20, 7])})
# year 2, two hours: consumption 10 and 10, PV 40 and 0; the packs store 20, the park exports 10, and in hour 2
# the packs cover the whole 10 kWh: no import.
YEAR2 = {"year": 2028, "consumption_kwh": 20.0, "pv_kwh": 40.0, "import_kwh": 0.0, "export_kwh": 10.0,
         "import_without_storage_kwh": 10.0, "storage_discharge_kwh": 10.0}


def test_park_year_reads_the_hub_hours() -> None:
    # consumption 10+10+30+20 = 70; PV 50; import 23; without storage max(0, load − PV) = 0+0+30+20 = 50
    assert park_year(YEAR1) == {"consumption_kwh": 70.0, "pv_kwh": 50.0, "import_kwh": 23.0, "export_kwh": 0.0,
                                "import_without_storage_kwh": 50.0, "storage_discharge_kwh": 27.0}
    # four representative weeks scaled to the year: every energy × the scale
    assert park_year(YEAR1, scale=365 / 28)["import_kwh"] == round(23 * 365 / 28, 1)


def test_the_hand_computed_ledger() -> None:
    rows = [{"year": 2027, **park_year(YEAR1)}, YEAR2]
    led = zero_carbon_ledger(rows, "KR", references=HALF)
    y1, y2 = led["years"]
    # year 1: solar share 1 − 23/70 = 0.6714; grid 23 × 0.5 = 11.5 kg; avoided (50 − 23) × 0.5 = 13.5 kg; net 11.5
    assert (y1["solar_share"], y1["grid_emissions_kg"], y1["avoided_by_storage_kg"], y1["net_emissions_kg"]) == \
        (0.6714, 11.5, 13.5, 11.5)
    assert y1["zero_carbon"] is False
    # year 2: no import: share 1.0, grid 0, avoided 10 × 0.5 = 5 kg, net 0 → zero-carbon (net ≤ 0)
    assert (y2["solar_share"], y2["grid_emissions_kg"], y2["avoided_by_storage_kg"], y2["net_emissions_kg"]) == \
        (1.0, 0.0, 5.0, 0.0)
    assert y2["zero_carbon"] is True and y2["export_credit_kg"] == 0.0
    # both years: consumption 90, import 23 → share 1 − 23/90 = 0.7444; avoided 18.5 kg; net 11.5 kg
    assert led["total"] == {"consumption_kwh": 90.0, "import_kwh": 23.0, "export_kwh": 10.0, "grid_emissions_kg": 11.5,
                            "avoided_by_storage_kg": 18.5, "export_credit_kg": 0.0, "net_emissions_kg": 11.5,
                            "solar_share": 0.7444}
    assert led["grid_kgco2e_per_kwh"] == 0.5


def test_export_credit_when_asked() -> None:
    led = zero_carbon_ledger([YEAR2], "KR", credit_export=True, references=HALF)
    # 10 kWh exported × 0.5 = 5 kg credited: net −5 kg
    assert (led["years"][0]["export_credit_kg"], led["years"][0]["net_emissions_kg"]) == (5.0, -5.0)


def test_storage_that_only_shifts_grid_energy_adds_emissions() -> None:
    # no PV: the packs charge 10 kWh from the grid at night and give back 9 by day; without storage the park
    # would have imported its 20 kWh of consumption, with storage it imports 20 + 10 − 9 = 21
    row = {"year": 2027, "consumption_kwh": 20.0, "pv_kwh": 0.0, "import_kwh": 21.0, "export_kwh": 0.0,
           "import_without_storage_kwh": 20.0, "storage_discharge_kwh": 9.0}
    assert zero_carbon_ledger([row], "KR", references=HALF)["years"][0]["avoided_by_storage_kg"] == -0.5


def test_the_countrys_reference_factor_is_used_and_named() -> None:
    from batteryloop.reference.grid_factors import SET

    led = zero_carbon_ledger([YEAR2], "NL")
    f = SET.values["kgco2e_per_kwh"]["NL"]
    assert led["grid_kgco2e_per_kwh"] == f and led["years"][0]["avoided_by_storage_kg"] == round(10 * f, 1)
    assert [(r["set"], r["key"]) for r in led["references"]] == [("grid_factors", "kgco2e_per_kwh.NL")]


def test_bad_figures_are_named() -> None:
    with pytest.raises(ValueError, match="park year 2028: import_kwh must be a non-negative number"):
        zero_carbon_ledger([{**YEAR2, "import_kwh": -1}], "KR")
    with pytest.raises(ValueError, match="consumption_kwh"):
        zero_carbon_ledger([{k: v for k, v in YEAR2.items() if k != "consumption_kwh"}], "KR")


def test_shed_load_is_neither_bought_nor_solar() -> None:
    # hour 3's 30 kWh: 10 kWh shed at an import limit of 20 kW (no storage, no PV then): consumption served 60
    # (not 70), import without storage 40, the share 1 − 20/60 (not 1 − 20/70)
    y = SimpleNamespace(dt_h=1.0, hourly={
        "ev_load_kw": np.array([10.0, 10, 10, 10]), "swap_kw": np.array([0.0, 0, 20, 10]),
        "pv_kw": np.array([30.0, 20, 0, 0]), "unserved_kw": np.array([0.0, 0, 10, 0]),
        "grid_import_kw": np.array([0.0, 0, 20, 20]), "grid_export_kw": np.array([20.0, 10, 0, 0]),
        "discharge_kw": np.zeros(4)})
    p = park_year(y)
    assert p["consumption_kwh"] == 60.0 and p["import_without_storage_kwh"] == 40.0
    led = zero_carbon_ledger([{"year": 1, **p}], "KR", references=HALF)
    assert led["years"][0]["solar_share"] == pytest.approx(1 - 40 / 60, abs=1e-4)


def test_an_optimised_hub_year_against_its_own_hours() -> None:
    """A simulated week of a sunny hub (optimised dispatch, CN time-of-use tariff), recomputed by hand from its
    hourly series: the ledger's figures are these sums; the energy balance closes; the storage, which takes the
    PV surplus the connection cannot export, lowers the import (the rule-based EMS of an earlier session added
    emissions in some years; the hubs now dispatch with the optimiser)."""
    from batteryloop.hubs import prepare_hub
    from batteryloop.hubs.year import simulate_year

    cfg = {"name": "sunny", "pv_kwp": 600.0, "grid": {"import_limit_kw": 400.0, "export_limit_kw": 20.0},
           "ev_charging": {"sessions_per_day": 40, "kwh_per_session": 30},
           "swap": {"swaps_per_day": 30, "pack_energy_kwh": 50},
           "packs": [{"pack_id": f"P{i}", "chemistry": "LFP", "nominal_energy_kwh": 60.0, "soh_fraction": 0.8}
                     for i in range(8)]}
    r = simulate_year(prepare_hub(cfg), days=7, method="optimised", start_day=170)
    h = r.hourly
    served = h["ev_load_kw"] + h["swap_kw"] - h["unserved_kw"]
    p = park_year(r)
    assert p["consumption_kwh"] == pytest.approx(served.sum(), abs=0.1)
    assert p["import_kwh"] == pytest.approx(h["grid_import_kw"].sum(), abs=0.1)
    assert p["import_without_storage_kwh"] == pytest.approx(np.clip(served - h["pv_kw"], 0, None).sum(), abs=0.1)
    # the bus balance: import − export = served load − PV used + charge − discharge, hour by hour
    bal = h["grid_import_kw"] - h["grid_export_kw"] - (served - h["pv_used_kw"] + h["charge_kw"] - h["discharge_kw"])
    assert np.abs(bal).max() < 1e-5
    led = zero_carbon_ledger([{"year": 2026, **p}], "CN")
    y = led["years"][0]
    f = led["grid_kgco2e_per_kwh"]
    assert f == 0.58
    assert y["solar_share"] == pytest.approx(1 - p["import_kwh"] / p["consumption_kwh"], abs=1e-4)
    assert y["grid_emissions_kg"] == pytest.approx(p["import_kwh"] * f, abs=0.1)
    assert y["avoided_by_storage_kg"] == pytest.approx((p["import_without_storage_kwh"] - p["import_kwh"]) * f, abs=0.1)
    assert y["net_emissions_kg"] == y["grid_emissions_kg"]
    # with PV surplus the export limit cannot take, the optimised storage carries sun into the evening
    assert y["avoided_by_storage_kg"] > 0
