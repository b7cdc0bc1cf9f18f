"""Fleet telemetry analysis: rows per second per engine beside a bare Polars scan, Spark against cores and
partitions, and fault detection against the generator's truth.

    nice -n 10 .venv/bin/python bench/fleet_analyze.py [--vehicles 1000] [--days 30] [--interval-s 60]
        [--dir /tmp/fleet-bench] [--spark-cores 1,2] [--spark-partitions 8,32] [--no-spark] [--rounds 3]

Every step is timed in wall time and in CPU time (this process's threads — Polars runs in them — plus, for Spark,
its JVM's: read from /proc), since on a shared machine wall time says more about the other processes than about
the step. Generates the fleet into ``--dir`` unless it holds one already (timed: the generator's rows per second), then,
``--rounds`` times interleaved (the load of a shared machine drifts; the round of median CPU is tabled, every round's
ratios printed): a bare Polars scan of the same files (every column the analysis reads, summed: the floor of reading
them) and the Polars analysis (goal: ≥ 0.3× the bare scan's rows per second); then the Spark analysis on ``local[C]`` for each
``--spark-cores`` C and ``--spark-partitions`` P (``spark.sql.shuffle.partitions``; the session start is timed
apart), and recall / precision of the flags against ``_truth.csv`` (goal ≥ 0.95 / ≥ 0.95), per fault kind too,
and the state of health's error against the generator's (``_truth_state.csv``). Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import polars as pl
from polars.testing import assert_frame_equal

from batteryloop.fleet.analysis import NUMERIC_COLUMNS, pack_figures, sessions_polars, sessions_spark, spark_session
from batteryloop.fleet.layout import read_packs, telemetry_files
from batteryloop.fleet.simulate import FAULTS, simulate


def _descendants_cpu_s() -> float:
    """CPU seconds (user + system) of this process's live descendants (the Spark JVM), from /proc."""
    tick = os.sysconf("SC_CLK_TCK")
    parent: dict[int, int] = {}
    cpu: dict[int, float] = {}
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                f = (d / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            parent[int(d.name)] = int(f[1])
            cpu[int(d.name)] = (int(f[11]) + int(f[12])) / tick
    mine, todo = set(), [os.getpid()]
    while todo:
        p = todo.pop()
        kids = [c for c, pp in parent.items() if pp == p]
        mine.update(kids)
        todo.extend(kids)
    return sum(cpu[c] for c in mine)


def timed(fn: Callable[[], Any], *, children: bool = False) -> tuple[Any, float, float]:
    """``fn()``, its wall seconds and its CPU seconds (all threads of this process; with ``children``, plus the
    descendants' — the Spark JVM)."""
    w, c, k = time.perf_counter(), time.process_time(), _descendants_cpu_s() if children else 0.0
    out = fn()
    cpu = time.process_time() - c + ((_descendants_cpu_s() - k) if children else 0.0)
    return out, time.perf_counter() - w, cpu


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
    ap.add_argument("--rounds", type=int, default=3, help="bare scan and Polars analysis, interleaved, this many times")
    a = ap.parse_args()
    root = a.dir
    rows_line = ""
    if not (root / "_layout.json").is_file():
        res, dt, cpu = timed(lambda: simulate(root, vehicles=a.vehicles, days=a.days, seed=a.seed, interval_s=a.interval_s))
        rows_line = (f"| generate ({a.vehicles} vehicles × {a.days} days, {a.interval_s:g} s) | {dt:.1f} s | {cpu:.1f} s | "
                     f"{res['rows'] / dt:,.0f} (CPU: {res['rows'] / cpu:,.0f}) |")
    files = telemetry_files(root)
    load0 = os.getloadavg()[0]
    rounds = []  # (bare, sessions, per-pack) each (wall, CPU), interleaved: the shared machine's load changes
    for _ in range(a.rounds):
        bare, t_bare, c_bare = timed(lambda: pl.scan_parquet(files).select(
            pl.len(), *[pl.col(c).cast(pl.Float64).sum() for c in NUMERIC_COLUMNS], pl.col("timestamp").max(),
            pl.col("pack_id").n_unique()).collect())
        sessions, t_sql, c_sql = timed(lambda: sessions_polars(root))
        df, t_packs, c_packs = timed(lambda: pack_figures(sessions, read_packs(root)))
        rounds.append(((t_bare, c_bare), (t_sql, c_sql), (t_packs, c_packs)))
    n = int(bare["len"][0])
    # the round whose whole analysis took the median CPU stands for all; every round's ratios are printed too
    rounds.sort(key=lambda r: r[1][1] + r[2][1])
    (t_bare, c_bare), (t_sql, c_sql), (t_packs, c_packs) = rounds[len(rounds) // 2]
    t_polars, c_polars = t_sql + t_packs, c_sql + c_packs
    print(f"\nfleet {root}: {n:,} rows in {len(files)} files, {df.height} packs, {sessions.height:,} sessions; "
          f"load average {load0:.1f} at the start, {os.getloadavg()[0]:.1f} at the end\n")
    if len(rounds) > 1:
        print("each round (bare scan, then the analysis), whole analysis × the bare scan (wall; CPU): " + ", ".join(
            f"{b[0] / (s[0] + k[0]):.2f}; {b[1] / (s[1] + k[1]):.2f}" for b, s, k in rounds)
            + "; sessions alone: " + ", ".join(f"{b[0] / s[0]:.2f}; {b[1] / s[1]:.2f}" for b, s, _ in rounds) + "\n")
    print("| step | wall | CPU | rows/s (wall; CPU) | × the bare scan (wall; CPU) |")
    print("|---|---:|---:|---:|---:|")
    if rows_line:
        print(rows_line + " |")

    def line(name: str, t: float, c: float, rate: bool = True) -> None:
        r = f"{n / t:,.0f}; {n / c:,.0f}" if rate else ""
        x = f"{t_bare / t:.2f}; {c_bare / c:.2f}" if rate else ""
        print(f"| {name} | {t:.1f} s | {c:.1f} s | {r} | {x} |")

    line("bare Polars scan (read and sum the analysed columns)", t_bare, c_bare)
    line("Polars analysis: sessions (the definition over samples)", t_sql, c_sql)
    line("Polars analysis: per-pack figures (incl. RUL fits)", t_packs, c_packs, rate=False)
    line("**Polars analysis, whole**", t_polars, c_polars)
    if not a.no_spark:
        for cores in [int(c) for c in a.spark_cores.split(",")]:
            for parts in [int(p) for p in a.spark_partitions.split(",")]:
                spark, t_start, _ = timed(lambda: spark_session(f"local[{cores}]", shuffle_partitions=parts), children=True)
                s2, t_sp, c_sp = timed(lambda: sessions_spark(root, spark), children=True)
                spark.stop()
                try:  # the same session table as Polars' (the test's tolerance), not only as many rows
                    assert_frame_equal(sessions, s2, check_exact=False, rel_tol=1e-9, abs_tol=1e-9)
                    same = "same sessions as Polars"
                except AssertionError:
                    same = "DIFFERENT sessions"
                line(f"Spark sessions, local[{cores}], {parts} shuffle partitions ({same}; session start "
                     f"{t_start:.0f} s apart)", t_sp, c_sp)
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
