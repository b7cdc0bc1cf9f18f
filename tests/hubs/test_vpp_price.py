"""The least an aggregator must pay for a hub's flexibility (hubs/vpp.py; the /vpp page): the storage owner's
opportunity cost, against the hand computation of docs/hubs.md ("What a kWh of flexibility costs the hub"), and
never the value of load the hub would have to shed."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from batteryloop.hubs import GridSignal, prepare_hub, vpp_day
from batteryloop.hubs.hub import day_inputs

P_FLAT = 0.25  # EUR/kWh, every hour
P_OUT = 0.05


def _hub(import_limit_kw: float = 500.0) -> dict[str, Any]:
    return {"name": "flat", "pv_kwp": 0.0, "swap": None, "demand_variability_fraction": 0.0,
            "grid": {"tariff_per_kwh": [P_FLAT] * 24, "export_price_per_kwh": P_OUT, "currency": "EUR",
                     "import_limit_kw": import_limit_kw, "export_limit_kw": 100.0},
            # 24 sessions of 10 kWh spread evenly: a steady 10 kW load
            "ev_charging": {"sessions_per_day": 24, "kwh_per_session": 10, "hourly_profile": [1.0] * 24},
            "packs": [{"pack_id": "P1", "chemistry": "LFP", "nominal_energy_kwh": 100.0, "soh_fraction": 0.8}]}


def test_a_kwh_up_costs_the_round_trip_at_the_price_plus_half_the_wear() -> None:
    h = prepare_hub(_hub())
    inp = day_inputs(h, h.initial_state(), 180)
    assert np.allclose(inp.load_kw, 10.0)
    eta = float(inp.eta[0])
    w = float(inp.deg_cost_per_kwh[0])
    req = [0.0] * 24
    req[18] = 5.0  # 5 kW up at 18:00: the hub imports 5 kWh less that hour
    res = vpp_day([h], GridSignal(request_kw=req), day=180)
    s = res.summary()
    assert s["delivered_kwh"] == pytest.approx(5.0, abs=1e-6)
    # by hand: the string gives 5 kWh (its own 5/η leave it) and the day ends 5/η short, refilled at the flat
    # price through the charger (5/η² kWh): cost 0.25·5·(1/η² − 1) for the losses, wear w·5/2 on the discharge
    hand_per_kwh = P_FLAT * (1 / eta ** 2 - 1) + w / 2
    hub = res.hubs["flat"]  # unrounded (the summary rounds to 3 decimals)
    assert hub["cost_of_flexibility"] / 5.0 == pytest.approx(hand_per_kwh, rel=1e-6)
    parts = hub["cost_parts"]
    assert parts["unserved"] == 0.0
    assert parts["energy"] == pytest.approx(-P_FLAT * 5.0, rel=1e-6)  # 5 kWh not bought at 18:00
    assert parts["refill"] == pytest.approx(P_FLAT * 5.0 / eta ** 2, rel=1e-6)
    assert parts["wear"] == pytest.approx(w * 5.0 / 2, rel=1e-6)
    # the figures of docs/hubs.md: round trip η² = 0.90 (second_life_degradation), wear w = 0.00556 EUR/kWh for this
    # LFP pack at SoH 0.8 → 0.25 × (1/0.9 − 1) + 0.00556/2 = 0.027778 + 0.002782 = 0.030560 EUR/kWh
    assert eta ** 2 == pytest.approx(0.90, abs=1e-6)
    assert w == pytest.approx(0.00556, abs=5e-6)
    assert hub["cost_of_flexibility"] / 5.0 == pytest.approx(0.030560, abs=5e-6)


def test_following_the_signal_sheds_no_load() -> None:
    # an import limit at the load: following a "down" request above the connection's room could only be met by
    # cutting EV charging — which the VPP no longer books as flexibility
    h = prepare_hub(_hub(import_limit_kw=10.0))
    req = [0.0] * 24
    req[12] = -40.0  # more import than the connection allows
    req[19] = 30.0  # more relief than the string and the load can give
    res = vpp_day([h], GridSignal(request_kw=req), day=180)
    s = res.schedules["flat"]
    assert float(s.unserved_kw.sum()) == pytest.approx(float(res.baselines["flat"].unserved_kw.sum()), abs=1e-6)
    summ = res.summary()
    assert summ["hubs"]["flat"]["cost_parts"]["unserved"] == pytest.approx(0.0, abs=1e-9)
    assert summ["delivered_kwh"] < summ["requested_kwh"]  # the shortfall is the aggregator's, at its penalty
