"""Remaining-life forecasts of a fleet analysis: CPU per pack and the forecasts, before and after issue 19's changes.

    nice -n 10 .venv/bin/python bench/fleet_rul.py DIR

``DIR`` is a generated fleet (``batteryloop fleet simulate``). Computes its session table once (Polars), then the
per-pack figures twice: as before (both curve fits on every history, bootstrap refits from the generic starting
point) and as now (:func:`batteryloop.fleet.analysis.rul_models`: the linear fit alone below
``RUL_DOUBLE_EXP_MIN_FEC`` of history; refits warm-started). Prints the CPU of the per-pack step and of the
forecasts alone (per pack), how many packs got a forecast, and whether every other column is the same.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import polars as pl

from batteryloop.fleet import analysis
from batteryloop.fleet.analysis import pack_figures, sessions_polars
from batteryloop.fleet.layout import read_packs
from batteryloop.health.rul import MODELS

RUL_COLUMNS = ["rul_fec", "rul_fec_lower", "rul_fec_upper", "rul_days"]


def run(sessions: pl.DataFrame, packs: pl.DataFrame) -> tuple[pl.DataFrame, float, float, int]:
    """The per-pack figures, the CPU seconds of the whole step and of the forecasts alone, the forecasts run."""
    inner = analysis._rul
    spent = [0.0, 0]

    def timed_rul(*a: Any) -> dict[str, Any]:
        c = time.process_time()
        try:
            return inner(*a)
        finally:
            spent[0] += time.process_time() - c
            spent[1] += 1

    analysis._rul = timed_rul  # type: ignore[assignment]
    try:
        c = time.process_time()
        df = pack_figures(sessions, packs)
        return df, time.process_time() - c, spent[0], int(spent[1])
    finally:
        analysis._rul = inner  # type: ignore[assignment]


def main() -> None:
    root = Path(sys.argv[1])
    c = time.process_time()
    sessions = sessions_polars(root)
    c_sessions = time.process_time() - c
    packs = read_packs(root)
    now_models, now_warm = analysis.rul_models, analysis.RUL_WARM_START
    analysis.rul_models, analysis.RUL_WARM_START = (lambda fec: MODELS), False  # type: ignore[assignment]
    before = run(sessions, packs)
    analysis.rul_models, analysis.RUL_WARM_START = now_models, now_warm  # type: ignore[assignment]
    after = run(sessions, packs)
    print(f"\nfleet {root}: {packs.height} packs, {sessions.height:,} sessions; Polars sessions {c_sessions:.1f} s CPU\n")
    print("| per-pack figures | CPU, whole step | CPU, forecasts | forecasts run | CPU per forecast | packs with a forecast |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, (df, c_all, c_rul, n) in (("before (both fits, generic start)", before), ("now (linear below "
                                         f"{analysis.RUL_DOUBLE_EXP_MIN_FEC:g} FEC, warm start)", after)):
        got = df.filter(pl.col("rul_fec").is_not_null()).height
        print(f"| {name} | {c_all:.2f} s | {c_rul:.2f} s | {n} | {1000 * c_rul / max(n, 1):.1f} ms | {got} |")
    others = [c for c in before[0].columns if c not in RUL_COLUMNS]
    same = before[0].select(others).equals(after[0].select(others))
    print(f"\nevery column but the remaining life identical: {same}")
    j = before[0].select("pack_id", *RUL_COLUMNS).join(after[0].select("pack_id", *RUL_COLUMNS), on="pack_id",
                                                       suffix="_now")
    # a yardstick from the generator's truth: its state of health at the start and end of the window, the window's
    # full equivalent cycles; the remaining cycles to 80 % at that true fade rate (a line: the generator's fade
    # decelerates with cycles, so this is a lower estimate of the true remaining life)
    st = pl.read_csv(root / "_truth_state.csv").join(before[0].select("pack_id", "fec_in_window"), on="pack_id")
    st = st.with_columns(yard=(pl.col("soh_end_pct") - 80.0) * pl.col("fec_in_window")
                         / (pl.col("soh_start_pct") - pl.col("soh_end_pct"))).select("pack_id", "soh_end_pct", "yard")
    print("\nagainst the generator's true fade rate (packs above 80 %, fading, with a forecast): forecast / yardstick "
          "(median, range) and intervals containing the yardstick")
    for name, df in (("before", before[0]), ("now", after[0])):
        k = df.join(st, on="pack_id").filter(pl.col("rul_fec").is_not_null() & (pl.col("soh_end_pct") > 80.0)
                                             & (pl.col("yard") > 0))
        r = k["rul_fec"] / k["yard"]
        inside = k.filter((pl.col("rul_fec_lower") <= pl.col("yard")) & (pl.col("yard") <= pl.col("rul_fec_upper"))).height
        print(f"- {name}: {k.height} packs, forecast / yardstick median {float(r.median() or 0):.2f} "
              f"({float(r.min() or 0):.2f}–{float(r.max() or 0):.2f}); yardstick inside the interval {inside} of {k.height}")
    print(j.filter(pl.col("rul_fec").is_not_null() | pl.col("rul_fec_now").is_not_null())
          .select("pack_id", "rul_fec", "rul_fec_lower", "rul_fec_upper", "rul_fec_now", "rul_fec_lower_now",
                  "rul_fec_upper_now"))


if __name__ == "__main__":
    main()
