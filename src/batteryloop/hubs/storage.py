"""Storage from repurposed packs: the packs, the strings they form, their ageing and its cost.

A :class:`Pack` is one repurposed EV pack as intake and its passport describe it: nominal energy,
state of health, resistance increase, round-trip efficiency, power. Packs form **strings**
(:class:`StorageString`, packs in series behind one converter): a string's usable energy is
n × the weakest pack's, its power n × the weakest pack's, so a string should hold packs of similar
health (:mod:`.assembly` builds them).

Ageing: the second-life fade model of :mod:`batteryloop.circular.second_life` (reference set
``second_life_degradation``; shared with the route decision; an assumption until a pack's own history is
fitted by :mod:`batteryloop.health`): capacity fade per full equivalent cycle (FEC)
``f(s, r, DoD, T) = f_ref(chemistry) · (s_ref / s)^k · (1 + β · r / 100) · depth and temperature factors``
plus a calendar fade per year at the storage temperature.

Degradation cost per kWh of throughput (the dispatch's price of wear): one kWh through a string of n
packs is 1/n kWh through each pack, i.e. 1/(n · C_p · s_p) FEC of pack p, costing
``f_p · C_p`` kWh of its capacity, which must be replaced at ``V`` per kWh of usable second-life capacity
(acquisition + repurposing + balance of system). So ``cost = V / n · Σ_p f_p(s_p, r_p) / s_p`` per kWh:
weak packs (low s, high r) cost more per kWh and the optimiser spares them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ..circular.chemistry import parse_chemistry
from ..circular.errors import CircularInputError
from ..circular.second_life import MIN_ROUND_TRIP_EFFICIENCY_FRACTION, SecondLifeDegradation, SecondLifeValue
from ..reference import References, Tracker
from .errors import HubInputError
from ..reference import hub_references


def chemistry_family(chemistry: str) -> str:
    """``NMC`` for any NMCxyz, else the chemistry (LFP, LMFP, NCA, LMO)."""
    try:
        c = parse_chemistry(chemistry)
    except CircularInputError as exc:
        raise HubInputError("chemistry", chemistry, exc.rule) from None
    return "NMC" if c.startswith("NMC") else c


class Pack(BaseModel):
    """One repurposed pack. Efficiency and power default from the reference set when not measured."""

    model_config = ConfigDict(frozen=True)

    pack_id: str = Field(min_length=1, max_length=100)
    chemistry: str = "NMC622"
    nominal_energy_kwh: float = Field(gt=0, le=10_000)
    soh_fraction: float = Field(gt=0, le=1.2)
    resistance_increase_pct: float = Field(0.0, ge=0, le=10_000)
    #: at least the second-life model's floor (0.5), which its efficiency of a pack's state never goes below
    round_trip_efficiency_fraction: float | None = Field(None, ge=MIN_ROUND_TRIP_EFFICIENCY_FRACTION, le=1.0)
    power_kw: float | None = Field(None, gt=0)
    power_capability_fraction: float = Field(1.0, gt=0, le=1.5)
    grade: str | None = None
    safety_flags: tuple[str, ...] = ()
    passport_id: str | None = None
    mass_kg: float | None = Field(None, gt=0, description="the pack mass its passport declares (its recycling value "
                                                          "at the end is of that pack; None: BatPaC's)")
    measured_fade_per_fec: float | None = Field(
        None, gt=0, lt=0.05,
        description="fade per full equivalent cycle at soh_fraction, fitted to the pack's own history (fade_from_history)")

    @field_validator("chemistry")
    @classmethod
    def _chem(cls, v: str) -> str:
        chemistry_family(v)
        return v

    @property
    def usable_energy_kwh(self) -> float:
        return self.nominal_energy_kwh * self.soh_fraction


def pack_from_passport(view: Mapping[str, Any], *, chemistry: str | None = None,
                       nominal_energy_kwh: float | None = None, pack_id: str | None = None) -> Pack:
    """A pack from a passport view (``PassportService.get_view``): state of health, resistance, efficiency,
    power capability, and the model's chemistry and rated energy (unless given)."""
    battery = view.get("battery", view)
    model = view.get("model", {}) or {}
    sh = battery.get("state_of_health") or {}
    pid = pack_id or battery.get("passport_id") or view.get("passport_id")
    soh_pct = sh.get("soh_capacity_pct")
    if soh_pct is None:
        raise HubInputError("state_of_health.soh_capacity_pct", None,
                            f"passport {pid}: no state of health; record one (health service) before planning a hub")
    chem = chemistry or model.get("chemistry")
    if isinstance(chem, Mapping):
        chem = chem.get("category") or chem.get("name") or chem.get("chemistry")
    energy = nominal_energy_kwh or model.get("rated_energy_kwh")
    if energy is None:
        raise HubInputError("model.rated_energy_kwh", None, f"passport {pid}: give nominal_energy_kwh (the model has no rated energy)")
    rte = sh.get("remaining_round_trip_efficiency_pct")
    if rte and float(rte) < 100 * MIN_ROUND_TRIP_EFFICIENCY_FRACTION:
        raise HubInputError("state_of_health.remaining_round_trip_efficiency_pct", rte,
                            f"passport {pid}: below {100 * MIN_ROUND_TRIP_EFFICIENCY_FRACTION:g} %, the lowest the "
                            "second-life model works with: such a pack returns less than half the energy it takes "
                            "(recycle it rather than plan storage with it)")
    power_w = model.get("max_permitted_power_w")
    mass = battery.get("mass_kg") or model.get("mass_kg")
    cap = sh.get("remaining_power_capability_pct")
    return Pack(
        pack_id=str(pid), passport_id=str(pid), chemistry=str(chem or "NMC622"), nominal_energy_kwh=float(energy),
        soh_fraction=float(soh_pct) / 100.0,
        resistance_increase_pct=max(0.0, float(sh.get("ohmic_resistance_increase_pct") or 0.0)),
        round_trip_efficiency_fraction=float(rte) / 100.0 if rte else None,
        power_capability_fraction=float(cap) / 100.0 if cap else 1.0,
        power_kw=float(power_w) / 1000.0 * (float(cap) / 100.0 if cap else 1.0) if power_w else None,
        mass_kg=float(mass) if mass else None,
    )


def pack_from_soh(pack_id: str, soh: Any, *, chemistry: str, nominal_energy_kwh: float, **extra: Any) -> Pack:
    """A pack from a :class:`batteryloop.health.StateOfHealth` computed from cycler data."""
    rte = getattr(soh, "round_trip_efficiency_pct", None)
    cap = getattr(soh, "remaining_power_capability_pct", None)
    if soh.soh_capacity_pct is None:
        raise HubInputError("soh.soh_capacity_pct", None, f"pack {pack_id}: the state of health has no capacity figure")
    return Pack(pack_id=pack_id, chemistry=chemistry, nominal_energy_kwh=nominal_energy_kwh,
                soh_fraction=soh.soh_capacity_pct / 100.0,
                resistance_increase_pct=max(0.0, soh.resistance_increase_pct or 0.0),
                round_trip_efficiency_fraction=rte / 100.0 if rte and rte > 50 else None,
                power_capability_fraction=cap / 100.0 if cap else 1.0, **extra)


def fade_from_history(cycles: Any, capacity_ah: Any, *, rated_capacity_ah: float,
                      end_soh_fraction: float = 0.6) -> tuple[float, float, Any]:
    """(state of health now, fade per full equivalent cycle, the RUL forecast) from a pack's capacity
    history, with the health package's lifetime model (:func:`batteryloop.health.forecast_eol`: mean of
    a double-exponential and a recent-linear fit): fade = (SoH now − end of second life) / remaining
    cycles to it. Cycles are taken as full equivalent cycles (full cycler cycles)."""
    import numpy as np

    from ..health import InsufficientDataError, forecast_eol
    from ..health.smoothing import smooth

    if not rated_capacity_ah > 0:
        raise HubInputError("rated_capacity_ah", rated_capacity_ah, "must be greater than 0")
    q = np.asarray(capacity_ah, dtype=float)
    try:
        f = forecast_eol(np.asarray(cycles, dtype=float), q, threshold=end_soh_fraction, initial_capacity_ah=rated_capacity_ah)
    except InsufficientDataError as exc:
        raise HubInputError("capacity_ah", f"<{q.size} values>", str(exc)) from None
    soh_now = float(smooth(q)[-1]) / rated_capacity_ah
    if f.reached:
        raise HubInputError("capacity_ah", round(soh_now, 4), f"the history is already below the end of second life ({end_soh_fraction})")
    if not f.remaining_cycles:
        raise HubInputError("capacity_ah", round(soh_now, 4), "no fade detectable in the history: give more cycles or use the reference fade")
    return soh_now, (soh_now - end_soh_fraction) / f.remaining_cycles, f


class AgeingModel(BaseModel):
    """The hub's view of the second-life fade model (:mod:`batteryloop.circular.second_life`, shared with the
    route decision), plus what a hub needs besides: power, efficiency, SoC window, replacement value."""

    model_config = ConfigDict(frozen=True)

    degradation: SecondLifeDegradation
    default_c_rate_per_h: float
    default_round_trip_efficiency_fraction: float
    min_soc_fraction: float
    max_soc_fraction: float
    replacement_usd_per_kwh: float  # V: acquisition + repurposing + balance of system, per usable kWh

    @classmethod
    def from_references(cls, references: References | None = None, tracker: Tracker | None = None) -> AgeingModel:
        t = tracker or hub_references(references).tracker()
        s = "second_life_degradation"
        cap = SecondLifeValue.capital_usd_per_kwh(t)
        return cls(
            degradation=SecondLifeDegradation.from_references(tracker=t),
            default_c_rate_per_h=float(t.get(s, "default_c_rate_per_h")),
            default_round_trip_efficiency_fraction=float(t.get(s, "default_round_trip_efficiency_fraction")),
            min_soc_fraction=float(t.get(s, "min_soc_fraction")),
            max_soc_fraction=float(t.get(s, "max_soc_fraction")),
            replacement_usd_per_kwh=cap["acquisition"] + cap["bos"] + cap["repurposing"],
        )

    @property
    def calendar_fade_per_year_fraction(self) -> float:
        return self.degradation.calendar_fade_per_year_fraction

    def fade_ref(self, pack: Pack) -> float:
        try:
            return self.degradation.fade_ref(pack.chemistry)
        except CircularInputError as exc:
            raise HubInputError("chemistry", pack.chemistry, exc.rule) from None

    def fade_per_fec(self, pack: Pack, soh_fraction: float | None = None, *, dod_fraction: float | None = None,
                     temperature_c: float | None = None) -> float:
        """Capacity fade (fraction of nominal) per full equivalent cycle at state of health ``soh``, at a cycle
        depth and temperature (default: the model's reference depth, the storage temperature)."""
        s = max(soh_fraction if soh_fraction is not None else pack.soh_fraction, 0.05)
        d = self.degradation
        if pack.measured_fade_per_fec is not None:  # the pack's own history, steepening as it weakens
            dod = d.reference_dod_fraction if dod_fraction is None else dod_fraction
            temp = d.storage_temperature_c if temperature_c is None else temperature_c
            return float(pack.measured_fade_per_fec * (pack.soh_fraction / s) ** d.soh_exponent * d.duty_factor(dod, temp))
        return float(d.fade_per_fec(s, self.fade_ref(pack), pack.resistance_increase_pct, dod_fraction, temperature_c))

    def round_trip_efficiency(self, pack: Pack) -> float:
        return pack.round_trip_efficiency_fraction or self.default_round_trip_efficiency_fraction

    def power_kw(self, pack: Pack, soh_fraction: float | None = None) -> float:
        if pack.power_kw is not None:
            return pack.power_kw
        s = soh_fraction if soh_fraction is not None else pack.soh_fraction
        return self.default_c_rate_per_h * pack.nominal_energy_kwh * s * pack.power_capability_fraction


class StorageString(BaseModel):
    """Packs in series behind one converter: the dispatch's unit."""

    model_config = ConfigDict(frozen=True)

    string_id: str
    packs: tuple[Pack, ...] = Field(min_length=1)

    def chemistry_families(self) -> set[str]:
        return {chemistry_family(p.chemistry) for p in self.packs}


def string_figures(packs: Sequence[Pack], soh: Sequence[float], ageing: AgeingModel,
                   usd_per_currency: float = 1.0) -> dict[str, float]:
    """Usable energy (kWh), power (kW), one-way efficiency and degradation cost (currency/kWh throughput)
    of a string whose packs are at states of health ``soh`` (retired packs: soh ≤ 0 → string out)."""
    n = len(packs)
    if min(soh) <= 0:
        return {"energy_kwh": 0.0, "power_kw": 0.0, "eta": 1.0, "deg_cost_per_kwh": 0.0}
    energy = n * min(p.nominal_energy_kwh * s for p, s in zip(packs, soh, strict=True))
    power = n * min(ageing.power_kw(p, s) for p, s in zip(packs, soh, strict=True))
    rte = min(ageing.round_trip_efficiency(p) for p in packs)
    cost_usd = ageing.replacement_usd_per_kwh / n * sum(ageing.fade_per_fec(p, s) / s for p, s in zip(packs, soh, strict=True))
    return {"energy_kwh": energy, "power_kw": power, "eta": math.sqrt(rte), "deg_cost_per_kwh": cost_usd / usd_per_currency}
