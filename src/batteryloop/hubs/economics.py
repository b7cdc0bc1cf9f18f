"""A hub's year in money and CO2, and levelised cost of storage (LCOS) with second-life vs new packs.

**Annual account** (tariff currency and USD): EV charging revenue (tariff at the hour + service fee),
swap revenue (NIO rule via :func:`batteryloop.circular.swap_price`: (mean tariff + service fee) × kWh
per swap, at least the minimum), export revenue; grid import cost, fixed O&M; the wear the dispatch
priced (non-cash: it is the capital the packs lose, counted in LCOS).

**Value of the storage**: the grid bill the hub would have paid in each step without the storage's own
charge and discharge (all other flows as they were, limits ignored) minus the bill it paid.

**LCOS** (USD per kWh discharged), the same duty for both systems (the year's discharge per kWh of
usable capacity), discounted at the route decision's rate r:

    LCOS = (CAPEX + Σ_n O&M/(1+r)^n − residual/(1+r)^N) / Σ_n E_n/(1+r)^n

- second life: CAPEX = usable kWh × (acquisition + repurposing + balance of system); lives until its
  packs reach the end of second life (``batteryloop_assumptions.second_life_end_soh_fraction``, 0.60, a project
  assumption) at the simulated fade per year (at most ``max_years``: the route decision's,
  ``nrel_2015_second_use.second_use_years``, 10 — until mend12 a fixed 15 of its own); E_n falls
  with capacity; residual = each pack's best recycling value, on the mass its passport declares
  (:func:`batteryloop.circular.routes.recycle_value_usd_per_kwh`; BatPaC's pack where none is declared).
- new: CAPEX = usable kWh × turnkey price (``stationary_storage_costs``); life = the shorter of the
  calendar life and cycle life / cycles per year; capacity fades linearly to the end-of-life state of
  health over that life.

``break_even_acquisition_usd_per_kwh``: the price of a retired pack (USD per usable kWh) at which
second-life LCOS equals new — the most a hub operator should pay for packs at this duty (negative: even
free packs cost more per kWh than new storage).

Charging energy is left out of LCOS (both systems buy the same energy; the losses differ only through
efficiency, which the year's account already shows).

**CO2 avoided** with a grid emission factor (``grid_factors``): PV energy used (on site or exported)
displaces grid energy; storage losses are drawn from the grid; second-life packs avoid making new
cells (raw material + main production stages of :func:`batteryloop.circular.carbon_footprint`).

**Route feed**: :func:`route_overrides` turns the year into the second-life duty and value of
:class:`batteryloop.circular.RouteEconomics` (storage value per kWh discharged in USD, cycles a year, their
mean depth, the storage temperature, round-trip efficiency): the route decision then values repurposing
with the same fade model (:mod:`batteryloop.circular.second_life`) at the duty the hub imposes, and by
what the hub's dispatch earns under the site's tariff. Second-life years in LCOS come from the same
projection.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict

from ..circular.baas import swap_price
from ..circular.footprint import carbon_footprint
from ..circular.routes import recycle_value_usd_per_kwh
from ..circular.second_life import SecondLifeDuty, SecondLifeValue
from ..reference import References, ReferenceValue
from .errors import HubInputError
from .hub import HubPrepared, prepare_hub
from ..reference import hub_references
from .year import YearResult


class LcosResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    system: str
    usable_energy_kwh: float
    capex_usd: float
    om_usd_per_year: float
    years: float
    discharged_kwh_first_year: float
    residual_usd: float
    lcos_usd_per_kwh: float


class HubEconomics(BaseModel):
    model_config = ConfigDict(frozen=True)

    hub: str
    days: int
    currency: str
    usd_per_currency: float
    annual: dict[str, float]  # currency per year (scaled to 365 days)
    annual_usd: dict[str, float]
    storage_value_per_kwh_discharged: float  # currency
    lcos: dict[str, LcosResult]
    break_even_acquisition_usd_per_kwh: float  # the price of a retired pack (per usable kWh) at which LCOS equals new
    co2_kg_per_year: dict[str, float]
    route_overrides: dict[str, float]
    references: list[ReferenceValue]


def _lcos(system: str, usable: float, capex: float, om: float, years: float, e1: float, fade_per_year: float,
          start_soh: float, residual: float, r: float) -> LcosResult:
    n_full = int(math.floor(years))
    num = capex
    den = 0.0
    for n in range(1, n_full + 2):
        frac = min(1.0, years - (n - 1))
        if frac <= 0:
            break
        df = (1 + r) ** -n
        soh = max(start_soh - fade_per_year * (n - 0.5), 1e-6)
        num += om * frac * df
        den += e1 * soh / start_soh * frac * df
    num -= residual * (1 + r) ** -years
    return LcosResult(system=system, usable_energy_kwh=usable, capex_usd=capex, om_usd_per_year=om, years=years,
                      discharged_kwh_first_year=e1, residual_usd=residual,
                      lcos_usd_per_kwh=num / den if den > 0 else float("inf"))


def storage_value_by_step(result: YearResult, hub: HubPrepared) -> np.ndarray:
    """The value of the storage in each step (tariff currency): the grid bill the hub would have paid without the
    storage's own charge and discharge (all other flows as they were) minus the bill it paid. Its sum over the
    discharged kWh is the value per kWh the route decision's second-life model uses (:func:`route_overrides`)."""
    hr = result.hourly
    price = hr["price_per_kwh"]
    net = hr["grid_import_kw"] - hr["grid_export_kw"]
    without = net + hr["discharge_kw"] - hr["charge_kw"]

    def bill(x: np.ndarray) -> np.ndarray:
        return (price * np.clip(x, 0, None) - hub.export_price * np.clip(-x, 0, None)) * result.dt_h

    return bill(without) - bill(net)


def hub_economics(result: YearResult, hub: HubPrepared | dict[str, Any] | Any, *, grid_country: str = "CN",
                  max_years: float | None = None, references: References | None = None) -> HubEconomics:
    """Annual account, LCOS (second-life vs new), CO2 avoided and route overrides for a simulated year.

    ``max_years``: the longest second life counted; default the route decision's,
    ``nrel_2015_second_use.second_use_years`` (10), listed in the references with the end of second life
    (``batteryloop_assumptions.second_life_end_soh_fraction``, a project assumption)."""
    h = hub if isinstance(hub, HubPrepared) else prepare_hub(hub, references)
    if not result.hourly:
        raise HubInputError("result.hourly", None, "simulate with keep_hourly=True for the economics")
    t = hub_references(references).tracker()
    scale = 365.0 / result.days
    dt = result.dt_h
    hr = result.hourly
    price = hr["price_per_kwh"]
    usd = result.usd_per_currency
    cfg = h.config
    ev_kwh = hr["ev_load_kw"] * dt
    ev_rev = float(np.sum(ev_kwh * (price + h.ev_service_fee)))
    swap_rev = 0.0
    if cfg.swap is not None and h.swap_kwh_per_swap > 0:
        n_swaps = result.totals["swap_kwh"] / h.swap_kwh_per_swap
        mean_tariff = float(np.mean(h.tariff))
        swap_rev = swap_price(h.swap_kwh_per_swap, mean_tariff, h.swap_service_fee, t.refs).price * n_swaps
    usable = float(sum(min(p.nominal_energy_kwh * p.soh_fraction for p in s.packs) * len(s.packs) for s in h.strings))
    capital = SecondLifeValue.capital_usd_per_kwh(t)  # the figures the route decision uses
    sl_unit = capital["acquisition"] + capital["bos"] + capital["repurposing"]
    new_unit = float(t.get("stationary_storage_costs", "new_system_usd_per_kwh"))
    om_frac = float(t.get("stationary_storage_costs", "fixed_om_fraction_of_capex_per_year"))
    om_sl_usd = usable * sl_unit * om_frac
    tot = result.totals
    annual = {
        "ev_charging_revenue": ev_rev * scale,
        "swap_revenue": swap_rev * scale,
        "export_revenue": tot["export_revenue"] * scale,
        "import_cost": tot["import_cost"] * scale,
        "storage_om_cost": om_sl_usd / usd,
        "unserved_penalty": tot["unserved_penalty"] * scale,
        "wear_cost_non_cash": tot["degradation_cost"] * scale,
    }
    annual["net_cash"] = (annual["ev_charging_revenue"] + annual["swap_revenue"] + annual["export_revenue"]
                          - annual["import_cost"] - annual["storage_om_cost"])
    value = float(np.sum(storage_value_by_step(result, h)))
    dis = tot["discharge_kwh"]
    value_per_kwh = value / dis if dis > 0 else 0.0
    annual["storage_value"] = value * scale
    # duty and ageing from the simulation
    alive = np.array([r is None for r in result.pack_retired_day])
    fade_year = float(np.mean((result.soh_start - result.soh_daily[:, -1])[alive] if alive.any() else result.soh_start - result.soh_daily[:, -1])) * scale
    soh0 = float(np.mean(result.soh_start))
    end = float(t.get("batteryloop_assumptions", "second_life_end_soh_fraction"))  # a project assumption
    if max_years is None:  # the route decision's longest second life (RouteEconomics.repurpose_max_years)
        max_years = float(t.get("nrel_2015_second_use", "second_use_years"))
    r = float(t.get("batteryloop_assumptions", "route", "discount_rate_fraction"))
    e1 = dis * scale
    chems = {p.chemistry for s in h.strings for p in s.packs}
    chem = sorted(chems)[0]
    # the duty the dispatch imposed, and the years of second life it leaves: the second-life fade model the route
    # decision uses (circular.second_life), projected from the packs' mean state of health
    fec_year = float(np.mean(result.pack_fec)) * scale
    dod = (float(np.sum(result.pack_dod * result.pack_fec) / np.sum(result.pack_fec))
           if result.pack_dod is not None and float(np.sum(result.pack_fec)) > 0 else h.ageing.degradation.reference_dod_fraction)
    # the packs' round-trip efficiency (what the dispatch uses), not discharged / charged over the simulated days:
    # a short run that ends emptier than it began would count stored energy it did not put in
    rte = float(np.mean([h.ageing.round_trip_efficiency(p) for s in h.strings for p in s.packs]))
    duty = SecondLifeDuty(fec_per_year=fec_year, dod_fraction=min(1.0, max(dod, 1e-3)),
                          temperature_c=result.storage_temperature_c, round_trip_efficiency_fraction=max(rte, 1e-3))
    packs = [p for s in h.strings for p in s.packs]
    f_ref = float(np.mean([h.ageing.fade_ref(p) for p in packs]))
    res_pct = float(np.mean([p.resistance_increase_pct for p in packs]))
    sl_years = float(h.ageing.degradation.project(soh0, f_ref, res_pct, duty, end_soh=end, max_years=max_years).years[0])
    # the packs' recycling at the end, each of the mass its passport declares (BatPaC's pack where none is):
    # the basis of the route decision and the compliance report (circular.chemistry.declared_pack_composition)
    rec_by: dict[tuple[str, float | None], float] = {}
    rec_usd = 0.0
    for p in packs:
        key = (p.chemistry, None if p.mass_kg is None else p.mass_kg / p.nominal_energy_kwh)
        if key not in rec_by:
            vals = [v for v in recycle_value_usd_per_kwh(key[0], t.refs, tracker=t, pack_mass_kg_per_kwh=key[1]).values()
                    if v is not None]
            rec_by[key] = max(vals) if vals else 0.0
        rec_usd += rec_by[key] * p.nominal_energy_kwh
    nominal = float(sum(p.nominal_energy_kwh for s in h.strings for p in s.packs))
    rec_per_kwh_nominal = rec_usd / nominal if nominal else 0.0
    sl = _lcos("second_life", usable, usable * sl_unit, om_sl_usd, sl_years, e1, fade_year, soh0,
               rec_per_kwh_nominal * nominal, r)
    # LCOS is linear in the capital cost (O&M is a fraction of it): the capital, and so the price of a
    # retired pack, at which second life costs as much per kWh as new storage
    def sl_lcos(capex: float) -> float:
        return _lcos("second_life", usable, capex, capex * om_frac, sl_years, e1, fade_year, soh0,
                     rec_per_kwh_nominal * nominal, r).lcos_usd_per_kwh
    fec_year = e1 / usable if usable else 0.0
    new_end = float(t.get("stationary_storage_costs", "new_end_soh_fraction"))
    new_years = min(float(t.get("stationary_storage_costs", "new_calendar_life_years")),
                    float(t.get("stationary_storage_costs", "new_cycle_life_fec")) / fec_year if fec_year > 0 else math.inf)
    new_fade = (1.0 - new_end) / new_years
    new = _lcos("new", usable, usable * new_unit, usable * new_unit * om_frac, new_years, e1, new_fade, 1.0,
                rec_per_kwh_nominal * usable, r)
    l0, l1 = sl_lcos(0.0), sl_lcos(1.0)
    acquisition = float(t.get("stationary_storage_costs", "second_life_acquisition_usd_per_kwh"))
    break_even = ((new.lcos_usd_per_kwh - l0) / (l1 - l0) / usable - (sl_unit - acquisition)
                  if usable and l1 > l0 and math.isfinite(new.lcos_usd_per_kwh) else float("nan"))
    # CO2
    f = float(t.get("grid_factors", "kgco2e_per_kwh", grid_country))
    fp = carbon_footprint(chem, 1.0, "M1", 8, manufacturing_country=grid_country, references=t.refs)
    per_kwh_cells = fp.stages_kgco2e["raw_material"] + fp.stages_kgco2e["main_production"]
    co2 = {
        "pv_displaced": tot["pv_used_kwh"] * f * scale,
        "storage_losses": -tot["losses_kwh"] * f * scale,
        "new_cells_avoided_per_year_of_life": usable * per_kwh_cells / max(sl.years, 1e-9),
        "new_cells_avoided_once": usable * per_kwh_cells,
        "grid_kgco2e_per_kwh": f,
    }
    co2["total_per_year"] = co2["pv_displaced"] + co2["storage_losses"] + co2["new_cells_avoided_per_year_of_life"]
    overrides = {
        "repurpose_value_usd_per_kwh_delivered": max(0.0, value_per_kwh * usd),
        "repurpose_cycles_per_year": duty.fec_per_year,
        "repurpose_dod_fraction": duty.dod_fraction,
        "repurpose_temperature_c": duty.temperature_c,
        "repurpose_round_trip_efficiency_fraction": duty.round_trip_efficiency_fraction,
    }
    return HubEconomics(
        hub=result.hub, days=result.days, currency=result.currency, usd_per_currency=usd,
        annual={k: round(v, 2) for k, v in annual.items()},
        annual_usd={k: round(v * usd, 2) for k, v in annual.items()},
        storage_value_per_kwh_discharged=value_per_kwh, lcos={"second_life": sl, "new": new},
        break_even_acquisition_usd_per_kwh=break_even,
        co2_kg_per_year={k: round(v, 3) for k, v in co2.items()}, route_overrides=overrides,
        references=[*result.references, *t.used(), *fp.references],
    )


def route_overrides(economics: HubEconomics) -> dict[str, float]:
    """Keyword overrides for :meth:`batteryloop.circular.RouteEconomics.from_references`."""
    return dict(economics.route_overrides)


def seasonal_economics(config: dict[str, Any], *, method: str = "optimised", weeks: int = 4, days_per_week: int = 7,
                       first_day: int = 0, grid_country: str = "CN",
                       references: References | None = None) -> tuple[dict[str, float], list[tuple[YearResult, HubEconomics]]]:
    """A hub's economics from ``weeks`` weeks spread over the year (one per season by default, starting at
    ``first_day``), and the second-life duty and value they give the route decision — combined over the weeks:
    storage value per kWh = Σ value / Σ discharged, cycles a year = the weeks' mean, depth weighted by cycles,
    the packs' round-trip efficiency. One window of four consecutive weeks sees one season (a
    winter month at Rotterdam has a third of June's sun): its value per kWh is not the year's."""
    from .year import simulate_year

    h = prepare_hub(config, references)
    out = []
    for w in range(weeks):
        start = (first_day + w * 365 // weeks) % 365
        res = simulate_year(h, days=days_per_week, method=method, start_day=start, references=references)
        out.append((res, hub_economics(res, h, grid_country=grid_country, references=references)))
    dis = [r.totals["discharge_kwh"] for r, _ in out]
    value = [e.storage_value_per_kwh_discharged * e.usd_per_currency * d for (_, e), d in zip(out, dis, strict=True)]
    cycles = [e.route_overrides["repurpose_cycles_per_year"] for _, e in out]
    dod = [e.route_overrides["repurpose_dod_fraction"] for _, e in out]
    combined = {
        "repurpose_value_usd_per_kwh_delivered": max(0.0, sum(value) / sum(dis)) if sum(dis) > 0 else 0.0,
        "repurpose_cycles_per_year": float(np.mean(cycles)),
        "repurpose_dod_fraction": float(np.average(dod, weights=cycles)) if sum(cycles) > 0 else float(np.mean(dod)),
        "repurpose_temperature_c": out[0][1].route_overrides["repurpose_temperature_c"],
        "repurpose_round_trip_efficiency_fraction": out[0][1].route_overrides["repurpose_round_trip_efficiency_fraction"],
    }
    return combined, out
