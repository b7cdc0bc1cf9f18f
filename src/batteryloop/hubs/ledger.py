"""The zero-carbon ledger of a hub's industrial park: solar share, grid emissions avoided by the second-life
storage, and net emissions, year by year — free of I/O.

The park is the hub behind its one grid connection: its consumption is the EV charging and the swap-station
charging it served (load shed at an import limit is neither bought nor solar: it is left out); its supply is its PV, its storage of repurposed packs and the grid. Per year (docs/hubs.md, "The
zero-carbon ledger", works one year through by hand):

* **solar share** = 1 − grid import ÷ consumption: the part of the park's consumption not bought from the
  grid (energy lost in the storage counts against the sun, so the share is never flattered);
* **grid emissions** = grid import × the grid's factor (kg CO₂e/kWh of the hub's country, ``grid_factors``:
  location-based, one annual average);
* **avoided by the second-life storage** = (grid import *without* storage − grid import *with* it) × the
  factor. Without storage, each hour the park imports what its PV cannot cover, max(0, consumption − PV),
  and exports or curtails the rest (the same consumption, hour by hour): so this is the solar energy the
  packs carried into the hours without sun, less what they took from the grid and lost. It is negative when
  the storage only shifts grid energy (its losses are then extra import);
* **export credit** = grid export × the factor, counted only with ``credit_export`` (off by default: the
  ledger counts what the park draws; what it feeds in is shown beside it, not netted);
* **net emissions** = grid emissions − export credit; the park is **zero-carbon** in a year when net ≤ 0.

:func:`park_year` reads the figures off a simulated hub year (:class:`.year.YearResult`, hourly series);
:func:`zero_carbon_ledger` computes the ledger from them and the grid factor.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from ..reference import References, Tracker

PARK_FIELDS = ("consumption_kwh", "pv_kwh", "import_kwh", "export_kwh", "import_without_storage_kwh",
               "storage_discharge_kwh")


def park_year(result: Any, scale: float = 1.0) -> dict[str, float]:
    """A hub year's park figures (kWh), multiplied by ``scale`` (e.g. 365 / simulated days)."""
    h = result.hourly
    dt = float(result.dt_h)
    # the consumption served: load the hub could not serve (unserved energy) was neither bought nor solar, so it
    # counts in neither the consumption nor the import without storage (it would flatter the solar share)
    load = np.asarray(h["ev_load_kw"], dtype=float) + np.asarray(h["swap_kw"], dtype=float)
    if "unserved_kw" in h:
        load = np.clip(load - np.asarray(h["unserved_kw"], dtype=float), 0, None)
    pv = np.asarray(h["pv_kw"], dtype=float)
    out = {
        "consumption_kwh": round(float(load.sum() * dt * scale), 1),
        "pv_kwh": round(float(pv.sum() * dt * scale), 1),
        "import_kwh": round(float(np.asarray(h["grid_import_kw"]).sum() * dt * scale), 1),
        "export_kwh": round(float(np.asarray(h["grid_export_kw"]).sum() * dt * scale), 1),
        "import_without_storage_kwh": round(float(np.clip(load - pv, 0, None).sum() * dt * scale), 1),
        "storage_discharge_kwh": round(float(np.asarray(h["discharge_kw"]).sum() * dt * scale), 1),
    }
    return {k: abs(v) if v == 0 else v for k, v in out.items()}  # no "-0.0" from a sum of tiny negatives


def _check(row: Mapping[str, Any], i: int) -> dict[str, float]:
    out: dict[str, float] = {}
    for k in PARK_FIELDS:
        v = row.get(k)
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not np.isfinite(v) or v < 0:
            raise ValueError(f"park year {row.get('year', i)}: {k} must be a non-negative number of kWh, not {v!r}")
        out[k] = float(v)
    return out


def zero_carbon_ledger(rows: Iterable[Mapping[str, Any]], country: str, *, credit_export: bool = False,
                       references: References | None = None) -> dict[str, Any]:
    """The ledger: one line per year (``rows``: ``year`` and :data:`PARK_FIELDS`) and the total, with the grid
    factor of ``country`` used and the reference values read."""
    t = Tracker(references or References.default())
    f = float(t.get("grid_factors", "kgco2e_per_kwh", country))
    lines = []
    tot = dict.fromkeys(("consumption_kwh", "import_kwh", "export_kwh", "grid_emissions_kg", "avoided_by_storage_kg",
                         "export_credit_kg", "net_emissions_kg"), 0.0)
    for i, row in enumerate(rows):
        r = _check(row, i)
        grid = r["import_kwh"] * f
        avoided = (r["import_without_storage_kwh"] - r["import_kwh"]) * f
        credit = r["export_kwh"] * f if credit_export else 0.0
        net = grid - credit
        share = max(0.0, 1.0 - r["import_kwh"] / r["consumption_kwh"]) if r["consumption_kwh"] > 0 else None
        line = {"year": row.get("year"), **r, "solar_share": None if share is None else round(share, 4),
                "grid_emissions_kg": round(grid, 1), "avoided_by_storage_kg": round(avoided, 1),
                "export_credit_kg": round(credit, 1), "net_emissions_kg": round(net, 1), "zero_carbon": net <= 0}
        lines.append(line)
        for k in tot:
            tot[k] += line[k] if k in line else 0.0
    total = {k: round(v, 1) for k, v in tot.items()}
    total["solar_share"] = (round(max(0.0, 1.0 - tot["import_kwh"] / tot["consumption_kwh"]), 4)
                            if tot["consumption_kwh"] > 0 else None)
    return {"country": country, "grid_kgco2e_per_kwh": f, "credit_export": credit_export, "years": lines,
            "total": total, "references": [v.model_dump(mode="json") for v in t.used()]}
