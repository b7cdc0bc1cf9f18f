"""The fleet analysis of this checkout against another's (e.g. main's) on one fleet folder: the same session table and
the same per-pack table, compared bit by bit, and the CPU and wall time of each beside a bare Polars scan, interleaved.

    nice -n 10 .venv/bin/python bench/fleet_compare.py DIR [--ref-src /work/main/src] [--rounds 3]

The other checkout's ``batteryloop/fleet/analysis.py`` is loaded beside this one's (both use this checkout's other
modules). Floats are compared by their bits (a NaN equals a NaN, nulls must match); prints the columns that differ
(none when the change kept the results), then per round the CPU and wall seconds of the bare scan (every column
the analysis reads, decoded and summed, as in ``bench/fleet_analyze.py``) and of each analysis (sessions then the
per-pack figures), and the ratios to the bare scan.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from batteryloop.fleet import analysis as this
from batteryloop.fleet.layout import read_packs, telemetry_files


def load_other(src: Path) -> Any:
    path = src / "batteryloop" / "fleet" / "analysis.py"
    if not path.is_file():
        raise SystemExit(f"{path}: no fleet analysis there (give --ref-src the other checkout's src folder)")
    spec = importlib.util.spec_from_file_location("batteryloop.fleet._reference_analysis", path)
    mod = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    sys.modules[spec.name] = mod  # type: ignore[union-attr]
    spec.loader.exec_module(mod)  # type: ignore[union-attr]
    return mod


def differing(a: pl.DataFrame, b: pl.DataFrame) -> list[str]:
    """The columns of ``a`` and ``b`` that are not the same to the bit (or a note when the shapes differ)."""
    if a.columns != b.columns or a.height != b.height:
        return [f"shape: {a.height} × {a.columns} against {b.height} × {b.columns}"]
    out = []
    for c in a.columns:
        x, y = a[c], b[c]
        if x.dtype != y.dtype:
            out.append(f"{c} (type {x.dtype} against {y.dtype})")
        elif x.dtype == pl.Float64:
            xa, ya = x.to_numpy(), y.to_numpy()
            same = (xa.view(np.int64) == ya.view(np.int64)) | (np.isnan(xa) & np.isnan(ya))
            if not (bool(same.all()) and x.is_null().equals(y.is_null())):
                out.append(f"{c} ({int((~same).sum())} values)")
        elif not x.equals(y):
            out.append(c)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("dir", type=Path)
    ap.add_argument("--ref-src", type=Path, default=Path("/work/main/src"))
    ap.add_argument("--rounds", type=int, default=3)
    a = ap.parse_args()
    other = load_other(a.ref_src)
    root, files = a.dir, telemetry_files(a.dir)

    def bare() -> pl.DataFrame:
        return pl.scan_parquet(files).select(pl.len(), *[pl.col(c).cast(pl.Float64).sum() for c in this.NUMERIC_COLUMNS],
                                             pl.col("timestamp").max(), pl.col("pack_id").n_unique()).collect()

    def analysis(mod: Any) -> tuple[pl.DataFrame, pl.DataFrame]:
        s = mod.sessions_polars(root)
        return s, mod.pack_figures(s, read_packs(root))

    load0 = os.getloadavg()[0]
    times: dict[str, list[tuple[float, float]]] = {"bare": [], "reference": [], "this": []}
    results = {}
    for _ in range(a.rounds):
        for name, fn in (("bare", bare), ("reference", lambda: analysis(other)), ("this", lambda: analysis(this))):
            c, w = time.process_time(), time.perf_counter()
            out = fn()
            times[name].append((time.process_time() - c, time.perf_counter() - w))
            results[name] = out
    (s_ref, p_ref), (s_this, p_this) = results["reference"], results["this"]
    print(f"fleet {root}: {s_this.height:,} sessions, {p_this.height} packs; reference {a.ref_src}; load average "
          f"{load0:.1f} at the start, {os.getloadavg()[0]:.1f} at the end")
    print("session table, columns differing:", differing(s_ref, s_this) or "none")
    print("per-pack table, columns differing:", differing(p_ref, p_this) or "none")
    for name, v in times.items():
        print(f"{name}: CPU " + ", ".join(f"{c:.2f}" for c, _ in v) + " s; wall " + ", ".join(f"{w:.2f}" for _, w in v) + " s")
    for name in ("reference", "this"):
        print(f"{name}, whole analysis × the bare scan (CPU; wall): " + ", ".join(
            f"{b[0] / x[0]:.3f}; {b[1] / x[1]:.3f}" for b, x in zip(times["bare"], times[name])))


if __name__ == "__main__":
    main()
