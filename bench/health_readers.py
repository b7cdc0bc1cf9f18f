"""Reader throughput per format on the real shared files: rows/s and MB/s, next to a bare
``polars.read_csv`` of the same bytes (the floor any reader pays), and TRI beep when a separate
environment with beep is given (``BEEP_PYTHON=/path/to/venv/bin/python``; beep is never installed
in the project's environment).

    .venv/bin/python bench/health_readers.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import polars as pl

from batteryloop.health.readers import read_cycler_file
from batteryloop.health.summary import cycle_summary

SHARED = Path(os.environ.get("BATTERYLOOP_SHARED", Path(__file__).resolve().parents[2] / "shared"))
CY = SHARED / "data" / "cyclers"
FILES = [
    ("arbin_csv", CY / "FastCharge_000025_CH8.csv", ",", 0),
    ("maccor", CY / "PreDiag_000229_000229_truncated.034", "\t", 1),
    ("novonix", CY / "test_Nova_Form-CH01-01_short.csv", None, 0),
    ("biologic", CY / "test_loopsnewoutput_MB_CE1_short10k.csv", ";", 0),
    ("arbin_xlsx", SHARED / "data" / "calce" / "CS2_36" / "CS2_36_9_7_10.xlsx", None, 0),
]

BEEP_SNIPPET = r"""
import sys, time, json
from beep.structure.cli import auto_load
path = sys.argv[1]
t = time.perf_counter(); d = auto_load(path); d.structure(); dt = time.perf_counter() - t
s = d.structured_summary
out = {"seconds": dt}
for col in ("discharge_capacity", "charge_capacity"):
    if s is not None and col in s:
        out[col] = [float(x) for x in s[col].tolist()]
print(json.dumps(out))
"""


def best(fn, repeat: int) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def bare(path: Path, sep: str | None, skip: int) -> None:
    if sep is None:
        if path.suffix == ".xlsx":
            import fastexcel

            r = fastexcel.read_excel(path)
            r.load_sheet_by_name([n for n in r.sheet_names if n.startswith("Channel")][0]).to_polars()
            return
        text = path.read_text(encoding="utf-8")
        pl.read_csv(io.StringIO(text.split("[Data]\n", 1)[1].replace('"', "")))
        return
    pl.read_csv(path, separator=sep, skip_rows=skip, infer_schema_length=10000, truncate_ragged_lines=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    beep_py = os.environ.get("BEEP_PYTHON")
    print(f"{'format':11s} {'rows':>7s} {'MB':>6s} {'ours ms':>8s} {'rows/s':>10s} {'MB/s':>6s} {'bare ms':>8s} {'ours/bare':>9s} {'beep ms':>8s} {'speed-up':>8s}")
    for fmt, path, sep, skip in FILES:
        data = read_cycler_file(path)
        assert data.source_format == fmt
        mb = path.stat().st_size / 1e6
        ours = best(lambda: read_cycler_file(path), args.repeat)
        floor = best(lambda: bare(path, sep, skip), args.repeat)
        beep_ms = "-"
        speed = "-"
        if beep_py and fmt != "arbin_xlsx":
            try:
                res = subprocess.run([beep_py, "-c", BEEP_SNIPPET, str(path)], capture_output=True, text=True, timeout=600)
                out = json.loads(res.stdout.strip().splitlines()[-1])
                beep_ms = f"{out['seconds'] * 1000:.0f}"
                speed = f"{out['seconds'] / ours:.0f}x"
                ours_q = cycle_summary(data)["discharge_capacity_ah"].to_list()
                print(f"  beep discharge capacities {out.get('discharge_capacity')} vs ours {ours_q}", file=sys.stderr)
            except Exception as exc:  # beep fails on some files; say so rather than stop
                beep_ms = f"fail:{exc.__class__.__name__}"
        print(
            f"{fmt:11s} {data.rows:7d} {mb:6.2f} {ours * 1000:8.1f} {data.rows / ours:10.0f} {mb / ours:6.1f} "
            f"{floor * 1000:8.1f} {ours / floor:9.2f} {beep_ms:>8s} {speed:>8s}"
        )
    files = sorted((SHARED / "data" / "calce" / "CS2_36").glob("*.xlsx"))
    from batteryloop.health.readers import read_cell

    t = time.perf_counter()
    cell = read_cell(files, sort_by_time=True)
    dt = time.perf_counter() - t
    mb = sum(f.stat().st_size for f in files) / 1e6
    print(f"CALCE CS2_36 whole life: {len(files)} workbooks, {cell.rows} rows, {mb:.1f} MB in {dt:.2f} s ({cell.rows / dt:.0f} rows/s)")


if __name__ == "__main__":
    main()
