"""Hourly PV generation: a clear-sky model times a weather factor, or a measured profile from CSV.

Clear sky (reference set ``pv_clear_sky``): solar declination after Cooper (1969), zenith angle from
latitude, declination and hour angle (local solar time, hour centres), global horizontal irradiance
after Haurwitz (1945). AC output = kWp · GHI / 1000 W/m² · performance ratio · weather factor. The
array is treated as horizontal: a tilted array yields more in winter at high latitudes — read a
measured or PVGIS-style profile from CSV when that matters.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np

from ..reference import References, Tracker
from .errors import HubInputError
from ..reference import hub_references


def clear_sky_ghi_w_per_m2(latitude_deg: float, day_of_year: int | np.ndarray, hours: np.ndarray,
                           tracker: Tracker | None = None) -> np.ndarray:
    """Clear-sky global horizontal irradiance at local solar ``hours`` (0–24, may be fractional)."""
    if not -90 <= latitude_deg <= 90:
        raise HubInputError("latitude_deg", latitude_deg, "must lie in [-90, 90]")
    t = tracker or hub_references().tracker()
    a = float(t.get("pv_clear_sky", "haurwitz", "a_w_per_m2"))
    b = float(t.get("pv_clear_sky", "haurwitz", "b"))
    dmax = float(t.get("pv_clear_sky", "declination_max_deg"))
    n = np.asarray(day_of_year, dtype=float)
    decl = np.radians(dmax * np.sin(np.radians(360.0 * (284.0 + n) / 365.0)))
    lat = math.radians(latitude_deg)
    omega = np.radians(15.0 * (np.asarray(hours, dtype=float) - 12.0))
    cos_z = math.sin(lat) * np.sin(decl) + math.cos(lat) * np.cos(decl) * np.cos(omega)
    ghi = np.zeros_like(cos_z)
    up = cos_z > 0.01
    ghi[up] = a * cos_z[up] * np.exp(-b / cos_z[up])
    return ghi


def pv_day_kw(kwp: float, latitude_deg: float, day_of_year: int, weather_factor: float = 1.0, *,
              steps_per_hour: int = 1, references: References | None = None, tracker: Tracker | None = None,
              solar_minus_clock_h: float = 0.0) -> np.ndarray:
    """AC output (kW, mean over each step) of a ``kwp`` array on one day. The steps are local solar time, or
    clock time when ``solar_minus_clock_h`` (solar time − clock time: longitude / 15 − UTC offset, in hours;
    Rotterdam in winter 4.48 / 15 − 1 = −0.70) is given."""
    if kwp < 0 or not math.isfinite(kwp):
        raise HubInputError("pv_kwp", kwp, "must be a finite number, 0 or more")
    if not 0 <= weather_factor <= 1.2:
        raise HubInputError("weather_factor", weather_factor, "must lie in [0, 1.2] (1 = clear sky)")
    t = tracker or hub_references(references).tracker()
    pr = float(t.get("pv_clear_sky", "performance_ratio_fraction"))
    stc = float(t.get("pv_clear_sky", "stc_irradiance_w_per_m2"))
    # mean over each step from 4 sub-samples
    sub = 4
    centres = (np.arange(24 * steps_per_hour * sub) + 0.5) / (steps_per_hour * sub) + solar_minus_clock_h
    ghi = clear_sky_ghi_w_per_m2(latitude_deg, day_of_year, centres, t).reshape(-1, sub).mean(axis=1)
    return kwp * ghi / stc * pr * weather_factor


def weather_factors(days: int, seed: int = 0, *, references: References | None = None,
                    tracker: Tracker | None = None, mean_fraction: float | None = None) -> np.ndarray:
    """One clearness factor per day from a beta distribution (mean and sd from ``pv_clear_sky``; ``mean_fraction``:
    a site's own mean, see :func:`site_clearness`)."""
    t = tracker or hub_references(references).tracker()
    m = mean_fraction if mean_fraction is not None else float(t.get("pv_clear_sky", "weather_mean_fraction"))
    sd = float(t.get("pv_clear_sky", "weather_sd_fraction"))
    var = min(sd * sd, m * (1 - m) * 0.99)
    k = m * (1 - m) / var - 1
    return np.random.default_rng(seed).beta(m * k, (1 - m) * k, days)


def read_pv_csv(path: str | Path, *, kwp: float | None = None, column: str | None = None) -> np.ndarray:
    """An hourly (or 15-min) PV profile from CSV: one numeric column of kW (or of kW per kWp if ``kwp``).

    The column is ``column``, else the first of ``pv_kw``, ``kw``, ``ac_kw``, ``kw_per_kwp``, ``p``
    (PVGIS hourly exports name their power column ``P`` in W: give ``column="P"`` and divide yourself).
    Errors name the file, line and column.
    """
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise HubInputError("pv_csv", str(p), f"cannot be read ({exc.strerror})") from None
    rows = list(csv.reader(text.splitlines()))
    if len(rows) < 2:
        raise HubInputError("pv_csv", str(p), "needs a header line and at least one data line")
    header = [h.strip() for h in rows[0]]
    lower = [h.lower() for h in header]
    if column is not None:
        if column not in header:
            raise HubInputError("pv_csv.column", column, f"not in the header of {p.name} ({', '.join(header)})")
        col = header.index(column)
    else:
        col = next((lower.index(c) for c in ("pv_kw", "kw", "ac_kw", "kw_per_kwp", "p") if c in lower), -1)
        if col < 0:
            raise HubInputError("pv_csv", str(p), f"no PV column (pv_kw, kw, ac_kw, kw_per_kwp or p) in header {header}")
    out = np.empty(len(rows) - 1)
    for i, row in enumerate(rows[1:]):
        try:
            v = float(row[col])
        except (IndexError, ValueError):
            raise HubInputError(f"pv_csv:{i + 2}:{header[col]}", row[col] if col < len(row) else None,
                                "must be a number (the file looks malformed or truncated)") from None
        if not math.isfinite(v) or v < 0:
            raise HubInputError(f"pv_csv:{i + 2}:{header[col]}", v, "must be a finite number, 0 or more")
        out[i] = v
    return out * kwp if kwp is not None else out


def clear_sky_yield_kwh_per_kwp(latitude_deg: float, *, tracker: Tracker | None = None) -> float:
    """A year of clear days: the AC energy of 1 kWp (kWh) under the clear-sky model, every day of a 365-day year."""
    t = tracker or hub_references().tracker()
    return float(sum(pv_day_kw(1.0, latitude_deg, d, 1.0, steps_per_hour=1, tracker=t).sum() for d in range(1, 366)))


def site_clearness(latitude_deg: float, yield_kwh_per_kwp: float, *, tracker: Tracker | None = None) -> float:
    """The mean daily clearness at which the clear-sky model yields a site's measured annual energy:
    yield / clear-sky yield (e.g. Rotterdam: 950 / 1,364 = 0.70 at 51.9° N)."""
    clear = clear_sky_yield_kwh_per_kwp(latitude_deg, tracker=tracker)
    if not 0 < yield_kwh_per_kwp <= clear:
        raise HubInputError("pv_yield_kwh_per_kwp_year", yield_kwh_per_kwp,
                            f"must lie in (0, {clear:.0f}]: a clear sky at {latitude_deg}° gives no more")
    return yield_kwh_per_kwp / clear
