"""The virtual power plant (offered vs delivered) and a hub's economics feeding the route decision."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from batteryloop.circular import RouteEconomics, decide_route
from batteryloop.hubs import HubInputError, prepare_hub, simulate_year
from batteryloop.hubs.dispatch import check_schedule
from batteryloop.hubs.economics import hub_economics, route_overrides
from batteryloop.hubs.hub import day_inputs
from batteryloop.hubs.vpp import GridSignal, vpp_day


def _hubs(small_hub: dict[str, Any], n: int = 3) -> list[dict[str, Any]]:
    out = []
    for k in range(n):
        packs = [{**p, "pack_id": f"h{k}-{p['pack_id']}"} for p in small_hub["packs"]]
        out.append({**small_hub, "name": f"hub{k}", "packs": packs})
    return out


def test_vpp_follows_a_signal_within_limits_and_reports_delivery(small_hub: dict[str, Any]) -> None:
    hubs = [prepare_hub(h) for h in _hubs(small_hub)]
    req = np.zeros(24)
    req[2:4] = -100.0   # absorb at night
    req[12] = 150.0     # a small up request at midday
    req[15] = 1e5       # far beyond what the hubs hold
    r = vpp_day(hubs, GridSignal(request_kw=list(req)), day=180)
    for h in hubs:
        inp = day_inputs(h, h.initial_state(), 180)
        assert check_schedule(inp, r.schedules[h.config.name]) == []
    # small requests are met, the impossible one is capped by the offer
    assert r.delivered_kw[2:4] == pytest.approx([-100.0, -100.0], abs=1e-5)
    assert r.delivered_kw[12] == pytest.approx(150.0, abs=1e-5)
    assert r.delivered_kw[15] <= r.offered_up_kw[15] + 1e-6
    assert r.delivered_kw[15] < 1e5
    s = r.summary()
    assert s["delivered_kwh"] <= s["requested_kwh"]
    assert 0 < s["delivered_fraction_of_requested"] < 1
    # following the signal costs the hubs something, never less than their own optimum
    assert all(v["cost_of_flexibility"] >= -1e-6 for v in r.hubs.values())


def test_vpp_without_a_request_leaves_hubs_at_their_optimum(small_hub: dict[str, Any]) -> None:
    r = vpp_day(_hubs(small_hub, 2), {"request_kw": [0.0] * 24})
    assert all(abs(v["cost_of_flexibility"]) < 1e-6 for v in r.hubs.values())


def test_vpp_bad_input(small_hub: dict[str, Any]) -> None:
    with pytest.raises(HubInputError) as exc:
        vpp_day(_hubs(small_hub, 2), {"request_kw": [0.0] * 10})
    assert exc.value.field == "signal.request_kw"
    same = _hubs(small_hub, 1) * 2
    with pytest.raises(HubInputError, match="unique"):
        vpp_day(same, {"request_kw": [0.0] * 24})


def test_economics_and_route_feed(small_hub: dict[str, Any]) -> None:
    hub = prepare_hub(small_hub)
    year = simulate_year(hub, days=60)
    e = hub_economics(year, hub)
    assert e.annual["import_cost"] > 0 and e.annual["ev_charging_revenue"] > 0 and e.annual["swap_revenue"] > 0
    assert e.annual["storage_value"] > 0  # arbitrage on the TOU tariff pays
    sl, new = e.lcos["second_life"], e.lcos["new"]
    assert sl.capex_usd < new.capex_usd
    assert 0 < sl.years <= 15 and 0 < new.years <= 15
    assert sl.lcos_usd_per_kwh > 0 and new.lcos_usd_per_kwh > 0
    assert e.co2_kg_per_year["pv_displaced"] > 0 and e.co2_kg_per_year["new_cells_avoided_once"] > 0
    used = {(v.set, v.key) for v in e.references}
    assert ("stationary_storage_costs", "new_system_usd_per_kwh") in used
    assert ("grid_factors", "kgco2e_per_kwh.CN") in used
    o = route_overrides(e)
    econ = RouteEconomics.from_references(**o)
    d = decide_route("NMC622", 70, 0.75, economics=econ)
    assert d.economics.repurpose_cycles_per_year == pytest.approx(o["repurpose_cycles_per_year"])
    assert d.option("repurpose").feasible


def test_lcos_of_second_life_improves_with_a_slower_fading_chemistry(small_hub: dict[str, Any]) -> None:
    def lcos(chem: str) -> float:
        cfg = {**small_hub, "packs": [{**p, "chemistry": chem} for p in small_hub["packs"]]}
        h = prepare_hub(cfg)
        return hub_economics(simulate_year(h, days=30), h).lcos["second_life"].lcos_usd_per_kwh

    assert lcos("LFP") < lcos("NMC622")


def test_reports_are_json_ready(small_hub: dict[str, Any]) -> None:
    import json

    from batteryloop.hubs.report import hub_report, vpp_report

    r = hub_report(small_hub, days=7, figures=True)
    text = json.dumps(r)
    assert r["comparison"]["saving"] >= 0 and "power_stack" in r["figures"] and len(text) > 1000
    v = vpp_report(_hubs(small_hub, 2), {"request_kw": [0.0] * 17 + [50.0] + [0.0] * 6})
    json.dumps(v)
    assert v["steps"][17]["requested_kw"] == 50.0


def test_break_even_pack_price_equalises_lcos(small_hub: dict[str, Any]) -> None:
    from batteryloop.reference import hub_references

    hub = prepare_hub(small_hub)
    year = simulate_year(hub, days=30)
    e = hub_economics(year, hub)
    p = e.break_even_acquisition_usd_per_kwh
    assert np.isfinite(p)
    refs = hub_references().override({"stationary_storage_costs": {"second_life_acquisition_usd_per_kwh": p}})
    e2 = hub_economics(year, hub, references=refs)
    assert e2.lcos["second_life"].lcos_usd_per_kwh == pytest.approx(e2.lcos["new"].lcos_usd_per_kwh, rel=1e-6)


def test_lcos_residual_is_of_the_declared_pack_mass(small_hub: dict[str, Any]) -> None:
    """Issue 18 (referee): one pack-mass basis — the hub's LCOS residual (each pack's best recycling value at the end)
    is of the mass its passport declares, as the route decision's and the compliance report's. By hand: six NMC622
    packs of 70 kWh each declaring 20 kg more than BatPaC's pack carry 120 kg more hardware (Al 0.60, steel 0.15, Cu
    0.10); direct recycling, the best process for NMC622, recovers 0.90 of each metal (1.117, 0.327, 7.11 $/kg) and
    pays, on the extra housing, only diesel (0.6 × 0.025 = 0.015 $/kg: its CO2 and electricity treat the cells, which
    are the same): 120 × (0.9 × 1.43025 − 0.015) = 120 × 1.272225 = 152.667 $ more residual."""
    from batteryloop.circular.chemistry import pack_composition

    hub = prepare_hub(small_hub)
    year = simulate_year(hub, days=20)
    base = hub_economics(year, hub).lcos["second_life"].residual_usd
    batpac_kg = pack_composition("NMC622", 70.0).pack_mass_kg
    heavier = {**small_hub, "packs": [{**p, "chemistry": "NMC622", "mass_kg": batpac_kg + 20.0} for p in small_hub["packs"]]}
    hub2 = prepare_hub(heavier)
    assert [p.chemistry for s in hub.strings for p in s.packs] == ["NMC622"] * 6  # the default chemistry
    more = hub_economics(simulate_year(hub2, days=20), hub2).lcos["second_life"].residual_usd
    assert more - base == pytest.approx(120 * (0.9 * (0.6 * 1.117 + 0.15 * 0.327 + 0.1 * 7.11) - 0.6 * 0.025), abs=1e-6)
    assert more - base == pytest.approx(152.667, abs=1e-3)
