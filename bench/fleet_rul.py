"""Remaining-life forecasts of a fleet analysis against the generator's truth: the curve fits on the window's
capacities (the health package's forecaster, as until 2026-12-05) and the reference fade model anchored at each
pack's measured state (:func:`batteryloop.fleet.analysis.fade_forecast`, now).

    nice -n 10 .venv/bin/python bench/fleet_rul.py DIR [DIR ...]

``DIR`` is a generated fleet (``batteryloop fleet simulate``; its ``_truth_state.csv`` has ``rul_fec_true``, the
remaining full equivalent cycles to 80 % by the pack's own fade model at its rate of the window — generated since
2026-12-05). Computes each fleet's session table once (Polars), then the per-pack figures by each method, and prints
per method: the packs with a forecast (of those the truth says reach 80 % within 60 years), forecast / truth (median,
10th and 90th percentiles), the share of packs whose 90 % interval holds the truth (below, inside, above), and the
CPU of the per-pack step. The truth is used for scoring only.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import polars as pl

from batteryloop.fleet import analysis
from batteryloop.fleet.analysis import pack_figures, sessions_polars
from batteryloop.fleet.layout import read_packs


def score(df: pl.DataFrame, truth: pl.DataFrame) -> dict[str, float]:
    j = df.select("pack_id", "segment", "rul_fec", "rul_fec_lower", "rul_fec_upper").join(truth, on="pack_id")
    j = j.filter(pl.col("rul_fec_true").is_not_null() & (pl.col("rul_fec_true") > 0))
    k = j.filter(pl.col("rul_fec").is_not_null())
    r = k["rul_fec"] / k["rul_fec_true"]
    upper = k["rul_fec_upper"].fill_null(float("inf"))
    below = int((k["rul_fec_true"] < k["rul_fec_lower"]).sum())
    above = int((k["rul_fec_true"] > upper).sum())
    width = ((k["rul_fec_upper"] - k["rul_fec_lower"]) / k["rul_fec"]).drop_nulls().drop_nans()
    per_seg = {s: float((g["rul_fec"] / g["rul_fec_true"]).median() or 0) for (s,), g in k.group_by("segment")}
    return {"eligible": j.height, "forecast": k.height, "median": float(r.median() or 0),
            "p10": float(r.quantile(0.1) or 0), "p90": float(r.quantile(0.9) or 0),
            "inside": (k.height - below - above) / max(k.height, 1), "below": below / max(k.height, 1),
            "above": above / max(k.height, 1), "per_segment": per_seg,
            "width": float(width.median() or 0) if width.len() else float("nan")}


def main() -> None:
    print("| fleet | method | packs with a forecast / eligible | forecast ÷ truth: median (p10–p90) | 90 % interval "
          "holds the truth (truth below; above) | interval width ÷ forecast (median) | CPU, per-pack step | median ratio per segment |")
    print("|---|---|---:|---:|---:|---:|---:|---|")
    for d in sys.argv[1:]:
        root = Path(d)
        sessions = sessions_polars(root)
        packs = read_packs(root)
        truth = pl.read_csv(root / "_truth_state.csv").select("pack_id", "rul_fec_true")
        for method in ("curve fits", "fade model"):
            analysis.RUL_METHOD = method
            c = time.process_time()
            df = pack_figures(sessions, packs)
            cpu = time.process_time() - c
            s = score(df, truth)
            seg = ", ".join(f"{k} {v:.2f}" for k, v in sorted(s["per_segment"].items()))
            print(f"| {root.name} ({packs.height} packs) | {method} | {s['forecast']} / {s['eligible']} | "
                  f"{s['median']:.2f} ({s['p10']:.2f}–{s['p90']:.2f}) | {100 * s['inside']:.0f} % "
                  f"({100 * s['below']:.0f} %; {100 * s['above']:.0f} %) | {s['width']:.2f} | {cpu:.2f} s | {seg} |")
    analysis.RUL_METHOD = "fade model"


if __name__ == "__main__":
    main()
