"""Re-check a stored pilot's route decisions with today's route model (issue 18: one second-life model).

    .venv/bin/python bench/second_life_recheck.py PILOT.db [--first-day 62] [--year 2019]

Reads every signed ``retirement_test`` of a pilot's SQLite store (the pack, its state of health, grade and the
decision taken then), and decides each again with :func:`batteryloop.circular.routes.decide_routes_batch` under
the pilot's grade tables (hydrometallurgical recycling only; end-of-second-life packs recycle only), the
passport's resistance rule (``first_life_fade``), and the second-life duty and value the pilot's reference hubs
measure today (Rotterdam for the EU, Jeju for Korea: four seasonal weeks, optimised dispatch,
:func:`batteryloop.hubs.economics.seasonal_economics`). Prints the hubs' figures, the decisions before and
after, and how many changed, by (before, after, grade).
"""

from __future__ import annotations

import argparse
import json
import sqlite3
from collections import Counter

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("db")
    ap.add_argument("--first-day", type=int, default=62, help="day of the year of the first seasonal week")
    ap.add_argument("--year", type=int, default=2019, help="the reference hubs' start year")
    a = ap.parse_args()

    from batteryloop.circular.routes import decide_routes_batch
    from batteryloop.hubs.economics import seasonal_economics
    from batteryloop.hubs.service import DEMO_TEMPLATE, _merge
    from batteryloop.hubs.sites import site_template
    from batteryloop.reference import References
    from batteryloop.sim import pilot
    from batteryloop.sim.loop import HYDRO_ONLY, RECYCLE_ONLY

    refs = References.default()
    per_pct = float(refs.tracker().get("first_life_fade", "resistance_increase_pct_per_pct_capacity_loss"))
    models = {m["model_id"]: m for m in pilot.battery_models()}
    econ = {}
    for region, site, cc in (("EU", "Rotterdam", "NL"), ("KR", "Jeju", "KR")):
        strings = [{"string_id": f"ref-{mid}", "packs": [
            {"pack_id": f"ref-{mid}-{k}", "chemistry": m["chemistry"], "nominal_energy_kwh": float(m["rated_energy_kwh"]),
             "soh_fraction": 0.72} for k in range(4)]} for mid, m in sorted(models.items())]
        cfg = _merge(_merge(DEMO_TEMPLATE, site_template(site)), {"name": f"reference {site}", "start_date": f"{a.year}-01-01",
                                                                  "strings": strings})
        econ[region] = seasonal_economics(cfg, method="optimised", first_day=a.first_day, grid_country=cc)[0]
        print(region, site, {k: round(v, 4) for k, v in econ[region].items()})
    con = sqlite3.connect(a.db)
    model_of = dict(con.execute("SELECT id, model_id FROM passports").fetchall())
    tests = [json.loads(b) for (b,) in con.execute("SELECT body FROM trace_events WHERE kind = 'retirement_test'")]
    removals = [json.loads(x) for (x,) in con.execute("SELECT body FROM trace_events WHERE kind = 'removal'")]
    sl_end = {(b["subjects"][0], b["id"].rsplit("-", 1)[1]) for b in removals if b["data"].get("reason") == "end of second life"}

    def at_end_of_second_life(t: dict) -> bool:
        return (t["subjects"][0], t["id"].rsplit("-", 1)[1]) in sl_end

    before, after, changed = Counter(), Counter(), Counter()
    for region in ("EU", "KR"):
        for second in (False, True):
            sel = [t for t in tests if (t["place"]["country"] == "KR") == (region == "KR")
                   and at_end_of_second_life(t) == second]
            if not sel:
                continue
            soh = np.array([t["data"]["soh_capacity_pct"] / 100 for t in sel])
            ms = [models[model_of[t["subjects"][0]]] for t in sel]
            d = decide_routes_batch([m["chemistry"] for m in ms], np.array([float(m["rated_energy_kwh"]) for m in ms]), soh,
                                    grade=[t["data"]["grade"] for t in sel], economics=econ[region],
                                    grade_routes=RECYCLE_ONLY if second else HYDRO_ONLY,
                                    resistance_increase_pct=np.maximum(0.0, 100 - 100 * soh) * per_pct, references=refs)
            for t, i in zip(sel, d.best_index, strict=True):
                old = t["data"]["decision"]
                new = d.routes[int(i)]
                new = "recycle" if new.startswith("recycle") else new
                before[old] += 1
                after[new] += 1
                if old != new:
                    changed[(old, new, t["data"]["grade"])] += 1
    print(f"decisions: {sum(before.values())}; before {dict(before)}; after {dict(after)}")
    print(f"changed: {sum(changed.values())}")
    for (old, new, grade), n in sorted(changed.items(), key=lambda x: -x[1]):
        print(f"  {old} -> {new} (grade {grade}): {n}")


if __name__ == "__main__":
    main()
