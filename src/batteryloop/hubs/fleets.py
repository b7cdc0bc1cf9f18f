"""Regional fleets served by an integrated station (PV + storage + charging/swap + battery diagnostics): city
buses, heavy trucks on battery swapping, two-wheelers and a river-cruise boat, each with its pack design, duty cycle
and swap station (the boat is not swapped: its packs are charged aboard at its pier, and each charge is diagnosed
like a swap — below, read "charge" for "swap" for it; its charging is the pier's load, not the station's) — free
of I/O (the pilot's CATL–Lanzhou part, :mod:`batteryloop.sim.lanzhou`, writes passports and ledger events from it).
docs/hubs.md, "Regional fleets and swap diagnostics", works the figures by hand.

Per segment (reference set ``lanzhou_fleets``):

* a vehicle's **daily energy** = route length × energy per km (kWh);
* **energy per swap** = packs per vehicle × pack energy × state of health × swap window (the share of the
  pack's present capacity used between two swaps); **swaps per vehicle and day** = daily energy ÷ energy per swap;
* the station's **swaps per day** = vehicles × swaps per vehicle and day; each swap exchanges ``packs_per_vehicle``
  packs; the station's **charging energy per day** = the fleet's daily energy;
* the swaps rotate every pack of the pool (vehicles' packs and the station's spares) evenly: a pack's **swaps per
  day** = station swaps × packs per swap ÷ pool, and each swap is one swap window of a full equivalent cycle
  (**FEC per swap** = window × SoH: the energy of a swap over the pack's rated energy);
* ageing is the pilot's first-life model (:class:`batteryloop.sim.fade.FadeModel`): cycle loss k·FEC^z with k
  set so the loss reaches the design's threshold at its declared cycles, plus calendar loss; the **SoH drift per
  swap** at N cycles is 100·k·((N + ΔN)^z − N^z) % points, ΔN = FEC per swap;
* **diagnosis at every swap**: the station estimates the pack's state of health from its charge (true SoH plus a
  measurement error of σ % points); the pack's SoH estimate is the mean of its last ``n`` diagnoses, with a standard
  error σ/√n.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..reference import References, Tracker


@dataclass(frozen=True)
class Segment:
    """One fleet segment's pack design, duty and swap station."""

    name: str
    vehicles: int
    packs_per_vehicle: int
    spare_packs: int
    pack_energy_kwh: float
    nominal_voltage_v: float
    chemistry: str
    pack_kg_per_kwh: float
    route_km_per_day: float
    kwh_per_km: float
    operating_days_per_year: int
    swap_window_fraction: float
    expected_lifetime_cycles: float
    capacity_threshold_pct: float
    station_chargers: int
    station_charger_kw: float
    charging: str = "swap"  # "swap": swapped at the station; "pier": charged aboard at its own pier (the boat)

    def __post_init__(self) -> None:
        if self.charging not in ("swap", "pier"):
            raise ValueError(f"segment {self.name}: charging must be 'swap' or 'pier', not {self.charging!r}")
        for f in ("vehicles", "packs_per_vehicle", "pack_energy_kwh", "route_km_per_day", "kwh_per_km",
                  "operating_days_per_year", "swap_window_fraction", "expected_lifetime_cycles"):
            v = getattr(self, f)
            if not (isinstance(v, (int, float)) and math.isfinite(v) and v > 0):
                raise ValueError(f"segment {self.name}: {f} must be a positive number, not {v!r}")
        if self.swap_window_fraction > 1:
            raise ValueError(f"segment {self.name}: swap_window_fraction {self.swap_window_fraction} must be ≤ 1")
        if self.spare_packs < 0:
            raise ValueError(f"segment {self.name}: spare_packs must be 0 or more, not {self.spare_packs}")

    @property
    def swapped(self) -> bool:
        """Swapped at the station (its charging is the station's load); a pier-charged segment's is not."""
        return self.charging == "swap"

    @property
    def pool(self) -> int:
        """Packs in rotation: the vehicles' and the station's spares."""
        return self.vehicles * self.packs_per_vehicle + self.spare_packs

    @property
    def rated_capacity_ah(self) -> float:
        return self.pack_energy_kwh * 1000.0 / self.nominal_voltage_v

    def daily_energy_kwh(self) -> float:
        """One vehicle's energy per operating day (kWh at the pack)."""
        return self.route_km_per_day * self.kwh_per_km

    def energy_per_swap_kwh(self, soh_fraction: float = 1.0) -> float:
        return self.packs_per_vehicle * self.pack_energy_kwh * soh_fraction * self.swap_window_fraction

    def swaps_per_vehicle_day(self, soh_fraction: float = 1.0) -> float:
        return self.daily_energy_kwh() / self.energy_per_swap_kwh(soh_fraction)

    def station_swaps_per_day(self, soh_fraction: float = 1.0) -> float:
        return self.vehicles * self.swaps_per_vehicle_day(soh_fraction)

    def station_energy_kwh_per_day(self) -> float:
        return self.vehicles * self.daily_energy_kwh()

    def pack_swaps_per_day(self, soh_fraction: float = 1.0) -> float:
        return self.station_swaps_per_day(soh_fraction) * self.packs_per_vehicle / self.pool

    def fec_per_swap(self, soh_fraction: float = 1.0) -> float:
        return self.swap_window_fraction * soh_fraction


def segments(references: References | None = None, tracker: Tracker | None = None) -> dict[str, Segment]:
    """The segments of reference set ``lanzhou_fleets`` (every value read through the tracker)."""
    t = tracker or (references or References.default()).tracker()

    def v(key: str, seg: str) -> Any:
        return t.get("lanzhou_fleets", key, seg)

    from ..reference.lanzhou_fleets import SEGMENTS

    out = {}
    for s in SEGMENTS:
        out[s] = Segment(
            name=s, vehicles=int(v("vehicles", s)), packs_per_vehicle=int(v("packs_per_vehicle", s)),
            spare_packs=int(v("spare_packs_per_station", s)), pack_energy_kwh=float(v("pack_energy_kwh", s)),
            nominal_voltage_v=float(v("nominal_voltage_v", s)), chemistry=str(v("chemistry", s)),
            pack_kg_per_kwh=float(v("pack_kg_per_kwh", s)), route_km_per_day=float(v("route_km_per_day", s)),
            kwh_per_km=float(v("kwh_per_km", s)), operating_days_per_year=int(v("operating_days_per_year", s)),
            swap_window_fraction=float(v("swap_window_fraction", s)),
            expected_lifetime_cycles=float(v("expected_lifetime_cycles", s)),
            capacity_threshold_pct=float(t.get("lanzhou_fleets", "capacity_threshold_exhaustion_pct")),
            station_chargers=int(v("station_chargers", s)), station_charger_kw=float(v("station_charger_kw", s)),
            charging=str(v("charging", s)))
    return out


def soh_drift_per_swap_pct(k: float, z: float, fec_before: float, fec_per_swap: float) -> float:
    """Cycle loss of one swap at ``fec_before`` cycles (% points): 100·k·((N + ΔN)^z − N^z)."""
    return 100.0 * k * ((fec_before + fec_per_swap) ** z - max(fec_before, 0.0) ** z)


@dataclass
class SwapYear:
    """What a segment's station saw in a year: per pack (arrays in pool order) and in total."""

    swaps_per_pack: np.ndarray  # swaps of each pack this year
    fec_added: np.ndarray  # full equivalent cycles each pack added
    soh_true_pct: np.ndarray  # after the year
    soh_estimate_pct: np.ndarray  # the station's estimate: mean of the last n diagnoses
    diagnoses: int  # diagnoses made (one per pack per swap)
    station_swaps: int  # vehicle swaps (each of packs_per_vehicle packs)
    energy_kwh: float  # energy the station charged into packs
    diagnosis_error_pct: np.ndarray  # estimate − truth per pack


def swap_year(seg: Segment, fec: np.ndarray, age_years: np.ndarray, k_eff: np.ndarray, cal_eff: np.ndarray,
              soh_pct: np.ndarray, fade: Any, rng: np.random.Generator, *, sigma_pct: float, averaged: int,
              year_fraction: float = 1.0) -> SwapYear:
    """A year of a segment's station, vectorised over its pool: swaps (Poisson around the even rotation), the
    cycles they add, the packs' new state of health by the fade model, and the diagnosis of every swap (the
    estimate written to the passport: the mean of the last ``averaged`` diagnoses, near the year's end)."""
    n = len(fec)
    if not (len(age_years) == len(k_eff) == len(cal_eff) == len(soh_pct) == n):
        raise ValueError("swap_year: the pool's arrays must have one element per pack")
    soh = np.clip(soh_pct / 100.0, 0.05, 1.2)
    days = seg.operating_days_per_year * year_fraction
    # each pack's expected swaps: the station's swaps at the pool's mean health, shared evenly by the pool
    mean_rate = seg.pack_swaps_per_day(float(soh.mean())) * days * seg.pool / n if n else 0.0
    swaps = rng.poisson(mean_rate, size=n) if n else np.zeros(0, dtype=int)
    fec_added = swaps * seg.fec_per_swap(1.0) * soh
    new_fec = fec + fec_added
    new_age = age_years + year_fraction
    true = np.clip(fade.soh_pct(new_fec, new_age, k_eff, cal_eff), 0.0, 100.0)
    m = np.minimum(swaps, averaged)
    # the mean of m diagnoses of (nearly) the year-end health, each with error σ: one draw of σ/√m
    err = np.where(m > 0, rng.normal(0.0, 1.0, size=n) * sigma_pct / np.sqrt(np.maximum(m, 1)), 0.0)
    est = np.where(m > 0, np.round(true + err, 2), np.nan)
    energy = float((fec_added * seg.pack_energy_kwh).sum())
    return SwapYear(swaps_per_pack=swaps, fec_added=fec_added, soh_true_pct=true, soh_estimate_pct=est,
                    diagnoses=int(swaps.sum()), station_swaps=int(round(swaps.sum() / seg.packs_per_vehicle)),
                    energy_kwh=energy, diagnosis_error_pct=np.where(m > 0, est - true, np.nan))
