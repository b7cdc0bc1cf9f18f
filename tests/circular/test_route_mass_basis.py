"""One pack-mass basis for the route decision and the compliance report (issue 18, referee's figures, 1).

Before, a route decision valued recycling on BatPaC's default pack (400.98 kg for 82 kWh of NMC811) while the
compliance report fed in the 481.2 kg the passport declares. Now both take the declared mass (BatPaC's only when
none is declared, or one below the cells' mass) and the decision says which.

Hand computation (docs/circular.md, "Route decision: the pack-mass basis"): the declared pack has the same cells
and 481.2 − 400.98 = 80.22 kg more hardware, split Al 0.60 / steel 0.15 / Cu 0.10 (plastics, electronics, coolant,
insulation: no value). Hydrometallurgical recycling (pre-treatment recovers 0.90 of each metal; EverBatt 2023
prices Al 1.117, steel 0.327, Cu 7.11 $/kg) earns 80.22 × 0.9 × (0.6 × 1.117 + 0.15 × 0.327 + 0.1 × 7.11)
= 80.22 × 0.9 × 1.43025 = 103.26119 $ more, and pays the process inputs on 80.22 kg more: per kg H2SO4 1.08 × 0.10
+ NaOH 0.561 × 0.50 + H2O2 0.366 × 0.60 + natural gas 2.5 × 0.004 + electricity 0.125 / 3.6 × 0.08 + diesel
0.6 × 0.025 = 0.6358778 $/kg → 51.01011 $. Net: +52.25108 $.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from batteryloop.circular.routes import decide_route, decide_routes_batch, recycle_value_usd_per_kwh
from batteryloop.sim import pilot

EXTRA_HARDWARE_KG = 481.2 - 400.98
HYDRO_INPUTS_USD_PER_KG = 1.08 * 0.10 + 0.561 * 0.50 + 0.366 * 0.60 + 2.5 * 0.004 + 0.125 / 3.6 * 0.08 + 0.6 * 0.025
HYDRO_GAIN_USD = EXTRA_HARDWARE_KG * 0.9 * (0.6 * 1.117 + 0.15 * 0.327 + 0.1 * 7.11) - EXTRA_HARDWARE_KG * HYDRO_INPUTS_USD_PER_KG


def test_hand_figures():
    assert HYDRO_INPUTS_USD_PER_KG == pytest.approx(0.6358778, abs=1e-7)
    assert HYDRO_GAIN_USD == pytest.approx(52.25108, abs=1e-5)


def test_decision_values_recycling_on_the_declared_mass_and_says_so():
    batpac = decide_route("NMC811", 82.0, 0.5, sensitivity=False)
    declared = decide_route("NMC811", 82.0, 0.5, pack_mass_kg=481.2, sensitivity=False)
    assert (batpac.pack_mass_basis, declared.pack_mass_basis) == ("batpac", "declared")
    assert batpac.pack_mass_kg == pytest.approx(400.98) and declared.pack_mass_kg == pytest.approx(481.2)
    gain = declared.option("recycle_hydro").npv_usd - batpac.option("recycle_hydro").npv_usd
    assert gain == pytest.approx(HYDRO_GAIN_USD, abs=1e-6)
    per_kwh = recycle_value_usd_per_kwh("NMC811", pack_mass_kg_per_kwh=481.2 / 82.0)["recycle_hydro"]
    assert per_kwh * 82.0 == pytest.approx(declared.option("recycle_hydro").npv_usd)


def test_below_the_cells_the_declared_mass_is_not_a_pack_of_them():
    d = decide_route("NMC811", 82.0, 0.5, pack_mass_kg=200.0, sensitivity=False)  # cells alone weigh 244.36 kg
    assert d.pack_mass_basis == "batpac_declared_below_cells" and d.pack_mass_kg == pytest.approx(400.98)


def test_batch_takes_each_packs_mass():
    b = decide_routes_batch(["NMC811"] * 3, np.full(3, 82.0), np.full(3, 0.5),
                            pack_mass_kg=np.array([481.2, np.nan, 200.0]))
    assert list(b.pack_mass_basis) == ["declared", "batpac", "batpac_declared_below_cells"]
    assert b.pack_mass_kg == pytest.approx([481.2, 400.98, 400.98])
    hydro = b.routes.index("recycle_hydro")
    assert b.npv_usd[0, hydro] - b.npv_usd[1, hydro] == pytest.approx(HYDRO_GAIN_USD, abs=1e-6)
    assert b.npv_usd[2, hydro] == pytest.approx(b.npv_usd[1, hydro])
    with pytest.raises(Exception, match="pack_mass_kg"):
        decide_routes_batch(["NMC811"], np.array([82.0]), np.array([0.5]), pack_mass_kg=np.array([-1.0]))


def test_service_decision_and_compliance_report_share_the_declared_mass(pilot_services: Any) -> None:
    """A passport declaring 481.2 kg: the route decision's recycling is of that pack (basis ``declared``), as the
    compliance report's Annex XII input is."""
    svc = pilot_services
    op = pilot_services.pilot["callers"][pilot.AUTOMAKER]
    rec = next(pilot.generate_batteries(1, seed=31))
    rec = {**rec, "model_id": "EM-NMC811-82", "serial_number": "NMC811-MASS-0001", "mass_kg": 481.2,
           "state_of_health": {**(rec.get("state_of_health") or {}), "soh_capacity_pct": 50.0}}
    pid = svc.passports.create_passport(rec, op)["passport_id"]
    [out] = svc.circular.pack_routes([pid], op)
    assert (out["pack_mass_basis"], out["pack_mass_kg"]) == ("declared", 481.2)
    batpac = decide_route("NMC811", 82.0, 0.5, sensitivity=False)
    assert out["npv_usd"]["recycle_hydro"] == pytest.approx(batpac.option("recycle_hydro").npv_usd + HYDRO_GAIN_USD, abs=0.01)
    one = svc.circular.pack_route(pid, op)["decision"]
    assert (one["pack_mass_basis"], one["pack_mass_kg"]) == ("declared", 481.2)
    # the model declares 481.2 kg too (pilot catalogue: 82 kWh × 4.89 × 1.2 kg/kWh): the report's Annex XII input
    assert svc.passports.model_data("EM-NMC811-82")["mass_kg"] == 481.2
    report = svc.circular.compliance("EM-NMC811-82", 2025)
    assert report["recycling_by_process"]["hydro"]["input_mass_kg"] == pytest.approx(481.2)
