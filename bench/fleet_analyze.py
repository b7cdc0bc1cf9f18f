"""Fleet telemetry analysis: rows per second per engine beside a bare Polars scan, Spark against cores and
partitions, and fault detection against the generator's truth.

    nice -n 10 .venv/bin/python bench/fleet_analyze.py [--vehicles 1000] [--days 30] [--interval-s 60]
        [--dir /tmp/fleet-bench] [--spark-cores 1,2] [--spark-partitions 8,32] [--no-spark]

Generates the fleet into ``--dir`` unless it holds one already (timed: the generator's rows per second), then:
a bare Polars scan of the same files (every column the analysis reads, summed: the floor of reading them), the
Polars analysis (goal: ≥ 0.3× the bare scan's rows per second), the Spark analysis on ``local[C]`` for each
``--spark-cores`` C and ``--spark-partitions`` P (``spark.sql.shuffle.partitions``; the session start is timed
apart), and recall / precision of the flags against ``_truth.csv`` (goal ≥ 0.95 / ≥ 0.95), per fault kind too,
and the state of health's error against the generator's (``_truth_state.csv``). Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import polars as pl
from polars.testing import assert_frame_equal

from batteryloop.fleet.analysis import NUMERIC_COLUMNS, pack_figures, sessions_polars, sessions_spark, spark_session
from batteryloop.fleet.layout import read_packs, telemetry_files
from batteryloop.fleet.simulate import FAULTS, simulate


def detection(df: pl.DataFrame, root: Path) -> dict[str, float]:
    truth = dict(pl.read_csv(root / "_truth.csv").iter_rows())
    tp = fp = fn = 0
    per = {k: [0, 0] for k in FAULTS}  # found, injected
    for r in df.iter_rows(named=True):
        flags = set(filter(None, (r["faults"] or "").split(";")))
        kind = truth.get(r["pack_id"])
        if kind:
            per[kind][1] += 1
            if kind in flags:
                tp += 1
                per[kind][0] += 1
            else:
                fn += 1
        fp += len(flags - ({kind} if kind else set()))
    out = {"recall": tp / max(tp + fn, 1), "precision": tp / max(tp + fp, 1), "false_flags": fp, "injected": tp + fn}
    out.update({f"recall_{k}": v[0] / max(v[1], 1) for k, v in per.items()})
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--vehicles", type=int, default=1000)
    ap.add_argument("--days", type=int, default=30)
    ap.add_argument("--interval-s", type=float, default=60.0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--dir", type=Path, default=Path("/tmp/fleet-bench"))
    ap.add_argument("--spark-cores", default="1,2")
    ap.add_argument("--spark-partitions", default="8,32")
    ap.add_argument("--no-spark", action="store_true")
    a = ap.parse_args()
    root = a.dir
    rows_line = ""
    if not (root / "_layout.json").is_file():
        t = time.perf_counter()
        res = simulate(root, vehicles=a.vehicles, days=a.days, seed=a.seed, interval_s=a.interval_s)
        dt = time.perf_counter() - t
        rows_line = f"| generate ({a.vehicles} vehicles × {a.days} days, {a.interval_s:g} s) | {dt:.1f} s | {res['rows'] / dt:,.0f} |"
    files = telemetry_files(root)
    t = time.perf_counter()
    bare = pl.scan_parquet(files).select(pl.len(), *[pl.col(c).cast(pl.Float64).sum() for c in NUMERIC_COLUMNS],
                                         pl.col("timestamp").max(), pl.col("pack_id").n_unique()).collect()
    t_bare = time.perf_counter() - t
    n = int(bare["len"][0])
    t = time.perf_counter()
    sessions = sessions_polars(root)
    t_sql = time.perf_counter() - t
    t = time.perf_counter()
    df = pack_figures(sessions, read_packs(root))
    t_packs = time.perf_counter() - t
    t_polars = t_sql + t_packs
    print(f"\nfleet {root}: {n:,} rows in {len(files)} files, {df.height} packs, {sessions.height:,} sessions\n")
    print("| step | time | rows/s |")
    print("|---|---:|---:|")
    if rows_line:
        print(rows_line)
    print(f"| bare Polars scan (read and sum the analysed columns) | {t_bare:.1f} s | {n / t_bare:,.0f} |")
    print(f"| Polars analysis: SQL sessions | {t_sql:.1f} s | {n / t_sql:,.0f} |")
    print(f"| Polars analysis: per-pack figures (incl. RUL fits) | {t_packs:.1f} s | |")
    print(f"| Polars analysis, whole | {t_polars:.1f} s | {n / t_polars:,.0f} ({t_bare / t_polars:.2f}× the bare scan) |")
    if not a.no_spark:
        for cores in [int(c) for c in a.spark_cores.split(",")]:
            for parts in [int(p) for p in a.spark_partitions.split(",")]:
                t = time.perf_counter()
                spark = spark_session(f"local[{cores}]", shuffle_partitions=parts)
                t_start = time.perf_counter() - t
                t = time.perf_counter()
                s2 = sessions_spark(root, spark)
                t_sp = time.perf_counter() - t
                spark.stop()
                try:  # the same session table as Polars' (the test's tolerance), not only as many rows
                    assert_frame_equal(sessions, s2, check_exact=False, rel_tol=1e-9, abs_tol=1e-9)
                    same = True
                except AssertionError:
                    same = False
                print(f"| Spark SQL sessions, local[{cores}], {parts} shuffle partitions (session start "
                      f"{t_start:.0f} s apart) | {t_sp:.1f} s | {n / t_sp:,.0f} ({'same' if same else 'DIFFERENT'} sessions) |")
    d = detection(df, root)
    st = pl.read_csv(root / "_truth_state.csv")
    j = df.join(st, on="pack_id").filter(pl.col("soh_pct").is_not_null())
    err = (j["soh_pct"] - j["soh_end_pct"]).abs()
    print(f"\nfault detection: recall {d['recall']:.3f}, precision {d['precision']:.3f} ({d['injected']} injected, "
          f"{d['false_flags']} false flags); per kind: "
          + ", ".join(f"{k} {d['recall_' + k]:.2f}" for k in FAULTS))
    print(f"state of health: {j.height} of {df.height} packs with an estimate; |error| vs the generator's: median "
          f"{float(err.median()):.2f} %, p95 {float(err.quantile(0.95)):.2f} %")  # type: ignore[arg-type]


if __name__ == "__main__":
    main()
