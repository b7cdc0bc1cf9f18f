"""One pack-mass basis for the route decision and the compliance report (issue 18, referee's figures, 1).

Before, a route decision valued recycling on BatPaC's default pack (400.98 kg for 82 kWh of NMC811) while the
compliance report fed in the 481.2 kg the passport declares. Now both take the declared mass (BatPaC's only when
none is declared) and the decision says which; a declared mass that is not a pack's mass is refused (truth11b).

Hand computation (docs/circular.md, "The pack-mass basis"): the declared pack has the same cells (244.36 kg) and
481.2 − 400.98 = 80.22 kg more hardware, split Al 0.60 / steel 0.15 / Cu 0.10 (plastics, electronics, coolant,
insulation: no value). Hydrometallurgical recycling (pre-treatment recovers 0.90 of each metal; EverBatt 2023
prices Al 1.117, steel 0.327, Cu 7.11 $/kg) earns 80.22 × 0.9 × (0.6 × 1.117 + 0.15 × 0.327 + 0.1 × 7.11)
= 80.22 × 0.9 × 1.43025 = 103.26119 $ more. Pre-treatment sends that housing to scrap-metal routes: the leaching
reagents and energy are charged on the cells only, which are the same; only diesel (handling and shredding,
0.6 MJ/kg × 0.025 $/MJ) is charged on the 80.22 kg more: 1.2033 $. Net: **+102.05789 $** (truth11 charged all
the hydro inputs, 0.6358778 $/kg, on the housing too: +52.25108 $).

The pack as BatPaC's (400.98 kg) by hand: its hydro inputs now cost 244.36 × (0.6358778 − 0.015) + 400.98 × 0.015
instead of 400.98 × 0.6358778: 156.62 × 0.6208778 = 97.24 $ less.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from batteryloop.circular.chemistry import declared_pack_composition, max_pack_mass_kg_per_kwh, pack_composition
from batteryloop.circular.errors import CircularInputError
from batteryloop.circular.recycling import recycle
from batteryloop.circular.routes import decide_route, decide_routes_batch, recycle_value_usd_per_kwh
from batteryloop.sim import pilot
from batteryloop.reference import References

EXTRA_HARDWARE_KG = 481.2 - 400.98
HYDRO_INPUTS_USD_PER_KG = 1.08 * 0.10 + 0.561 * 0.50 + 0.366 * 0.60 + 2.5 * 0.004 + 0.125 / 3.6 * 0.08 + 0.6 * 0.025
DIESEL_USD_PER_KG = 0.6 * 0.025
HYDRO_GAIN_USD = EXTRA_HARDWARE_KG * (0.9 * (0.6 * 1.117 + 0.15 * 0.327 + 0.1 * 7.11) - DIESEL_USD_PER_KG)


def test_hand_figures_are_the_codes() -> None:
    """The hand figures above against what recycle() charges and earns for the two packs (not arithmetic alone)."""
    assert HYDRO_INPUTS_USD_PER_KG == pytest.approx(0.6358778, abs=1e-7)
    assert HYDRO_GAIN_USD == pytest.approx(102.05789, abs=1e-5)
    batpac = pack_composition("NMC811", 82.0)
    declared, basis = declared_pack_composition("NMC811", 82.0, 481.2)
    assert basis == "declared" and (batpac.cell_mass_kg, batpac.pack_mass_kg) == pytest.approx((244.36, 400.98))
    a, b = recycle(batpac, "hydro"), recycle(declared, "hydro")
    assert b.revenue_usd - a.revenue_usd == pytest.approx(103.26119, abs=1e-5)
    assert b.input_cost_usd - a.input_cost_usd == pytest.approx(80.22 * 0.015, abs=1e-9)
    assert a.input_cost_usd == pytest.approx(244.36 * (HYDRO_INPUTS_USD_PER_KG - DIESEL_USD_PER_KG) + 400.98 * DIESEL_USD_PER_KG)
    assert b.material_net_value_usd - a.material_net_value_usd == pytest.approx(HYDRO_GAIN_USD, abs=1e-6)
    on = {i.name: i.charged_on_kg for i in b.inputs}
    assert on == pytest.approx({"H2SO4_kg": 244.36, "NaOH_kg": 244.36, "H2O2_kg": 244.36, "natural_gas_mj": 244.36,
                                "electricity_mj": 244.36, "diesel_mj": 481.2})
    # a smelter takes the whole pack: pyro charges every input on it
    assert [i.charged_on_kg for i in recycle(declared, "pyro").inputs] == pytest.approx([481.2] * 6)
    # Annex XII's efficiency is of the same composition: its hardware (80.22 kg more, by the design's shares) is
    # counted as the scrap-metal route recycles it (0.9 of Al, steel, Cu) — the recycled mass rises by
    # 80.22 × 0.85 × 0.9 = 61.3683 kg
    assert (b.recycling_efficiency_fraction * 481.2 - a.recycling_efficiency_fraction * 400.98
            == pytest.approx(80.22 * 0.85 * 0.9, abs=1e-6))


def test_decision_values_recycling_on_the_declared_mass_and_says_so() -> None:
    batpac = decide_route("NMC811", 82.0, 0.5, sensitivity=False)
    declared = decide_route("NMC811", 82.0, 0.5, pack_mass_kg=481.2, sensitivity=False)
    assert (batpac.pack_mass_basis, declared.pack_mass_basis) == ("batpac", "declared")
    assert batpac.pack_mass_kg == pytest.approx(400.98) and declared.pack_mass_kg == pytest.approx(481.2)
    gain = declared.option("recycle_hydro").npv_usd - batpac.option("recycle_hydro").npv_usd
    assert gain == pytest.approx(HYDRO_GAIN_USD, abs=1e-6)
    per_kwh = recycle_value_usd_per_kwh("NMC811", pack_mass_kg_per_kwh=481.2 / 82.0)["recycle_hydro"]
    assert per_kwh * 82.0 == pytest.approx(declared.option("recycle_hydro").npv_usd)


@pytest.mark.parametrize("mass", [0.0, -5.0, math.nan, math.inf])
def test_a_mass_that_is_not_a_number_of_kg_is_refused(mass: float) -> None:
    with pytest.raises(CircularInputError) as exc:
        declared_pack_composition("NMC811", 82.0, mass)
    assert exc.value.field == "pack_mass_kg"
    with pytest.raises(CircularInputError) as exc:
        recycle_value_usd_per_kwh("NMC811", pack_mass_kg_per_kwh=mass)
    assert exc.value.field == "pack_mass_kg_per_kwh"
    with pytest.raises(CircularInputError) as exc:
        decide_route("NMC811", 82.0, 0.5, pack_mass_kg=mass, sensitivity=False)
    assert exc.value.field == "pack_mass_kg"


def test_below_the_cells_or_above_the_bound_is_refused_naming_both() -> None:
    with pytest.raises(CircularInputError) as exc:  # cells alone weigh 82 × 2.98 = 244.36 kg
        decide_route("NMC811", 82.0, 0.5, pack_mass_kg=100.0, sensitivity=False)
    assert exc.value.field == "pack_mass_kg" and exc.value.value == 100.0 and "244.36 kg" in exc.value.rule
    declared_pack_composition("NMC811", 82.0, 244.36)  # cells and no hardware: still a pack
    # the bound: 2 × the heaviest lithium-ion traction pack per kWh on record (the 2011 Leaf, 80 Wh/kg: 12.5 kg/kWh)
    assert max_pack_mass_kg_per_kwh() == pytest.approx(2 * 1000 / 80) == 25.0
    declared_pack_composition("NMC811", 82.0, 25 * 82.0)  # the bound itself
    with pytest.raises(CircularInputError) as exc:
        decide_route("NMC811", 82.0, 0.5, pack_mass_kg=1e9, sensitivity=False)
    assert exc.value.field == "pack_mass_kg" and "2050 kg" in exc.value.rule


def test_the_bound_is_sourced_and_refuses_what_no_lithium_ion_pack_weighs() -> None:
    """30 kg per kWh (33 Wh/kg, a lead-acid battery's specific energy) passed the old unsourced 40 kg/kWh bound;
    it is 2.4 times the heaviest lithium-ion traction pack per kWh on record, and is refused, naming the bound and
    the reference values it is drawn from."""
    refs = References.default()
    assert refs.set("batterydesign_2023").get("pack_specific_energy_wh_per_kg", "nissan_leaf_2011") == 80.0
    with pytest.raises(CircularInputError) as exc:
        declared_pack_composition("LFP", 300.0, 30 * 300.0)
    assert exc.value.field == "pack_mass_kg" and "more than 25 kg per kWh (7500 kg for 300 kWh)" in exc.value.rule
    assert "lowest_lithium_ion_traction_pack_wh_per_kg" in exc.value.rule
    # a heavy LFP bus pack (BatPaC's 6.49 kg/kWh twice over) passes
    assert declared_pack_composition("LFP", 300.0, 2 * 6.49 * 300.0)[1] == "declared"


def test_the_bound_is_overridable_and_its_values_checked() -> None:
    wider = References.default().override({"batteryloop_assumptions": {"pack_mass_bound_margin_factor": 3.0}})
    assert max_pack_mass_kg_per_kwh(wider) == pytest.approx(37.5)
    assert declared_pack_composition("LFP", 300.0, 30 * 300.0, wider)[1] == "declared"
    lighter = References.default().override({"batterydesign_2023": {
        "lowest_lithium_ion_traction_pack_wh_per_kg": 100.0}})
    assert max_pack_mass_kg_per_kwh(lighter) == pytest.approx(20.0)
    with pytest.raises(CircularInputError, match="more than 20 kg per kWh"):
        declared_pack_composition("NMC811", 82.0, 22 * 82.0, lighter)
    zero = References.default().override({"batterydesign_2023": {"lowest_lithium_ion_traction_pack_wh_per_kg": 0}})
    with pytest.raises(CircularInputError) as exc:
        max_pack_mass_kg_per_kwh(zero)
    assert exc.value.field == "batterydesign_2023.lowest_lithium_ion_traction_pack_wh_per_kg"


def test_batch_takes_each_packs_mass() -> None:
    b = decide_routes_batch(["NMC811"] * 2, np.full(2, 82.0), np.full(2, 0.5), pack_mass_kg=np.array([481.2, np.nan]))
    assert list(b.pack_mass_basis) == ["declared", "batpac"]
    assert b.pack_mass_kg == pytest.approx([481.2, 400.98])
    hydro = b.routes.index("recycle_hydro")
    assert b.npv_usd[0, hydro] - b.npv_usd[1, hydro] == pytest.approx(HYDRO_GAIN_USD, abs=1e-6)


@pytest.mark.parametrize(("masses", "field", "value", "words"), [
    ([481.2, -1.0], "pack_mass_kg[1]", -1.0, "greater than 0"),
    ([481.2, math.inf], "pack_mass_kg[1]", math.inf, "greater than 0"),
    ([481.2, 0.0, 481.2], "pack_mass_kg[1]", 0.0, "greater than 0"),
    ([481.2, 481.2, 100.0], "pack_mass_kg[2]", 100.0, "244.36 kg"),
    ([1e9, 481.2], "pack_mass_kg[0]", 1e9, "2050 kg"),
])
def test_batch_names_the_bad_pack_and_its_value(masses: list[float], field: str, value: float, words: str) -> None:
    n = len(masses)
    with pytest.raises(CircularInputError) as exc:
        decide_routes_batch(["NMC811"] * n, np.full(n, 82.0), np.full(n, 0.5), pack_mass_kg=np.array(masses))
    assert exc.value.field == field and exc.value.value == value and words in exc.value.rule


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
