"""A year (or N days) of a hub: dispatch every day, age every pack, carry the stored energy over.

Each day: weather and demand factors (seeded, identical for every method: common random numbers), the
day's inputs from the strings' current health, a dispatch (``optimised`` by HiGHS or ``rule_based``),
then every pack ages by its share of its string's throughput (full equivalent cycles × its fade rate at
its current health, at the depth of its string's cycling that day and the storage temperature: the
second-life fade model of :mod:`batteryloop.circular.second_life`, shared with the route decision) plus
calendar fade. A pack below the end of second life (``batteryloop_assumptions.second_life_end_soh_fraction``,
60 %, a project assumption) retires and takes its string out of service. The result keeps hourly series (for the
dashboard's stack plot), daily per-pack states of health, and the year's totals and costs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np

from ..reference import References, ReferenceValue
from .dispatch import DayOptimiser, Schedule, rule_based_day
from .errors import HubInputError
from .hub import HubConfig, HubPrepared, day_inputs, horizon_inputs, prepare_hub
from .pv import weather_factors

METHODS = ("optimised", "rule_based")
HOURLY = ("price_per_kwh", "pv_kw", "pv_used_kw", "grid_import_kw", "grid_export_kw", "charge_kw", "discharge_kw",
          "ev_load_kw", "swap_kw", "unserved_kw", "stored_kwh")


@dataclass
class YearResult:
    hub: str
    method: str
    days: int
    dt_h: float
    currency: str
    usd_per_currency: float
    hourly: dict[str, np.ndarray]
    daily: dict[str, np.ndarray]
    pack_ids: list[str]
    pack_passport_ids: list[str | None]
    soh_start: np.ndarray
    soh_daily: np.ndarray  # (packs, days + 1)
    pack_fec: np.ndarray
    pack_throughput_kwh: np.ndarray
    pack_retired_day: list[int | None]
    totals: dict[str, float]
    solve_s: float
    references: list[ReferenceValue] = field(default_factory=list)
    pack_dod: np.ndarray | None = None  # mean depth of each pack's cycles (weighted by cycles)
    storage_temperature_c: float = 25.0

    start_date: date = date(2026, 1, 1)
    utc_offset_hours: float = 0.0

    def timestamps_utc(self) -> list[datetime]:
        """The start of every step of the hourly series, timezone-aware UTC (local clock − offset)."""
        t0 = datetime(self.start_date.year, self.start_date.month, self.start_date.day, tzinfo=UTC) - timedelta(hours=self.utc_offset_hours)
        n = int(round(self.days * 24 / self.dt_h))
        return [t0 + timedelta(hours=i * self.dt_h) for i in range(n)]

    @property
    def soh_end(self) -> dict[str, float]:
        return {p: float(s) for p, s in zip(self.pack_ids, self.soh_daily[:, -1], strict=True)}

    def summary(self) -> dict[str, Any]:
        """The totals and per-pack figures as JSON-ready values (no hourly series)."""
        return {
            "hub": self.hub, "method": self.method, "days": self.days, "currency": self.currency,
            "start_utc": self.timestamps_utc()[0].isoformat() if self.days else None, "step_h": self.dt_h,
            "totals": {k: round(v, 4) for k, v in self.totals.items()},
            "packs": [
                {"pack_id": p, "passport_id": pp, "soh_start_fraction": round(float(a), 5),
                 "soh_end_fraction": round(float(b), 5), "full_equivalent_cycles": round(float(f), 3),
                 "throughput_kwh": round(float(t), 2), "retired_day": r}
                for p, pp, a, b, f, t, r in zip(self.pack_ids, self.pack_passport_ids, self.soh_start, self.soh_daily[:, -1],
                                                 self.pack_fec, self.pack_throughput_kwh, self.pack_retired_day, strict=True)
            ],
            "solve_s": round(self.solve_s, 4),
        }


def simulate_year(config: HubConfig | dict[str, Any] | HubPrepared, *, days: int = 365, method: str = "optimised",
                  start_day: int = 0, references: References | None = None, keep_hourly: bool = True,
                  lookahead_days: int = 1) -> YearResult:
    """Simulate ``days`` days of a hub with the given dispatch ``method``.

    The optimiser plans ``1 + lookahead_days`` days (perfect forecast of PV, demand and prices) and
    keeps the first day (a receding horizon); without look-ahead it must end every day as full as it
    began and re-charge the swap stock by midnight, which pushes charging into the evening's prices.
    The rule-based fallback has no look-ahead."""
    if method not in METHODS:
        raise HubInputError("method", method, f"must be one of {', '.join(METHODS)}")
    if not isinstance(days, int) or isinstance(days, bool) or not 1 <= days <= 3660:
        raise HubInputError("days", days, "must be a whole number of days in [1, 3660]")
    if lookahead_days not in (0, 1, 2, 3):
        raise HubInputError("lookahead_days", lookahead_days, "must be 0, 1, 2 or 3")
    hub = config if isinstance(config, HubPrepared) else prepare_hub(config, references)
    c = hub.config
    t = hub.tracker
    end_soh = float(t.get("batteryloop_assumptions", "second_life_end_soh_fraction"))  # a project assumption
    rng = np.random.default_rng(c.seed)
    look = lookahead_days if method == "optimised" else 0
    weather = weather_factors(days + look, c.seed, tracker=t, mean_fraction=c.weather_mean_fraction)
    demand = np.clip(1.0 + c.demand_variability_fraction * rng.standard_normal(days + look), 0.1, None)
    state = hub.initial_state()
    packs = [p for s in hub.strings for p in s.packs]
    pack_string = [u for u, s in enumerate(hub.strings) for _ in s.packs]
    n_in = [len(hub.strings[u].packs) for u in pack_string]
    P = len(packs)
    soh_daily = np.zeros((P, days + 1))
    soh_daily[:, 0] = [state.pack_soh[p.pack_id] for p in packs]
    fec = np.zeros(P)
    dod_fec = np.zeros(P)  # Σ depth × cycles: the cycles' mean depth per pack
    thr = np.zeros(P)
    deg = hub.ageing.degradation
    temp = deg.storage_temperature_c if c.storage_temperature_c is None else float(c.storage_temperature_c)
    cal = float(deg.calendar_per_year(temp)) / 365.0
    retired: list[int | None] = [None] * P
    T, dt = hub.steps, hub.dt_h
    hourly = {k: np.zeros(days * T) for k in HOURLY} if keep_hourly else {}
    daily = {k: np.zeros(days) for k in ("import_cost", "export_revenue", "degradation_cost", "unserved_penalty", "operating_cost")}
    opt: DayOptimiser | None = None
    solve_s = 0.0
    tot = dict.fromkeys(("pv_kwh", "pv_used_kwh", "import_kwh", "export_kwh", "charge_kwh", "discharge_kwh", "losses_kwh",
                         "ev_load_kwh", "swap_kwh", "unserved_kwh", "peak_import_kw"), 0.0)
    last_terminal = 0.0
    for d in range(days):
        if method == "optimised":
            full = horizon_inputs(hub, state, start_day + d, [float(x) for x in weather[d:d + 1 + look]],
                                  [float(x) for x in demand[d:d + 1 + look]])
            if opt is None:
                opt = DayOptimiser(full.units, full.steps, full.dt_h, full.eta)
            planned = opt.solve(full)
            inp = full.first(T) if look else full
            s: Schedule = planned.first(T, inp) if look else planned
        else:
            inp = day_inputs(hub, state, start_day + d, weather_factor=float(weather[d]), demand_factor=float(demand[d]))
            s = rule_based_day(inp)
        solve_s += s.solve_s
        for k in daily:
            daily[k][d] = s.cost[k]
        last_terminal = s.cost["terminal_shortfall_cost"]
        if keep_hourly:
            sl = slice(d * T, (d + 1) * T)
            hourly["price_per_kwh"][sl] = inp.price_in
            hourly["pv_kw"][sl] = inp.pv_kw
            hourly["pv_used_kw"][sl] = s.pv_used_kw
            hourly["grid_import_kw"][sl] = s.grid_import_kw
            hourly["grid_export_kw"][sl] = s.grid_export_kw
            hourly["charge_kw"][sl] = s.charge_kw.sum(axis=0)
            hourly["discharge_kw"][sl] = s.discharge_kw.sum(axis=0)
            hourly["ev_load_kw"][sl] = inp.load_kw
            hourly["swap_kw"][sl] = s.swap_kw
            hourly["unserved_kw"][sl] = s.unserved_kw
            hourly["stored_kwh"][sl] = s.soc_kwh.sum(axis=0)
        tot["pv_kwh"] += float(inp.pv_kw.sum() * dt)
        tot["pv_used_kwh"] += float(s.pv_used_kw.sum() * dt)
        tot["import_kwh"] += float(s.grid_import_kw.sum() * dt)
        tot["export_kwh"] += float(s.grid_export_kw.sum() * dt)
        tot["charge_kwh"] += float(s.charge_kw.sum() * dt)
        tot["discharge_kwh"] += float(s.discharge_kw.sum() * dt)
        tot["losses_kwh"] += float(s.losses_kw(inp).sum() * dt)
        tot["ev_load_kwh"] += float(inp.load_kw.sum() * dt)
        tot["swap_kwh"] += float(s.swap_kw.sum() * dt)
        tot["unserved_kwh"] += float(s.unserved_kw.sum() * dt)
        tot["peak_import_kw"] = max(tot["peak_import_kw"], float(s.grid_import_kw.max()))
        # ageing (the second-life fade model shared with the route decision): each pack by its share of its
        # string's throughput, at the depth of the string's cycling that day and the storage temperature
        string_thr = s.throughput_kwh(dt)
        soc = np.concatenate([inp.e_init_kwh[:, None], s.soc_kwh], axis=1)
        energy = np.where(inp.energy_kwh > 0, inp.energy_kwh, 1.0)
        string_dod = np.clip((soc.max(axis=1) - soc.min(axis=1)) / energy, 1e-3, 1.0)
        for i, p in enumerate(packs):
            soh = state.pack_soh[p.pack_id]
            if p.pack_id in state.retired:
                soh_daily[i, d + 1] = soh
                continue
            share = string_thr[pack_string[i]] / n_in[i]
            f = share / (p.nominal_energy_kwh * soh)
            fec[i] += f
            thr[i] += share
            dod = float(string_dod[pack_string[i]])
            dod_fec[i] += dod * f
            soh = soh - hub.ageing.fade_per_fec(p, soh, dod_fraction=dod, temperature_c=temp) * f - cal
            if soh < end_soh:
                retired[i] = d
                state.retired.add(p.pack_id)
            state.pack_soh[p.pack_id] = soh
            soh_daily[i, d + 1] = soh
        state.e_kwh = s.soc_kwh[:, -1].copy()
        state.swap_backlog_kwh = max(0.0, float(inp.swap_due_kwh[-1] - s.swap_kw.sum() * dt))
    ops = {k: float(v.sum()) for k, v in daily.items()}
    # what the last day leaves undone is charged at the highest price: stored energy below the start,
    # and swap packs still to re-charge
    backlog_cost = state.swap_backlog_kwh * float(hub.tariff.max())
    totals = {**tot, **ops, "final_terminal_shortfall_cost": last_terminal, "final_swap_backlog_kwh": state.swap_backlog_kwh,
              "final_swap_backlog_cost": backlog_cost, "total_cost": ops["operating_cost"] + last_terminal + backlog_cost}
    return YearResult(
        hub=c.name, method=method, days=days, dt_h=dt, currency=hub.currency, usd_per_currency=hub.usd_per_currency,
        hourly=hourly, daily=daily, pack_ids=[p.pack_id for p in packs], pack_passport_ids=[p.passport_id for p in packs],
        soh_start=soh_daily[:, 0].copy(), soh_daily=soh_daily, pack_fec=fec, pack_throughput_kwh=thr,
        pack_dod=np.where(fec > 0, dod_fec / np.where(fec > 0, fec, 1.0), deg.reference_dod_fraction),
        storage_temperature_c=temp,
        pack_retired_day=retired, totals=totals, solve_s=solve_s, references=t.used(),
        start_date=c.start_date + timedelta(days=start_day), utc_offset_hours=c.utc_offset_hours,
    )
