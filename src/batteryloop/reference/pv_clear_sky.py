"""Clear-sky irradiance and PV system figures for an hourly PV profile.

Sources:
- Haurwitz, B. (1945), "Insolation in relation to cloudiness and cloud density", J. Meteorology 2,
  154–166: clear-sky global horizontal irradiance GHI = 1098 · cos Z · exp(−0.057 / cos Z) W/m²
  (Z the solar zenith angle), as evaluated in Reno, Hansen & Stein, "Global horizontal irradiance
  clear sky models: implementation and analysis", Sandia report SAND2012-2389 (2012), which found it
  among the best of the simple models.
- Cooper, P. I. (1969), "The absorption of radiation in solar stills", Solar Energy 12, 333–346:
  solar declination δ = 23.45° · sin(360° · (284 + n) / 365).
- Performance ratio of a PV system (AC yield / (kWp · irradiation / 1 kW/m²)): typically 0.75–0.85
  (IEA PVPS Task 13 reports; value here UNVERIFIED default 0.80).
- Weather: a daily clearness factor drawn from a beta distribution with mean
  ``weather_mean_fraction`` and spread ``weather_sd_fraction`` (batteryloop assumption, UNVERIFIED;
  replace with measured hourly profiles read from CSV).

The set is marked unverified because of the performance ratio and the weather defaults; the Haurwitz
and Cooper coefficients are published.
"""

from __future__ import annotations

from ._core import Citation, ReferenceSet

SET = ReferenceSet(
    name="pv_clear_sky",
    citation=Citation(
        title="Haurwitz clear-sky GHI (1945, via Sandia SAND2012-2389); Cooper declination (1969); PV performance ratio and weather defaults",
        publisher="J. Meteorology; Sandia National Laboratories; Solar Energy; batteryloop",
        date="2012",
        url="https://www.osti.gov/biblio/1039404",
        verified=False,
        note="model coefficients published; performance ratio and weather factors are defaults",
    ),
    values={
        "haurwitz": {"a_w_per_m2": 1098.0, "b": 0.057},
        "declination_max_deg": 23.45,
        "stc_irradiance_w_per_m2": 1000.0,
        "performance_ratio_fraction": 0.80,
        "weather_mean_fraction": 0.75,
        "weather_sd_fraction": 0.20,
    },
)
