"""One model of a repurposed pack's second life: how it ages under a duty, and what that duty earns.

The route decision (:mod:`.route_options`, ``repurpose``) and the storage hubs
(:mod:`batteryloop.hubs.storage`, ``hubs.year``, ``hubs.economics``) both use this module, so the value a
dismantler books when it sends a pack to second life is the value a hub of the same packs realises, up to
the simulation's randomness and dispatch detail (docs/circular.md, "Second life: one model").

**Duty** (:class:`SecondLifeDuty`): what the hub's dispatch imposes on a pack — full equivalent cycles a
year (throughput (charge + discharge)/2 over the pack's *current* usable energy, as the hub counts them),
the mean depth of those cycles, the cells' temperature, the round-trip efficiency. The pilot measures it
from its hubs (:func:`batteryloop.hubs.economics.hub_economics` → ``route_overrides``); without a hub it
comes from ``batteryloop_assumptions.route``.

**Degradation** (:class:`SecondLifeDegradation`, reference set ``second_life_degradation``): capacity
fade per full equivalent cycle

    f(s, r, DoD, T) = f_ref · (s_ref / s)^k · (1 + β · r / 100) · (d0 + DoD) / (d0 + DoD_ref) · A_cyc(T)

plus calendar fade c · A_cal(T) a year, A(T) = exp(−Ea / R · (1/T − 1/T_ref)). Over time,
ds/dt = −(F · f(s) + c_T) with F the cycles a year. The hub steps it day by day (Euler,
:meth:`SecondLifeDegradation.step`); the route projects it year by year with the midpoint rule
(:meth:`SecondLifeDegradation.project`) — the same function of the state of health, integrated at two
step sizes. Against SciPy's ``solve_ivp`` on the same ODE the yearly projection is off by at most 0.17 SoH
points and 0.03 years of second life at the route's default duty (0.46 points and 0.05 years at 500 cycles a
year, 35 °C): tests/circular/test_second_life_projection.py.

**Value** (:class:`SecondLifeValue`): the storage value per kWh discharged that the hub's dispatch
realises under the site's tariff (USD; the grid bill without the storage's own flows minus the bill
paid, per kWh discharged), the capital (repurposing per nominal kWh — Lieskoski et al. — and the balance
of system per usable kWh), O&M per usable kWh a year (a fraction of the second-life capital,
``stationary_storage_costs``), the discount rate.

**NPV** of one pack (C nominal kWh, state of health s0, recycling value R at the end; df(t) = (1 + r)^-t):

    NPV = −C·repurposing − C·s0·BOS
          + Σ_k df(t_k) · w_k · [C · s̄_k · F · 2η/(1 + η) · v − C·s0·O&M]  +  df(n) · R

over the years k = 1…⌈n⌉ of second life (n: when s reaches the end of second life, 60 %, at most
``max_years``), w_k the share of year k lived (1, the last one n − (k − 1)), t_k = k − 1 + w_k, s̄_k the
mean state of health over it ((s_{k−1} + s_k)/2), and 2η/(1 + η) the kWh discharged per kWh of
throughput. A state of health that does not fall (no cycling, no calendar fade) lasts ``max_years``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from ..reference import References, Tracker
from .errors import CircularInputError

GAS_CONSTANT_J_PER_MOL_K = 8.314462618
#: the lowest round-trip efficiency the second-life model and the hubs work with (a pack below it returns less than
#: half the energy it takes): :meth:`SecondLifeDegradation.round_trip_efficiency` floors at it, ``hubs.storage.Pack``
#: accepts it
MIN_ROUND_TRIP_EFFICIENCY_FRACTION = 0.5


def chemistry_family(chemistry: str) -> str:
    """``NMC`` for any NMCxyz, else the chemistry's family (LFP, LMFP, NCA, LMO)."""
    c = chemistry.upper()
    for fam in ("LMFP", "LFP", "NCA", "LMO"):
        if c.startswith(fam):
            return fam
    return "NMC"


class SecondLifeDuty(BaseModel):
    """What a hub's dispatch asks of a pack in a year."""

    model_config = ConfigDict(frozen=True)

    fec_per_year: float = Field(ge=0, description="full equivalent cycles a year (throughput over the current usable energy)")
    dod_fraction: float = Field(gt=0, le=1, description="mean depth of those cycles")
    temperature_c: float = Field(ge=-40, le=80, description="the cells' mean temperature")
    round_trip_efficiency_fraction: float = Field(gt=0, le=1)

    @property
    def discharge_per_throughput(self) -> float:
        """kWh discharged per kWh of throughput (c + d)/2 when d = η·c: 2η / (1 + η)."""
        eta = self.round_trip_efficiency_fraction
        return 2 * eta / (1 + eta)


class SecondLifeDegradation(BaseModel):
    """The fade model's parameters (reference set ``second_life_degradation``)."""

    model_config = ConfigDict(frozen=True)

    fade_per_fec_at_ref: dict[str, float]
    reference_soh_fraction: float
    soh_exponent: float
    resistance_weight: float
    calendar_fade_per_year_fraction: float
    reference_dod_fraction: float
    dod_offset_fraction: float
    reference_temperature_c: float
    cycle_activation_energy_j_per_mol: float
    calendar_activation_energy_j_per_mol: float
    storage_temperature_c: float

    @classmethod
    def from_references(cls, references: References | None = None, tracker: Tracker | None = None) -> SecondLifeDegradation:
        t = tracker or (references or References.default()).tracker()
        s = "second_life_degradation"
        return cls(
            fade_per_fec_at_ref={k: float(x) for k, x in t.table(s, "fade_per_fec_at_ref_fraction").items()},
            **{k: float(t.get(s, k)) for k in (
                "reference_soh_fraction", "soh_exponent", "resistance_weight", "reference_dod_fraction",
                "dod_offset_fraction", "reference_temperature_c", "cycle_activation_energy_j_per_mol",
                "calendar_activation_energy_j_per_mol", "storage_temperature_c")},
            calendar_fade_per_year_fraction=float(t.get(s, "calendar_fade_per_year_fraction")),
        )

    # ------------------------------------------------------------------ the model's parts
    def fade_ref(self, chemistry: str) -> float:
        """f_ref of a chemistry's family (an error names the known families)."""
        fam = chemistry_family(chemistry)
        if fam not in self.fade_per_fec_at_ref:
            raise CircularInputError("chemistry", chemistry, f"no second-life fade rate for family {fam} in "
                                     f"second_life_degradation (known: {', '.join(self.fade_per_fec_at_ref)}); add one by override")
        return self.fade_per_fec_at_ref[fam]

    def arrhenius(self, activation_j_per_mol: float, temperature_c: Any) -> Any:
        t = np.asarray(temperature_c, dtype=float) + 273.15
        t_ref = self.reference_temperature_c + 273.15
        return np.exp(-activation_j_per_mol / GAS_CONSTANT_J_PER_MOL_K * (1.0 / t - 1.0 / t_ref))

    def duty_factor(self, dod_fraction: Any, temperature_c: Any) -> Any:
        """(d0 + DoD) / (d0 + DoD_ref) · A_cyc(T): the duty's multiplier on the fade per cycle."""
        d0 = self.dod_offset_fraction
        return (d0 + np.asarray(dod_fraction, dtype=float)) / (d0 + self.reference_dod_fraction) * self.arrhenius(
            self.cycle_activation_energy_j_per_mol, temperature_c)

    def calendar_per_year(self, temperature_c: Any) -> Any:
        return self.calendar_fade_per_year_fraction * self.arrhenius(self.calendar_activation_energy_j_per_mol, temperature_c)

    def fade_per_fec(self, soh: Any, fade_ref: Any, resistance_pct: Any = 0.0, dod_fraction: Any = None,
                     temperature_c: Any = None) -> Any:
        """Capacity fade (fraction of nominal) per full equivalent cycle at state of health ``soh``."""
        s = np.maximum(np.asarray(soh, dtype=float), 0.05)
        dod = self.reference_dod_fraction if dod_fraction is None else dod_fraction
        temp = self.storage_temperature_c if temperature_c is None else temperature_c
        return (np.asarray(fade_ref, dtype=float) * (self.reference_soh_fraction / s) ** self.soh_exponent
                * (1 + self.resistance_weight * np.asarray(resistance_pct, dtype=float) / 100.0)
                * self.duty_factor(dod, temp))

    def rate_per_year(self, soh: Any, fade_ref: Any, resistance_pct: Any, duty: SecondLifeDuty) -> Any:
        """−ds/dt: F · f(s) + c_T (fraction of nominal a year)."""
        return (duty.fec_per_year * self.fade_per_fec(soh, fade_ref, resistance_pct, duty.dod_fraction, duty.temperature_c)
                + self.calendar_per_year(duty.temperature_c))

    @staticmethod
    def round_trip_efficiency(initial_fraction: Any, resistance_pct: Any) -> Any:
        """A pack's round-trip efficiency now, from its initial one η₀ (the model's, Annex IV) and its resistance
        increase r (%):

            η = max(0.5, 1 − (1 − η₀) · (1 + r / 100))

        **An assumption, not a fitted or validated law**: it takes every loss of a charge and discharge at a given
        current as resistive (I²R), so the lost fraction grows with the resistance. Not all of it is: LFP's voltage
        hysteresis, coulombic losses and the BMS and thermal system's own draw do not scale with the ohmic
        resistance, so the formula overstates the fade where they dominate. No independent data in the repository
        checks it (the pilot catalogue's mid-life Annex IV figures are computed with it, :mod:`batteryloop.sim.pilot`;
        an order of magnitude only: Beckers et al., arXiv:2308.15828, measured 0.46 percentage points of mean fade,
        at most 0.86, in three electric buses over 3.5 years — unverified, the abstract only).

        ``initial_fraction`` must be in (0.5, 1] and ``resistance_pct`` finite and ≥ 0 (a
        :class:`CircularInputError` names the field); the result is at most η₀ and at least
        :data:`MIN_ROUND_TRIP_EFFICIENCY_FRACTION` (0.5: below it a pack returns less than half of what it takes;
        the hubs' :class:`batteryloop.hubs.storage.Pack` accepts exactly that range). The pilot's BMS reports
        (first and second life) write it into the passports; the hubs read it from there
        (:func:`batteryloop.hubs.storage.pack_from_passport`) and the route decision takes the hub's measured mean."""
        eta0 = np.asarray(initial_fraction, dtype=float)
        r = np.asarray(resistance_pct, dtype=float)
        if not np.all((eta0 > MIN_ROUND_TRIP_EFFICIENCY_FRACTION) & (eta0 <= 1.0)):
            bad = eta0[~((eta0 > MIN_ROUND_TRIP_EFFICIENCY_FRACTION) & (eta0 <= 1.0))].reshape(-1)[0]
            raise CircularInputError("initial_round_trip_efficiency_fraction", float(bad),
                                     "must be greater than 0.5 and at most 1 (a fraction, not a percentage)")
        if not np.all(np.isfinite(r) & (r >= 0)):
            bad = r[~(np.isfinite(r) & (r >= 0))].reshape(-1)[0]
            raise CircularInputError("resistance_increase_pct", float(bad), "must be a finite number, 0 or more")
        return np.maximum(1.0 - (1.0 - eta0) * (1.0 + r / 100.0), MIN_ROUND_TRIP_EFFICIENCY_FRACTION)

    # ------------------------------------------------------------------ integration
    def step(self, soh: Any, fec: Any, years: float, fade_ref: Any, resistance_pct: Any = 0.0, *,
             dod_fraction: Any = None, temperature_c: Any = None) -> Any:
        """One Euler step (the hub's day): s − f(s)·fec − c_T·years."""
        temp = self.storage_temperature_c if temperature_c is None else temperature_c
        return (np.asarray(soh, dtype=float)
                - self.fade_per_fec(soh, fade_ref, resistance_pct, dod_fraction, temp) * np.asarray(fec, dtype=float)
                - self.calendar_per_year(temp) * years)

    def advance(self, soh: Any, years: Any, fade_ref: Any, resistance_pct: Any, duty: SecondLifeDuty) -> Any:
        """The state of health after ``years`` (≤ 1) of the duty: one midpoint step (what :meth:`project` does a year)."""
        s = np.asarray(soh, dtype=float)
        h = np.asarray(years, dtype=float)
        mid = s - 0.5 * h * self.rate_per_year(s, fade_ref, resistance_pct, duty)
        return s - h * self.rate_per_year(mid, fade_ref, resistance_pct, duty)

    def project(self, soh: Any, fade_ref: Any, resistance_pct: Any, duty: SecondLifeDuty, *, end_soh: float,
                max_years: float) -> SecondLifeProjection:
        """Year-by-year states of health (midpoint rule) until ``end_soh`` or ``max_years``, per pack."""
        s0 = np.atleast_1d(np.asarray(soh, dtype=float))
        f_ref = np.broadcast_to(np.asarray(fade_ref, dtype=float), s0.shape)
        r = np.broadcast_to(np.asarray(resistance_pct, dtype=float), s0.shape)
        k_max = int(math.ceil(max_years))
        path = np.empty((k_max + 1, s0.size))
        path[0] = s0
        # rate(s) = a · max(s, 0.05)^−k + c with a, c fixed per pack: :meth:`rate_per_year`, computed once (a fleet of
        # a million packs is projected in a few array operations a year)
        a = (duty.fec_per_year * f_ref * self.reference_soh_fraction ** self.soh_exponent
             * (1 + self.resistance_weight * r / 100.0) * self.duty_factor(duty.dod_fraction, duty.temperature_c))
        c = float(self.calendar_per_year(duty.temperature_c))
        k_exp = self.soh_exponent

        def rate(x: np.ndarray) -> np.ndarray:
            x = np.maximum(x, 0.05)
            return a / (x * x) + c if k_exp == 2.0 else a * x ** -k_exp + c

        rows = k_max
        for k in range(k_max):
            s = path[k]
            path[k + 1] = s - rate(s - 0.5 * rate(s))
            if not np.any(path[k + 1] >= end_soh):  # every pack has reached the end: later years are not lived
                rows = k + 1
                break
        path = path[:rows + 1]
        # n: where the path crosses end_soh (linear within the year), at most max_years; 0 if already below
        n = np.full(s0.size, float(max_years))
        done = np.zeros(s0.size, dtype=bool)
        for k in range(rows):
            a, b = path[k], path[k + 1]
            cross = ~done & (b < end_soh)
            frac = np.where(cross, (a - end_soh) / np.where(a - b > 0, a - b, 1.0), 0.0)
            n = np.where(cross, np.minimum(k + np.clip(frac, 0.0, 1.0), max_years), n)
            done |= cross
        n = np.where(s0 < end_soh, 0.0, n)
        return SecondLifeProjection(soh=path, years=n, end_soh=end_soh)


class SecondLifeProjection(BaseModel):
    """States of health at the start of each year (``soh[k]``: after k years) and the years of second life."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    soh: Any  # (years + 1, packs)
    years: Any  # (packs,)
    end_soh: float

    def year_weights(self) -> np.ndarray:
        """w_k: the share of year k (1…K) lived, (K, packs)."""
        k = np.arange(self.soh.shape[0] - 1)[:, None]
        return np.clip(self.years[None, :] - k, 0.0, 1.0)

    def mean_soh(self) -> np.ndarray:
        """s̄_k over the lived part of year k: start and end of it (the end of second life in a last, partial year)."""
        w = self.year_weights()
        a = self.soh[:-1]
        b = np.where(w < 1.0, a - w * (a - self.soh[1:]), self.soh[1:])
        return (a + b) / 2


class SecondLifeValue(BaseModel):
    """What a pack's second life earns and costs (USD)."""

    model_config = ConfigDict(frozen=True)

    value_usd_per_kwh_discharged: float = Field(ge=0)
    repurposing_usd_per_kwh: float = Field(ge=0, description="per nominal kWh (Lieskoski et al. 2024)")
    bos_usd_per_kwh: float = Field(ge=0, description="balance of system per usable kWh at the start")
    om_usd_per_kwh_year: float = Field(ge=0, description="per usable kWh at the start, a year")
    discount_rate_fraction: float = Field(ge=0, le=1)

    @staticmethod
    def capital_usd_per_kwh(t: Tracker) -> dict[str, float]:
        """Second-life capital per kWh from the references: repurposing (mid-point of Lieskoski et al. at the ECB
        rate), balance of system, acquisition, and O&M a year (a fraction of their sum)."""
        lo = float(t.get("second_life_literature", "repurposing_cost_eur_per_kwh", "low"))
        hi = float(t.get("second_life_literature", "repurposing_cost_eur_per_kwh", "high"))
        repurposing = (lo + hi) / 2 * float(t.get("ecb_fx", "usd_per_eur"))
        bos = float(t.get("stationary_storage_costs", "second_life_bos_usd_per_kwh"))
        acquisition = float(t.get("stationary_storage_costs", "second_life_acquisition_usd_per_kwh"))
        om = float(t.get("stationary_storage_costs", "fixed_om_fraction_of_capex_per_year"))
        return {"repurposing": repurposing, "bos": bos, "acquisition": acquisition,
                "om_per_year": om * (acquisition + bos + repurposing)}


def second_life_npv(soh: Any, capacity_kwh: Any, fade_ref: Any, resistance_pct: Any, recycle_usd: Any, *,
                    duty: SecondLifeDuty, value: SecondLifeValue, degradation: SecondLifeDegradation,
                    end_soh: float, max_years: float, years: Any = None) -> dict[str, np.ndarray]:
    """The NPV of second life per pack (module text), with its parts: ``npv``, ``years``, ``capital``,
    ``operating`` (discounted net storage income), ``end_of_life`` (discounted recycling), ``discharged_kwh``
    (undiscounted, over the second life). ``years`` (given: e.g. the health model's forecast) replaces the
    projection's; the state of health then falls linearly to ``end_soh`` over them."""
    s0 = np.atleast_1d(np.asarray(soh, dtype=float))
    cap = np.broadcast_to(np.asarray(capacity_kwh, dtype=float), s0.shape)
    if years is None:
        proj = degradation.project(s0, fade_ref, resistance_pct, duty, end_soh=end_soh, max_years=max_years)
    else:
        n = np.broadcast_to(np.asarray(years, dtype=float), s0.shape)
        k_max = max(1, int(math.ceil(float(np.max(n)))))
        k = np.arange(k_max + 1)[:, None]
        slope = np.where(n > 0, (s0 - end_soh) / np.where(n > 0, n, 1.0), 0.0)
        proj = SecondLifeProjection(soh=s0[None, :] - slope[None, :] * k, years=np.array(n, dtype=float), end_soh=end_soh)
    w = proj.year_weights()
    sbar = proj.mean_soh()
    r = value.discount_rate_fraction
    t_k = np.arange(w.shape[0])[:, None] + w
    df = np.exp(-t_k * math.log1p(r))
    discharged = cap[None, :] * sbar * duty.fec_per_year * duty.discharge_per_throughput * w
    income = discharged * value.value_usd_per_kwh_discharged - w * cap[None, :] * s0[None, :] * value.om_usd_per_kwh_year
    operating = np.sum(df * income, axis=0)
    capital = -cap * value.repurposing_usd_per_kwh - cap * s0 * value.bos_usd_per_kwh
    eol = np.exp(-proj.years * math.log1p(r)) * np.asarray(recycle_usd, dtype=float)
    return {"npv": capital + operating + eol, "years": proj.years, "capital": capital, "operating": operating,
            "end_of_life": eol, "discharged_kwh": discharged.sum(axis=0)}


__all__ = ["SecondLifeDegradation", "SecondLifeDuty", "SecondLifeProjection", "SecondLifeValue", "chemistry_family",
           "second_life_npv"]
