"""A battery-swap station simulation with state-of-health-aware allocation and fleet exits.

A station holds packs; vehicles of a subscribed fleet arrive (Poisson, by hour of day) with a depleted
pack and leave with a charged one. Every ``step_minutes`` the station charges up to ``chargers`` packs,
immediately or against the hourly tariff (charging at peak prices only when ready stock runs low).
Allocation is ``soh_aware`` (premium customers get the healthiest ready pack, standard customers the
least healthy one that is ready) or ``fifo``. A returned pack fades by ``fade_per_full_cycle`` per full
equivalent cycle; below ``retire_soh_fraction`` it leaves the fleet, is replaced by a new pack, and gets
a route decision (:func:`.routes.decide_routes_batch`: refurbishment, second life or recycling).

Assumptions (all parameters of :class:`SwapStationConfig`; the defaults are illustrative, not measured):
CATL stations stock 14–30 packs (``catl_swap``); swaps are billed with :func:`.baas.swap_price`
(at least 20 kWh, ``nio_baas``). Currency follows the tariff (RMB by default).
"""

from __future__ import annotations

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from ..reference import References
from .baas import swap_price
from .routes import decide_routes_batch

_DEFAULT_PROFILE = [1, 0.5, 0.3, 0.3, 0.5, 1, 3, 6, 7, 5, 4, 4, 5, 4, 4, 5, 6, 8, 8, 6, 4, 3, 2, 1.5]
_DEFAULT_TARIFF = [0.3] * 7 + [0.6] + [1.0] * 3 + [0.6] * 6 + [1.0] * 4 + [0.6] * 2 + [0.3]


class SwapStationConfig(BaseModel):
    model_config = ConfigDict(frozen=True)

    packs_in_station: int = Field(20, ge=1, le=1000)
    vehicles: int = Field(300, ge=1)
    chemistry: str = "NMC622"
    pack_energy_kwh: float = Field(70.0, gt=0)
    chargers: int = Field(8, ge=1)
    charger_power_kw: float = Field(60.0, gt=0)
    swaps_per_day: float = Field(150.0, ge=0)
    hourly_profile: list[float] = Field(default_factory=lambda: list(_DEFAULT_PROFILE), min_length=24, max_length=24)
    tariff_per_kwh: list[float] = Field(default_factory=lambda: list(_DEFAULT_TARIFF), min_length=24, max_length=24)
    service_fee_per_kwh: float = Field(0.8, ge=0)
    charging: str = Field("tariff_aware", pattern="^(immediate|tariff_aware)$")
    reserve_ready_packs: int = Field(6, ge=0)
    allocation: str = Field("soh_aware", pattern="^(soh_aware|fifo)$")
    premium_share_fraction: float = Field(0.2, ge=0, le=1)
    dispatch_min_soc_fraction: float = Field(0.9, gt=0, le=1)
    arrival_soc_mean_fraction: float = Field(0.25, ge=0, le=1)
    arrival_soc_sd_fraction: float = Field(0.10, ge=0)
    fade_per_full_cycle: float = Field(0.0001, ge=0, lt=1)
    retire_soh_fraction: float = Field(0.80, ge=0, le=1)
    initial_soh_range: tuple[float, float] = (0.80, 1.0)
    days: int = Field(30, ge=1, le=3650)
    step_minutes: int = Field(5, ge=1, le=60)
    seed: int = Field(0, ge=0, le=2**32 - 1)

    @model_validator(mode="after")
    def _check(self) -> SwapStationConfig:
        lo, hi = self.initial_soh_range
        if not 0 <= lo <= hi <= 1:
            raise ValueError(f"initial_soh_range {self.initial_soh_range}: need 0 ≤ low ≤ high ≤ 1")
        if any(w < 0 for w in self.hourly_profile) or sum(self.hourly_profile) <= 0:
            raise ValueError("hourly_profile: 24 weights, 0 or more, not all 0")
        if any(p < 0 for p in self.tariff_per_kwh):
            raise ValueError("tariff_per_kwh: 24 prices, 0 or more")
        if 60 % self.step_minutes:
            raise ValueError(f"step_minutes {self.step_minutes}: must divide 60")
        return self


class SwapStationKPIs(BaseModel):
    model_config = ConfigDict(frozen=True)

    swaps_requested: int
    swaps_served: int
    service_level_fraction: float
    energy_charged_kwh: float
    energy_cost: float
    peak_charging_share_fraction: float
    swap_revenue: float
    gross_margin: float
    mean_soh_delivered: dict[str, float]  # by tier
    mean_ready_packs: float
    packs_retired: int
    retired_routes: dict[str, int]
    new_packs_bought: int
    fleet_mean_soh_end: float
    config: SwapStationConfig


def simulate_swap_station(config: SwapStationConfig | None = None, references: References | None = None) -> SwapStationKPIs:
    """Run the station for ``config.days`` and return its KPIs."""
    c = config or SwapStationConfig()
    rng = np.random.default_rng(c.seed)
    n_packs = c.packs_in_station + c.vehicles
    soh = rng.uniform(*c.initial_soh_range, n_packs)
    soc = np.ones(n_packs)
    at_station = np.zeros(n_packs, dtype=bool)
    at_station[: c.packs_in_station] = True
    vehicle_pack = np.arange(c.packs_in_station, n_packs)  # vehicle v holds pack vehicle_pack[v]
    e_kwh = c.pack_energy_kwh
    dt_h = c.step_minutes / 60
    steps_per_hour = 60 // c.step_minutes
    weights = np.asarray(c.hourly_profile) / sum(c.hourly_profile)
    lam_step = c.swaps_per_day * weights / steps_per_hour
    tariff = np.asarray(c.tariff_per_kwh)
    cheap = tariff.min()
    min_kwh = swap_price(0, 0, 0, references).kwh_billed  # minimum billed kWh (NIO: 20)

    requested = served = 0
    energy = cost = peak_energy = revenue = 0.0
    delivered: dict[str, list[float]] = {"premium": [], "standard": []}
    ready_sum = 0.0
    retired_soh: list[float] = []
    steps = c.days * 24 * steps_per_hour
    hours = (np.arange(steps) // steps_per_hour) % 24
    # demand is drawn up front, so that every policy faces the same customers (common random numbers)
    arrivals = rng.poisson(lam_step[hours])
    total = int(arrivals.sum())
    tier_u = rng.random(total)
    vehicle = rng.integers(c.vehicles, size=total)
    soc_draw = rng.normal(c.arrival_soc_mean_fraction, c.arrival_soc_sd_fraction, total)
    k = 0
    for step in range(steps):
        hour = int(hours[step])
        # arrivals
        for _ in range(arrivals[step]):
            requested += 1
            tier = "premium" if tier_u[k] < c.premium_share_fraction else "standard"
            v = int(vehicle[k])
            soc_arrival = float(soc_draw[k])
            k += 1
            station_ids = np.flatnonzero(at_station)
            ready = station_ids[soc[station_ids] >= c.dispatch_min_soc_fraction]
            if ready.size == 0:
                continue
            if c.allocation == "soh_aware":
                pick = ready[np.argmax(soh[ready])] if tier == "premium" else ready[np.argmin(soh[ready])]
            else:
                pick = ready[0]
            back = vehicle_pack[v]
            soc_in = float(np.clip(soc_arrival, 0.0, soc[back]))
            kwh = max(0.0, soc[pick] * soh[pick] - soc_in * soh[back]) * e_kwh
            revenue += (float(tariff[hour]) + c.service_fee_per_kwh) * max(kwh, min_kwh)  # = baas.swap_price
            # the returned pack ages by the cycle it just did
            soh[back] -= c.fade_per_full_cycle * (soc[back] - soc_in)
            soc[back] = soc_in
            vehicle_pack[v] = pick
            at_station[pick] = False
            at_station[back] = True
            delivered[tier].append(float(soh[pick]))
            served += 1
            if soh[back] < c.retire_soh_fraction:
                retired_soh.append(float(soh[back]))
                soh[back] = 1.0  # replaced by a new pack in the same slot
                soc[back] = 0.3
        # charging
        station_ids = np.flatnonzero(at_station)
        need = station_ids[soc[station_ids] < 1.0]
        n_ready = int(np.sum(soc[station_ids] >= c.dispatch_min_soc_fraction))
        ready_sum += n_ready
        if need.size:
            allowed = c.charging == "immediate" or tariff[hour] <= cheap or n_ready < c.reserve_ready_packs
            if allowed:
                order = need[np.argsort(-soc[need])][: c.chargers]  # closest to ready first
                cap_kwh = soh[order] * e_kwh
                add = np.minimum(c.charger_power_kw * dt_h, (1.0 - soc[order]) * cap_kwh)
                soc[order] += add / cap_kwh
                kwh = float(add.sum())
                energy += kwh
                cost += kwh * tariff[hour]
                if tariff[hour] > cheap:
                    peak_energy += kwh
    routes: dict[str, int] = {}
    if retired_soh:
        batch = decide_routes_batch([c.chemistry] * len(retired_soh), np.full(len(retired_soh), e_kwh),
                                    np.asarray(retired_soh), references=references)
        routes = batch.counts()
    return SwapStationKPIs(
        swaps_requested=requested, swaps_served=served,
        service_level_fraction=served / requested if requested else 1.0,
        energy_charged_kwh=energy, energy_cost=cost,
        peak_charging_share_fraction=peak_energy / energy if energy else 0.0,
        swap_revenue=revenue, gross_margin=revenue - cost,
        mean_soh_delivered={k: float(np.mean(v)) if v else float("nan") for k, v in delivered.items()},
        mean_ready_packs=ready_sum / steps, packs_retired=len(retired_soh), retired_routes=routes,
        new_packs_bought=len(retired_soh), fleet_mean_soh_end=float(soh.mean()), config=c,
    )
