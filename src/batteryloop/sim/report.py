"""The pilot's report: what happened, counted from the services at the end of the run, and where it is kept.

The report is one JSON document per run in the ``pilot_runs`` table; the dashboard's pilot pages read
the latest. Figures that the platform already holds (ledger events, passports, recycled content,
outflows) are read back from the services rather than taken from the simulator's own counters, so the
report states what a regulator querying the node would find.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import time
from collections import Counter, defaultdict
from typing import Any

import orjson
from ..errors import NotFound
from ..store import pilot_runs
from . import pilot
from .pilot import STATE_LOST, STATE_RECYCLED, STATE_SECOND_LIFE


def _sankey(run: Any) -> dict[str, Any]:
    """Material flows (kg of Li+Ni+Co+Mn+Fe, graphite apart) from mines to packs, out of the loop and back."""
    flows = dict(run.chain.flows)
    f = run.fleet
    metal = {mid: m.metal_in_pack_kg for mid, m in run.materials.items()}
    by_state: Counter[int] = Counter()
    for model_id, state in zip(f.model, f.state, strict=True):
        if model_id:
            by_state[int(state)] += metal[model_id]
    lost_kg, recycled_kg, sl_kg = by_state[STATE_LOST], by_state[STATE_RECYCLED], by_state[STATE_SECOND_LIFE]
    in_vehicles = max(0.0, flows.get(("cells", "packs"), 0.0) - lost_kg - recycled_kg - sl_kg)
    flows[("packs", "vehicles (in use)")] = in_vehicles
    flows[("packs", "second life")] = sl_kg
    flows[("packs", "recycling")] = recycled_kg
    flows[("packs", "illegal outflow")] = lost_kg
    nodes: list[str] = []
    links = []
    for (a, b), kg in sorted(flows.items()):
        if kg <= 0:
            continue
        for n in (a, b):
            if n not in nodes:
                nodes.append(n)
        links.append({"source": a, "target": b, "kg": round(kg, 3)})
    return {"unit": "kg of Li, Ni, Co, Mn and Fe (graphite apart)", "nodes": nodes, "links": links}


def _sample_by_year(decisions: list[dict[str, Any]], per_year: int) -> list[dict[str, Any]]:
    """The first ``per_year`` route decisions of each year (all of them in small pilots)."""
    seen: Counter[int] = Counter()
    out = []
    for d in decisions:
        if seen[d["year"]] < per_year:
            seen[d["year"]] += 1
            out.append(d)
    return out


def decision_groups(decisions: list[dict[str, Any]]) -> dict[str, Any]:
    """Every route decision, aggregated: per year and route the packs, their grades and models, the sums behind
    the mean state of health and NPV; per route the quartiles of the state of health at retirement. The page
    shows these (never a pack's own figure); the per-pack sample stays for overseers."""
    import numpy as np

    groups: dict[tuple[int, str], list[dict[str, Any]]] = defaultdict(list)
    soh: dict[str, list[float]] = defaultdict(list)
    for d in decisions:
        groups[(d["year"], d["route"])].append(d)
        soh[d["route"]].append(float(d["soh_pct"]))
    rows = []
    for (year, route), ds in sorted(groups.items()):
        rows.append({"year": year, "route": route, "packs": len(ds),
                     "grades": dict(sorted(Counter(str(d["grade"]) for d in ds).items())),
                     "models": dict(sorted(Counter(str(d["model"]) for d in ds).items())),
                     "soh_sum": round(sum(d["soh_pct"] for d in ds), 4),
                     "npv_sum_usd": round(sum(d["npv_usd"] for d in ds), 2)})
    quart = {}
    for route, vals in sorted(soh.items()):
        a = np.asarray(vals, dtype=float)
        quart[route] = {"n": len(vals), "q1": float(np.percentile(a, 25)), "median": float(np.percentile(a, 50)),
                        "q3": float(np.percentile(a, 75)), "lowerfence": float(a.min()),
                        "upperfence": float(a.max()), "mean": float(a.mean())}
    return {"rows": rows, "soh_by_route": quart}


def decision_groups_by_plant(decisions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every route decision aggregated per year, route and the plant that built the pack (sums, as
    :func:`decision_groups`): what the dashboard's plant filter cuts."""
    groups: dict[tuple[int, str, str], list[dict[str, Any]]] = defaultdict(list)
    for d in decisions:
        if d.get("plant"):
            groups[(d["year"], d["route"], str(d["plant"]))].append(d)
    return [{"year": y, "route": r, "plant": p, "plant_country": ds[0].get("plant_country"), "packs": len(ds),
             "soh_sum": round(sum(d["soh_pct"] for d in ds), 4), "npv_sum_usd": round(sum(d["npv_usd"] for d in ds), 2)}
            for (y, r, p), ds in sorted(groups.items())]


def recycled_content_by_plant(groups: list[dict[str, Any]], plant_country: dict[str, str]) -> list[dict[str, Any]]:
    """The ledger's Art. 8 groups (model, plant, year) as report rows: packs and the passports' percentages."""
    out = []
    for g in groups or []:
        f = g.get("fields") or {}
        out.append({"year": g["year"], "model_id": g["model_id"], "plant": g["plant"],
                    "plant_country": plant_country.get(g["plant"]), "packs": len(g.get("packs") or ()),
                    **{k: f.get(k) for k in ("cobalt_pct", "lithium_pct", "nickel_pct")}})
    return out


RESIDUAL_FIELDS = ("year", "grade", "packs", "capacity_kwh", "mean_soh_pct", "residual_value_usd",
                   "residual_value_usd_per_kwh", "residual_share_of_new_fraction", "paid_usd", "paid_usd_per_kwh",
                   "paid_share_of_value_fraction")


def residual_value_by_grade(decisions: list[dict[str, Any]], *, region: str | None = None, life: str = "first",
                            new_pack_price_usd_per_kwh: float) -> dict[str, Any]:
    """The residual value of retired packs by grade and year, beside what buyers paid for them (Kia's question in
    its Korean pilot: what is a retired pack worth?).

    For each year and intake grade (``health.grading``) of the packs retired from their ``life`` (first: from a
    vehicle) in ``region`` (``None``: every region): the packs and their kWh, the mean state of health, the
    **residual value** — what the route decision booked for the pack (its best route's value, the recycling at the
    end of a re-use or remanufacture left out: ``npv_usd`` of the decisions) — in total, per kWh and as a share of
    a new pack (kWh × ``new_pack_price_usd_per_kwh``), and **what buyers paid**: the route operator's price to the
    seller in the pilot's own sales (``paid_usd``). Decisions without a price (runs before this field) count in
    the value but not in the paid columns."""
    rows: dict[tuple[int, str], dict[str, Any]] = {}
    for d in decisions:
        if d.get("life", "first") != life or (region is not None and d.get("region") != region):
            continue
        key = (int(d["year"]), str(d.get("grade")))
        r = rows.setdefault(key, {"year": key[0], "grade": key[1], "packs": 0, "capacity_kwh": 0.0, "soh_sum": 0.0,
                                  "residual_value_usd": 0.0, "paid_usd": 0.0, "paid_packs": 0, "value_of_paid": 0.0,
                                  "kwh_of_paid": 0.0})
        kwh = float(d.get("capacity_kwh") or 0.0)
        r["packs"] += 1
        r["capacity_kwh"] += kwh
        r["soh_sum"] += float(d["soh_pct"])
        r["residual_value_usd"] += float(d["npv_usd"])
        if d.get("paid_usd") is not None:
            r["paid_usd"] += float(d["paid_usd"])
            r["paid_packs"] += 1
            r["value_of_paid"] += float(d["npv_usd"])
            r["kwh_of_paid"] += kwh
    out = []
    for key in sorted(rows):
        r = rows[key]
        kwh = r["capacity_kwh"]
        out.append({
            "year": r["year"], "grade": r["grade"], "packs": r["packs"], "capacity_kwh": round(kwh, 1),
            "mean_soh_pct": round(r["soh_sum"] / r["packs"], 2),
            "residual_value_usd": round(r["residual_value_usd"], 2),
            "residual_value_usd_per_kwh": round(r["residual_value_usd"] / kwh, 4) if kwh else None,
            "residual_share_of_new_fraction": round(r["residual_value_usd"] / (kwh * new_pack_price_usd_per_kwh), 4)
            if kwh and new_pack_price_usd_per_kwh else None,
            "paid_usd": round(r["paid_usd"], 2) if r["paid_packs"] else None,
            "paid_usd_per_kwh": round(r["paid_usd"] / r["kwh_of_paid"], 4) if r["kwh_of_paid"] else None,
            "paid_share_of_value_fraction": round(r["paid_usd"] / r["value_of_paid"], 4) if r["value_of_paid"] else None,
        })
    return {"region": region, "life": life, "new_pack_price_usd_per_kwh": new_pack_price_usd_per_kwh,
            "fields": list(RESIDUAL_FIELDS), "rows": out,
            "grades": sorted({r["grade"] for r in out}), "years": sorted({r["year"] for r in out})}


def residual_value_csv(table: dict[str, Any]) -> str:
    """:func:`residual_value_by_grade` as CSV (one row per year and grade)."""
    import csv
    import io

    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(RESIDUAL_FIELDS), lineterminator="\n")
    w.writeheader()
    for r in table["rows"]:
        w.writerow({k: ("" if r.get(k) is None else r[k]) for k in RESIDUAL_FIELDS})
    return buf.getvalue()


MIN_GROUP = 3
"""Per-pack figures (state of health, value, price) of a group of fewer packs than this are not shown to those who
may not read the pilot's findings pack by pack: they would be the packs' own (the dashboard's aggregate pages and
the residual-value API alike)."""

#: a row's columns that are one pack's own figures when the row holds one or two packs
_PER_PACK_FIELDS = ("mean_soh_pct", "residual_value_usd", "residual_value_usd_per_kwh", "residual_share_of_new_fraction",
                    "paid_usd", "paid_usd_per_kwh", "paid_share_of_value_fraction")


def residual_value_of(report: dict[str, Any], region: str | None = None, *,
                      min_group: int | None = None) -> dict[str, Any]:
    """The residual-value table of a stored pilot report for a region (``None``: all; ``KR``, ``EU``), for the
    API, the CLI and the page. A run without the table (older runs) or an unknown region is NotFound.

    ``min_group``: rows of fewer packs keep their year, grade, pack count and kWh, and have their per-pack columns
    empty and ``withheld`` true (for a caller who may not read the findings pack by pack; ``None``: every row whole)."""
    by_region = (report.get("residual_value") or {}).get("by_region") or {}
    key = region or "all"
    if key not in by_region:
        from ..errors import NotFound

        raise NotFound(f"this pilot run has no residual-value table for region {key!r}; known: "
                       f"{', '.join(sorted(by_region)) or 'none (a run before residual values were reported)'}")
    table = by_region[key]
    if min_group is None:
        return table
    rows = [r if r["packs"] >= min_group else {**r, **dict.fromkeys(_PER_PACK_FIELDS), "withheld": True}
            for r in table["rows"]]
    return {**table, "rows": rows, "min_group": min_group}


def _cash_table(run: Any) -> list[dict[str, Any]]:
    return [{"year": y, "participant_type": who, "item": what, "usd": round(v, 2)}
            for (y, who, what), v in sorted(run.cash.items()) if abs(v) > 0.005]


def _references(run: Any) -> list[dict[str, Any]]:
    """Every reference value the run used: the simulator's own and the footprint calculation's."""
    seen: dict[tuple[str, str], dict[str, Any]] = {}
    for v in [*(r.model_dump(mode="json") for r in run.t.used()), *run.footprint_references]:
        seen[(v["set"], v["key"])] = v
    return [seen[k] for k in sorted(seen)]


PARALLEL_FROM_EVENTS = 10_000
"""Ledgers of more events than this are re-verified and replayed for outflows in one worker process per CPU."""


def build_report(run: Any, duration_s: float) -> dict[str, Any]:
    s = run.s
    cfg = run.cfg
    behind = getattr(run, "behind", None)
    if behind is not None:  # the tail and the final pass (trace.verify_behind), in its worker, beside what follows
        behind.start_finish()
    # the mass balance the passports got (apply_recycled_content), kept for this ledger state; then let it go
    # before the ledger's other passes
    rc = s.trace.recycled_content_table()
    s.trace.queries.forget_balances()
    workers = (os.cpu_count() or 1) if run.events_sent > PARALLEL_FROM_EVENTS else 1
    counts = s.passports.count()
    # as of the last event, as the API and the dashboard answer by default; in worker processes when it is big
    t0 = time.perf_counter()
    out = s.trace.outflows(limit=None, workers=workers)
    run.timings["report: outflows"] += time.perf_counter() - t0
    # the whole ledger verified (every signature and link, the custody rules replayed): behind the ledger while
    # the pilot ran, each event once, then checked unchanged (trace.verify_behind); else, or if that found
    # anything, here, in worker processes once it is more than a few seconds' work (the default demo's 18,000
    # events already are: forking costs a fraction of a second)
    t0 = time.perf_counter()
    verify = behind.finish() if behind is not None else None
    if verify is not None:
        run.ledger_check = "behind the ledger"
    else:
        run.ledger_check = "whole ledger at the end" + (f" ({behind.reason})" if behind is not None else "")
        if behind is not None:
            logging.getLogger(__name__).warning("pilot: the ledger is verified again in full: %s", behind.reason)
        verify = s.trace.verify(workers=workers)
    run.timings["report: ledger verified"] += time.perf_counter() - t0
    fp = {}
    for mid in run.models:
        cf = (s.passports.model_data(mid).get("carbon_footprint") or {})
        fp[mid] = {k: cf.get(k) for k in ("raw_material_kgco2e_per_kwh", "main_production_kgco2e_per_kwh",
                                          "distribution_kgco2e_per_kwh", "end_of_life_kgco2e_per_kwh",
                                          "total_kgco2e_per_kwh", "performance_class")}
    by_route: dict[str, dict[str, float]] = defaultdict(lambda: {"packs": 0, "npv_usd": 0.0})
    for d in run.decisions:
        r = by_route[d["route"]]
        r["packs"] += 1
        r["npv_usd"] += d["npv_usd"]
    cash = _cash_table(run)
    by_type: Counter[str] = Counter()
    for c in cash:
        by_type[c["participant_type"]] += c["usd"]
    recovered = {el: round(sum(r[el] for r in run.recovered_by_year), 3) for el in ("Li", "Ni", "Co")}
    first_rc = [r for r in rc["rows"] if r["year"] == cfg.start_year]
    last_rc = [r for r in rc["rows"] if r["year"] == cfg.start_year + cfg.years - 1]

    def pct(rows: list[dict[str, Any]]) -> dict[str, dict[str, float | None]]:
        return {r["model_id"]: {el: (v["total"] if v["total"] is None else round(100 * v["total"], 2))
                                for el, v in r["elements"].items() if el != "Pb"} for r in rows}

    summary = {
        "packs": cfg.packs, "years": cfg.years, "seed": cfg.seed, "start_year": cfg.start_year,
        "duration_s": round(duration_s, 1),
        "passports": counts["passports"], "passports_by_status": counts["by_status"], "models": counts["models"],
        "ledger_events": verify.events_checked, "ledger_verified": verify.ok,
        "events_sent_by_kind": dict(sorted(run.events_by_kind.items())),
        "route_decisions": len(run.decisions),
        "routes": {k: v["packs"] for k, v in sorted(by_route.items())},
        "recovered_element_kg": recovered,
        "outflow_findings": out["counts"], "packs_left_the_loop": len(run.outflow_packs),
        "recycled_content_pct_last_year": pct(last_rc),
        "recycled_content_pct_first_year": pct(first_rc),
        "footprint_total_kgco2e_per_kwh": {m: v["total_kgco2e_per_kwh"] for m, v in fp.items()},
        "net_cash_usd_by_participant_type": {k: round(v, 2) for k, v in sorted(by_type.items())},
        "timings_s": {k: round(v, 2) for k, v in run.timings.items()},
    }
    names = run.names
    return {
        "summary": summary,
        "config": {"packs": cfg.packs, "years": cfg.years, "seed": cfg.seed, "start_year": cfg.start_year,
                   "dataspace": cfg.dataspace},
        "participants": [{"id": p["id"], "name": p["name"], "country": p["country"], "roles": p["roles"]}
                         for p in pilot.PARTICIPANTS + pilot.LOOP_PARTICIPANTS],
        "names": names,
        "models": [{"model_id": mid, "chemistry": m["chemistry"], "energy_kwh": m["rated_energy_kwh"],
                    "cell_maker": m["cell_maker"], "cell_maker_name": names.get(m["cell_maker"])}
                   for mid, m in run.models.items()],
        "years": run.years,
        "fleet_by_year": run.fleet_by_year,
        "soh_by_year": run.soh_by_year,
        "routes_by_year": run.routes_by_year,
        "route_economics": {k: {"packs": v["packs"], "npv_usd": round(v["npv_usd"], 2),
                                "mean_npv_usd": round(v["npv_usd"] / v["packs"], 2) if v["packs"] else None}
                            for k, v in sorted(by_route.items())},
        "decisions_sample": _sample_by_year(run.decisions, 40),
        "decision_groups": decision_groups(run.decisions),
        "decision_groups_by_plant": decision_groups_by_plant(run.decisions),
        "recycled_content_by_plant": recycled_content_by_plant(getattr(run, "rc_groups", []),
                                                               getattr(run, "plant_country", {})),
        "cash_flows": cash,
        "residual_value": {
            "new_pack_price_usd_per_kwh": run.route_econ.new_pack_price_usd_per_kwh,
            "by_region": {key: residual_value_by_grade(run.decisions, region=reg,
                                                       new_pack_price_usd_per_kwh=run.route_econ.new_pack_price_usd_per_kwh)
                          for key, reg in (("all", None), ("KR", "KR"), ("EU", "EU"))}},
        "second_life_economics": {region: {"source": run.sl_econ_source.get(region), "route_overrides": econ}
                                  for region, econ in sorted(run.sl_econ.items())},
        "baas_by_year": run.baas_by_year,
        "second_life_by_year": run.second_life_by_year,
        "material_flows": _sankey(run),
        "recovered_by_year": run.recovered_by_year,
        "recycled_content": rc,
        "footprint": fp,
        "outflows": {"counts": out["counts"], "findings": out["findings"][:200], "as_of": out["as_of"],
                     "simulated": run.outflow_packs[:200]},
        "dataspace": run.dataspace.snapshot() if run.dataspace is not None else None,
        "references": _references(run),
    }


def save_report(store: Any, cfg: Any, report: dict[str, Any]) -> int:
    body = {k: v for k, v in report.items() if not k.startswith("_")}
    with store.write() as conn:
        run_id = pilot_runs.insert_run(
            conn, created_at=dt.datetime.now(dt.UTC).isoformat(), seed=cfg.seed, packs=cfg.packs, years=cfg.years,
            start_year=cfg.start_year, report_json=orjson.dumps(body, option=orjson.OPT_NON_STR_KEYS).decode())
    report["run_id"] = run_id
    return run_id


def latest_report(store: Any) -> dict[str, Any]:
    """The latest pilot run's report (NotFound when no pilot has run on this store)."""
    with store.read() as conn:
        row = pilot_runs.latest_run(conn)
    if row is None:
        raise NotFound("no pilot has run on this store yet: run `batteryloop demo`")
    rep = orjson.loads(row["report"])
    rep["run_id"] = row["id"]
    rep["created_at"] = row["created_at"]
    return rep
