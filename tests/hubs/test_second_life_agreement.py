"""One second-life model: the route decision's expected NPV of repurposing a set of packs and the hub
simulation's realised outcome of the same packs agree (issue 18, item 4).

The route decision values repurposing with :mod:`batteryloop.circular.second_life` at the duty and storage
value a hub measured (``hubs.economics.route_overrides``); the hub ages its packs day by day with the same
fade model and earns what its dispatch earns under the site's tariff. Here a hub of eight packs at Jeju (two
balanced strings of four, NMC622 70 kWh, SoH 0.70 and 0.68) is:

1. simulated for a year (seed 3, the optimiser the pilot's integrators run) → duty and value per kWh;
2. valued by the route decision with those figures (expected NPV per pack, summed);
3. simulated again through the whole second life of its packs with other weather and demand draws (seed 11),
   and its realised cash flows booked with the route's conventions: the capital on day 0 (repurposing per
   nominal kWh, balance of system per usable kWh), each year's storage value (the grid bill without the
   storage's own flows minus the bill paid) less O&M of the strings in service, discounted at the end of that
   year or at the end of the last string's life, and each string's recycling value when it retires.

**Tolerance: 3 % of the gross amounts at stake** (|capital| + the present value of the storage income + of
the recycling). Only randomness and dispatch detail differ between (2) and (3), and each is bounded:

- weather and demand: seeds 3 and 11 draw other days (weather sd 0.20, demand sd 0.10 a day); a hub-year's
  storage value per kWh differs by about 1–2 % between seeds (63.0 / 64.8 / 64.5 KRW/kWh in a 3-year run
  with seeds 3, 5, 11 at this site);
- dispatch detail: as a string loses a fifth of its energy the dispatch earns a little more per kWh (year 1
  → year 2: +1.7 to +3 % in that run) and cycles it a little differently, while the route values every
  year at the first year's figures; the days' depths vary around the mean depth the route uses (the fade is
  linear in depth, so the cycle-weighted mean is exact);
- time steps: the hub ages day by day (Euler), the route year by year (midpoint): < 0.01 SoH points;
  a string retires on the day its weakest pack crosses 60 %, the route interpolates within the year.

The storage income is about a fifth of the gross amounts, so these few per cent of it are well under 3 % of
the gross; the old pair of models (2 %/year fade and no balance of system in the route against 4–6 points a
year in the hub) differed by more than half the gross. Measured: expected −20,677 $, realised −20,656 $ on a
gross of 65,414 $ (0.02 %). The years of second life agree within 4 % on the hub's mean; per string the
optimiser's load sharing moves them by up to ±10 % (bounded at 15 %).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from batteryloop.circular.routes import decide_routes_batch, recycle_value_usd_per_kwh
from batteryloop.hubs.economics import hub_economics, storage_value_by_step
from batteryloop.hubs.hub import prepare_hub
from batteryloop.hubs.service import DEMO_TEMPLATE, _merge
from batteryloop.hubs.sites import site_template
from batteryloop.hubs.year import simulate_year

pytestmark = pytest.mark.slow

SOH = (0.70, 0.68)
CHEM, KWH = "NMC622", 70.0


def _config(seed: int) -> dict:
    strings = [{"string_id": f"S{j}", "packs": [
        {"pack_id": f"P{j}{k}", "chemistry": CHEM, "nominal_energy_kwh": KWH, "soh_fraction": s} for k in range(4)]}
        for j, s in enumerate(SOH)]
    return _merge(_merge(DEMO_TEMPLATE, site_template("Jeju")), {"name": "agreement", "strings": strings, "seed": seed})


def test_route_expectation_and_hub_realisation_agree() -> None:
    cfg = _config(3)
    year = simulate_year(cfg, days=365, method="optimised")
    econ = hub_economics(year, cfg, grid_country="KR")
    duty = econ.route_overrides
    soh = np.repeat(SOH, 4)
    cap = np.full(soh.size, KWH)
    batch = decide_routes_batch([CHEM] * soh.size, cap, soh, grade=["C"] * soh.size, economics=duty)
    expected = float(np.sum(batch.npv_usd[:, batch.routes.index("repurpose")]))
    e = batch.economics
    from batteryloop.circular.second_life import SecondLifeDegradation

    deg = SecondLifeDegradation.from_references()
    proj = deg.project(np.array(SOH), deg.fade_ref(CHEM), 0.0, e.second_life_duty(),
                       end_soh=e.repurpose_end_soh_fraction, max_years=e.repurpose_max_years)
    days = int(math.ceil(float(proj.years.max()) * 365)) + 20

    hub = prepare_hub(_config(11))
    life = simulate_year(hub, days=days, method="optimised")
    usd = life.usd_per_currency
    value_day = (storage_value_by_step(life, hub) * usd).reshape(days, hub.steps).sum(axis=1)
    end_day = []
    for j in range(len(SOH)):
        retired = [life.pack_retired_day[4 * j + k] for k in range(4)]
        assert all(d is not None for d in retired), "every pack must reach the end of its second life"
        end_day.append(min(retired) + 1)  # the string leaves service the day its weakest pack crosses 60 %
    r = e.discount_rate_fraction
    capital = -float(np.sum(cap * e.repurpose_cost_usd_per_kwh)) - float(np.sum(cap * soh * e.repurpose_bos_usd_per_kwh))
    income = 0.0
    last = max(end_day)
    for k in range(math.ceil(last / 365)):
        d0, d1 = 365 * k, min(365 * (k + 1), last)
        om = sum(max(0, min(end, d1) - d0) / 365 * 4 * KWH * s * e.repurpose_opex_usd_per_kwh_year
                 for end, s in zip(end_day, SOH, strict=True))
        income += (float(value_day[d0:d1].sum()) - om) * (1 + r) ** -(d1 / 365)
    rec = max(v for v in recycle_value_usd_per_kwh(CHEM).values() if v is not None)
    eol = sum(4 * KWH * rec * (1 + r) ** -(end / 365) for end in end_day)
    realised = capital + income + eol
    gross = abs(capital) + abs(income) + abs(eol)
    assert abs(realised - expected) <= 0.03 * gross, (expected, realised, gross)
    # and the second life lasts as long as the route projected — on the hub's mean: the optimiser prices wear by
    # (s_ref/s)², so it moves cycles from the weaker string to the stronger one and each string's life moves
    # (measured: −3 % and +10 %) in opposite directions around the projection at the hub's mean duty
    assert float(np.mean(end_day)) / 365 == pytest.approx(float(np.mean(proj.years)), rel=0.04)
    assert np.array(end_day) / 365 == pytest.approx(proj.years, rel=0.15)
