"""The hub: PV, storage strings from repurposed packs, EV charging and swap demand, a grid connection.

:class:`HubConfig` is what a CLI config file or an API body holds (``load_hub_config`` reads TOML, YAML
or JSON). :func:`day_inputs` turns a hub and a day into the arrays the dispatch solves
(:class:`~.dispatch.DayInputs`), given each string's current state (:class:`HubState`).

Demand: EV charging sessions per day spread over an hourly arrival profile; swap-station demand from
the BaaS swap simulation (:func:`batteryloop.circular.simulate_swap_station`): its energy per served
swap and its hourly swap profile give the energy the station must put back into returned packs, which
it may defer by the energy of its ready stock above the reserve. Every day's demand is scaled by a
random factor (``demand_variability_fraction``, seeded) so that a year is not 365 copies of one day.
"""

from __future__ import annotations

import json
import tomllib
from datetime import date
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from ..circular.swap_station import SwapStationConfig, simulate_swap_station
from ..reference import References, Tracker
from .dispatch import DayInputs
from .errors import HubInputError, from_validation
from .pv import pv_day_kw, read_pv_csv
from ..reference import hub_references
from .storage import AgeingModel, Pack, StorageString, string_figures

_EV_PROFILE = [0.5, 0.3, 0.2, 0.2, 0.3, 0.5, 1, 2, 3, 3, 3, 3, 3, 3, 3, 3, 3, 4, 5, 5, 4, 3, 2, 1]
_SWAP_PROFILE = [1, 0.5, 0.3, 0.3, 0.5, 1, 3, 6, 7, 5, 4, 4, 5, 4, 4, 5, 6, 8, 8, 6, 4, 3, 2, 1.5]


class GridConfig(BaseModel):
    """Import limit, export limit and prices. ``tariff_per_kwh`` (24 hourly prices, local clock) defaults to
    the reference set ``tariff_set`` (``tou_tariffs_cn``, ``…_nl``, ``…_kr``: a site's country picks it, see
    :func:`batteryloop.hubs.sites.site_template`); ``export_price_per_kwh`` and ``currency`` likewise."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    import_limit_kw: float = Field(800.0, ge=0)
    export_limit_kw: float = Field(200.0, ge=0)
    tariff_set: str = Field("tou_tariffs_cn", pattern=r"^tou_tariffs_[a-z]{2}$")
    tariff_per_kwh: list[float] | None = Field(None, min_length=24, max_length=24)
    export_price_per_kwh: float | None = Field(None, ge=0)
    currency: str | None = Field(None, pattern=r"^[A-Z]{3}$", description="default: the tariff set's")
    usd_per_currency: float | None = Field(None, gt=0, description="default: 1 / tou_tariffs_cn.cny_per_usd for CNY, "
                                                                   "1 for USD, ECB 2024 rates (ecb_fx) for the others")


class EvChargingDemand(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    sessions_per_day: float = Field(60.0, ge=0)
    kwh_per_session: float = Field(30.0, ge=0)
    hourly_profile: list[float] = Field(default_factory=lambda: list(_EV_PROFILE), min_length=24, max_length=24)
    service_fee_per_kwh: float | None = Field(None, ge=0, description="default: the tariff set's ev_charging_service_fee_per_kwh")


class SwapDemand(BaseModel):
    """The swap station of the hub; its charging is the hub's flexible load."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    swaps_per_day: float = Field(120.0, ge=0)
    pack_energy_kwh: float = Field(70.0, gt=0)
    packs_in_station: int = Field(20, ge=1)
    reserve_ready_packs: int = Field(6, ge=0)
    chargers: int = Field(8, ge=1)
    charger_power_kw: float = Field(60.0, gt=0)
    hourly_profile: list[float] = Field(default_factory=lambda: list(_SWAP_PROFILE), min_length=24, max_length=24)
    service_fee_per_kwh: float | None = Field(None, ge=0, description="per kWh swapped, in the tariff's currency; "
                                                                        "default: the tariff set's swap_service_fee_per_kwh")
    simulated_days: int = Field(7, ge=1, le=60)

    @model_validator(mode="after")
    def _reserve(self) -> SwapDemand:
        if self.reserve_ready_packs > self.packs_in_station:
            raise ValueError(f"reserve_ready_packs {self.reserve_ready_packs} > packs_in_station {self.packs_in_station}")
        return self


class HubConfig(BaseModel):
    """One hub. Give storage as ``strings`` (packs in series) or as ``packs`` (each its own string)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field("hub", min_length=1, max_length=100)
    site: str | None = Field(None, max_length=100, description="where the hub stands (hub_sites), for the record")
    country: str | None = Field(None, pattern=r"^[A-Z]{2}$")
    latitude_deg: float = Field(31.2, ge=-90, le=90)
    longitude_deg: float | None = Field(None, ge=-180, le=180, description="with utc_offset_hours, shifts the PV day "
                                                                           "from solar to clock time; None: no shift")
    weather_mean_fraction: float | None = Field(None, gt=0, le=1, description="the site's mean daily clearness "
                                                                              "(default: pv_clear_sky's)")
    pv_kwp: float = Field(400.0, ge=0)
    pv_profile_csv: str | None = None
    pv_profile_kw: list[float] | None = None
    strings: list[StorageString] = Field(default_factory=list)
    packs: list[Pack] = Field(default_factory=list)
    converter_kw: float | None = Field(None, gt=0)
    grid: GridConfig = Field(default_factory=GridConfig)
    ev_charging: EvChargingDemand = Field(default_factory=EvChargingDemand)
    swap: SwapDemand | None = Field(default_factory=SwapDemand)
    steps_per_hour: int = Field(1, description="1 (hourly), 2 or 4 (15-min)")
    demand_variability_fraction: float = Field(0.10, ge=0, le=0.9)
    initial_soc_fraction: float = Field(0.5, ge=0, le=1)
    storage_temperature_c: float | None = Field(None, ge=-40, le=80, description="the cells' mean temperature; default: "
                                                "second_life_degradation.storage_temperature_c (a conditioned enclosure)")
    voll_per_kwh: float | None = Field(None, gt=0, description="penalty per kWh not served; default 10 × the highest tariff")
    start_date: date = Field(date(2026, 1, 1), description="local date of day 0 (PV uses its day of the year)")
    utc_offset_hours: float = Field(8.0, ge=-14, le=14, description="local clock time (tariff hours, PV) minus UTC")
    seed: int = 0

    @model_validator(mode="after")
    def _check(self) -> HubConfig:
        if self.steps_per_hour not in (1, 2, 4):
            raise ValueError(f"steps_per_hour {self.steps_per_hour}: must be 1, 2 or 4")
        ids = [p.pack_id for s in self.all_strings() for p in s.packs]
        dup = {i for i in ids if ids.count(i) > 1}
        if dup:
            raise ValueError(f"pack_id {sorted(dup)[0]!r} appears more than once")
        for s in self.all_strings():
            fams = s.chemistry_families()
            if len(fams) > 1:
                raise ValueError(f"string {s.string_id}: mixes chemistries {sorted(fams)} (a string holds one chemistry)")
        return self

    def all_strings(self) -> list[StorageString]:
        return list(self.strings) + [StorageString(string_id=p.pack_id, packs=(p,)) for p in self.packs]


def parse_hub(data: dict[str, Any] | HubConfig) -> HubConfig:
    """A :class:`HubConfig` from a dict; bad input raises :class:`HubInputError` naming the field."""
    if isinstance(data, HubConfig):
        return data
    try:
        return HubConfig.model_validate(data)
    except ValidationError as exc:
        raise from_validation(exc, "hub") from None


def load_hub_config(path: str | Path) -> HubConfig | list[HubConfig]:
    """Read a hub (or ``hubs = [...]`` for a VPP) from TOML, YAML or JSON."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise HubInputError("config", str(p), f"cannot be read ({exc.strerror})") from None
    try:
        if p.suffix == ".toml":
            data: Any = tomllib.loads(text)
        elif p.suffix in (".yaml", ".yml"):
            import yaml

            data = yaml.safe_load(text)
        elif p.suffix == ".json":
            data = json.loads(text)
        else:
            raise HubInputError("config", str(p), "use a .toml, .yaml, .yml or .json file")
    except (tomllib.TOMLDecodeError, ValueError) as exc:
        if isinstance(exc, HubInputError):
            raise
        raise HubInputError("config", str(p), f"not valid {p.suffix[1:].upper()}: {exc}") from None
    def rooted(h: Any) -> Any:  # a relative PV profile path is relative to the config file
        if isinstance(h, dict) and isinstance(h.get("pv_profile_csv"), str) and not Path(h["pv_profile_csv"]).is_absolute():
            return {**h, "pv_profile_csv": str(p.parent / h["pv_profile_csv"])}
        return h

    if isinstance(data, dict) and "hubs" in data:
        if not isinstance(data["hubs"], list):
            raise HubInputError("hubs", data["hubs"], "must be a list of hub tables")
        return [parse_hub(rooted(h)) for h in data["hubs"]]
    if not isinstance(data, dict):
        raise HubInputError("config", str(p), "the top level must be a table")
    return parse_hub(rooted(data))


@dataclass
class HubState:
    """What changes over a year: each pack's state of health and each string's stored energy."""

    pack_soh: dict[str, float]
    e_kwh: np.ndarray
    retired: set[str] = field(default_factory=set)  # below the end of second life: out of service
    swap_backlog_kwh: float = 0.0  # swap energy returned on earlier days, not yet re-charged


@dataclass
class HubPrepared:
    """A hub's fixed inputs, resolved once from the config and the reference sets."""

    config: HubConfig
    strings: list[StorageString]
    ageing: AgeingModel
    tariff: np.ndarray  # 24 hourly prices
    export_price: float
    ev_service_fee: float
    currency: str
    usd_per_currency: float
    swap_service_fee: float
    swap_kwh_per_swap: float
    swap_service_level: float
    voll: float
    pv_profile: np.ndarray | None
    tracker: Tracker

    @property
    def dt_h(self) -> float:
        return 1.0 / self.config.steps_per_hour

    @property
    def steps(self) -> int:
        return 24 * self.config.steps_per_hour

    def initial_state(self) -> HubState:
        soh = {p.pack_id: p.soh_fraction for s in self.strings for p in s.packs}
        st = HubState(soh, np.zeros(len(self.strings)))
        figs = self.string_figures(st)
        st.e_kwh = figs["energy_kwh"] * self.config.initial_soc_fraction
        lo, hi = figs["energy_kwh"] * self.ageing.min_soc_fraction, figs["energy_kwh"] * self.ageing.max_soc_fraction
        st.e_kwh = np.clip(st.e_kwh, lo, hi)
        return st

    def string_figures(self, state: HubState) -> dict[str, np.ndarray]:
        rows = [string_figures(s.packs, [0.0 if p.pack_id in state.retired else state.pack_soh[p.pack_id] for p in s.packs],
                               self.ageing, self.usd_per_currency)
                for s in self.strings]
        keys = ("energy_kwh", "power_kw", "eta", "deg_cost_per_kwh")
        return {k: np.array([r[k] for r in rows], dtype=float) for k in keys}


def _swap_kwh_per_swap(swap: SwapDemand) -> tuple[float, float]:
    return _swap_sim(swap.model_dump_json())


@lru_cache(maxsize=256)
def _swap_sim(swap_json: str) -> tuple[float, float]:
    """Energy per served swap and service level from the BaaS swap-station simulation."""
    swap = SwapDemand.model_validate_json(swap_json)
    if swap.swaps_per_day == 0:
        return 0.0, 1.0
    k = simulate_swap_station(SwapStationConfig(
        packs_in_station=swap.packs_in_station, vehicles=max(50, int(swap.swaps_per_day * 2)),
        pack_energy_kwh=swap.pack_energy_kwh, chargers=swap.chargers, charger_power_kw=swap.charger_power_kw,
        swaps_per_day=swap.swaps_per_day, hourly_profile=list(swap.hourly_profile), charging="immediate",
        reserve_ready_packs=swap.reserve_ready_packs, days=swap.simulated_days, step_minutes=15,
        service_fee_per_kwh=swap.service_fee_per_kwh or 0.0))  # the energy and service level do not depend on it
    return (k.energy_charged_kwh / k.swaps_served if k.swaps_served else 0.0), k.service_level_fraction


def prepare_hub(config: HubConfig | dict[str, Any], references: References | None = None) -> HubPrepared:
    """Resolve a hub's tariffs, prices, swap energy and ageing model once."""
    cfg = parse_hub(config)
    t = hub_references(references).tracker()
    g = cfg.grid
    ts = g.tariff_set
    if ts not in t.refs:
        known = ", ".join(n for n in t.refs.names() if n.startswith("tou_tariffs_"))
        raise HubInputError("grid.tariff_set", ts, f"no such reference set (known: {known}); give grid.tariff_per_kwh, "
                                                   "grid.export_price_per_kwh and grid.currency instead")
    if g.tariff_per_kwh is not None:
        tariff = np.asarray(g.tariff_per_kwh, dtype=float)
        if np.any(~np.isfinite(tariff)) or np.any(tariff < 0):
            raise HubInputError("grid.tariff_per_kwh", g.tariff_per_kwh, "24 finite prices, 0 or more")
        t.record_input("grid.tariff_per_kwh", "given")
    else:
        periods = t.table(ts, "hour_period")
        prices = t.table(ts, "period_price_per_kwh")
        tariff = np.array([float(prices[periods[str(h)]]) for h in range(24)])
    export = g.export_price_per_kwh if g.export_price_per_kwh is not None else float(t.get(ts, "export_price_per_kwh"))
    fee = cfg.ev_charging.service_fee_per_kwh
    if fee is None:
        fee = float(t.get(ts, "ev_charging_service_fee_per_kwh"))
    currency = (g.currency or str(t.get(ts, "currency"))).upper()
    usd = g.usd_per_currency
    if usd is None:
        if currency == "CNY":
            usd = 1.0 / float(t.get("tou_tariffs_cn", "cny_per_usd"))
        elif currency == "USD":
            usd = 1.0
        elif currency == "EUR":
            usd = float(t.get("ecb_fx", "usd_per_eur"))
        elif currency in t.table("ecb_fx", "currency_per_eur"):
            usd = float(t.get("ecb_fx", "usd_per_eur")) / float(t.get("ecb_fx", "currency_per_eur", currency))
        else:
            raise HubInputError("grid.usd_per_currency", None, f"give the exchange rate for currency {currency!r}")
    swap_fee = 0.0
    if cfg.swap is not None and cfg.swap.swaps_per_day > 0:
        swap_fee = cfg.swap.service_fee_per_kwh
        if swap_fee is None:
            if "swap_service_fee_per_kwh" not in t.refs.set(ts).values:
                raise HubInputError("swap.service_fee_per_kwh", None, f"give it: the tariff set {ts} has no swap fee "
                                                                     "(no public battery swapping there)")
            swap_fee = float(t.get(ts, "swap_service_fee_per_kwh"))
    if export > tariff.min():
        raise HubInputError("grid.export_price_per_kwh", export,
                            f"must not exceed the lowest import price {tariff.min():g}: the hub would import to export")
    strings = cfg.all_strings()
    if not strings:
        raise HubInputError("hub.strings", [], "a hub needs at least one storage string or pack")
    pv_profile = None
    if cfg.pv_profile_csv:
        pv_profile = read_pv_csv(cfg.pv_profile_csv)
    elif cfg.pv_profile_kw is not None:
        from .errors import finite_array

        pv_profile = finite_array("hub.pv_profile_kw", cfg.pv_profile_kw)
    if pv_profile is not None and pv_profile.size % (24 * cfg.steps_per_hour):
        raise HubInputError("hub.pv_profile", f"<{pv_profile.size} values>",
                            f"must hold whole days of {24 * cfg.steps_per_hour} steps")
    kwh_swap, level = _swap_kwh_per_swap(cfg.swap) if cfg.swap else (0.0, 1.0)
    return HubPrepared(
        config=cfg, strings=strings, ageing=AgeingModel.from_references(tracker=t), tariff=tariff,
        export_price=float(export), ev_service_fee=float(fee), currency=currency, usd_per_currency=float(usd),
        swap_service_fee=float(swap_fee),
        swap_kwh_per_swap=kwh_swap, swap_service_level=level,
        voll=cfg.voll_per_kwh or 10.0 * float(tariff.max()), pv_profile=pv_profile, tracker=t,
    )


def day_inputs(hub: HubPrepared, state: HubState, day: int, *, weather_factor: float = 1.0,
               demand_factor: float = 1.0, tariff: np.ndarray | None = None, validate: bool = True) -> DayInputs:
    """The dispatch inputs of day ``day`` (0 = 1 January) with the strings in ``state``."""
    c = hub.config
    sph = c.steps_per_hour
    T = 24 * sph
    price = np.repeat(hub.tariff if tariff is None else np.asarray(tariff, dtype=float), sph)
    if hub.pv_profile is not None:
        days = hub.pv_profile.size // T
        pv = hub.pv_profile[(day % days) * T:(day % days + 1) * T].copy()
    else:
        doy = (c.start_date.timetuple().tm_yday - 1 + day) % 365 + 1
        # the PV model runs on solar time; the tariff and the loads on the local clock
        shift = c.longitude_deg / 15.0 - c.utc_offset_hours if c.longitude_deg is not None else 0.0
        pv = pv_day_kw(c.pv_kwp, c.latitude_deg, doy, weather_factor, steps_per_hour=sph, tracker=hub.tracker,
                       solar_minus_clock_h=shift)
    ev = c.ev_charging
    w = np.asarray(ev.hourly_profile, dtype=float)
    load = np.repeat(ev.sessions_per_day * ev.kwh_per_session * w / w.sum(), sph) * demand_factor  # kW (kWh per hour)
    swap_cum = np.zeros(T)
    buffer = swap_max = 0.0
    if c.swap is not None and c.swap.swaps_per_day > 0:
        sw = np.asarray(c.swap.hourly_profile, dtype=float)
        per_step = np.repeat(c.swap.swaps_per_day * sw / sw.sum() / sph, sph) * hub.swap_kwh_per_swap * demand_factor
        swap_cum = np.cumsum(per_step)
        buffer = (c.swap.packs_in_station - c.swap.reserve_ready_packs) * hub.swap_kwh_per_swap
        swap_max = c.swap.chargers * c.swap.charger_power_kw
    f = hub.string_figures(state)
    return DayInputs(
        dt_h=1.0 / sph, price_in=price, price_out=np.full(T, hub.export_price), pv_kw=pv, load_kw=load,
        energy_kwh=f["energy_kwh"], power_kw=f["power_kw"], eta=f["eta"], deg_cost_per_kwh=f["deg_cost_per_kwh"],
        e_init_kwh=np.clip(state.e_kwh, f["energy_kwh"] * hub.ageing.min_soc_fraction, f["energy_kwh"] * hub.ageing.max_soc_fraction),
        import_limit_kw=c.grid.import_limit_kw, export_limit_kw=c.grid.export_limit_kw,
        converter_kw=c.converter_kw or 1e30, swap_cum_kwh=swap_cum, swap_buffer_kwh=buffer, swap_max_kw=swap_max,
        soc_min_fraction=hub.ageing.min_soc_fraction, soc_max_fraction=hub.ageing.max_soc_fraction, voll_per_kwh=hub.voll,
        swap_backlog_kwh=state.swap_backlog_kwh, validate=validate,
    )


def horizon_inputs(hub: HubPrepared, state: HubState, day: int, weather: list[float], demand: list[float]) -> DayInputs:
    """Days ``day`` … ``day + len(weather) − 1`` as one horizon (a look-ahead), from ``state``."""
    if len(weather) == 1:
        return day_inputs(hub, state, day, weather_factor=weather[0], demand_factor=demand[0])
    days = [day_inputs(hub, state, day + i, weather_factor=w, demand_factor=f, validate=False)
            for i, (w, f) in enumerate(zip(weather, demand, strict=True))]
    first = days[0]
    cat = {k: np.concatenate([getattr(d, k) for d in days]) for k in ("price_in", "price_out", "pv_kw", "load_kw")}
    offsets = np.cumsum([0.0] + [d.swap_cum_kwh[-1] for d in days[:-1]])
    cum = np.concatenate([d.swap_cum_kwh + o for d, o in zip(days, offsets, strict=True)])
    return DayInputs(
        dt_h=first.dt_h, **cat, energy_kwh=first.energy_kwh, power_kw=first.power_kw, eta=first.eta,
        deg_cost_per_kwh=first.deg_cost_per_kwh, e_init_kwh=first.e_init_kwh, import_limit_kw=first.import_limit_kw,
        export_limit_kw=first.export_limit_kw, converter_kw=first.converter_kw, swap_cum_kwh=cum,
        swap_buffer_kwh=first.swap_buffer_kwh, swap_max_kw=first.swap_max_kw, swap_backlog_kwh=first.swap_backlog_kwh,
        soc_min_fraction=first.soc_min_fraction, soc_max_fraction=first.soc_max_fraction, voll_per_kwh=first.voll_per_kwh,
    )
