"""Fleet CSV exports into the Parquet layout (``batteryloop fleet import``): all files checked, then written.

Each file is read by :func:`batteryloop.fleet.csvread.read_telemetry_csv`; if any file has an error nothing is
written (the report says which file, row and column). Otherwise the samples are split by UTC day and vehicle bucket
and each partition is written atomically; a partition that exists already is merged with the new rows (a vehicle's
sample at the same time is kept once) so that several exports of one fleet can be imported one after another.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import polars as pl

from .csvread import read_telemetry_csv
from .layout import DEFAULT_BUCKETS, FleetLayout, bucket_of, partition_path, read_registry, write_partition
from .validate import ValidationReport


def import_csvs(files: list[Path], out: Path, packs: Path, *, tz: str = "UTC", discharge_positive: bool = False,
                segment: str | None = None, interval_s: float = 60.0, buckets: int = DEFAULT_BUCKETS) -> dict[str, Any]:
    read_registry(packs)  # a registry without its columns is refused before anything is written
    rep = ValidationReport()
    frames = []
    for f in files:
        df, r = read_telemetry_csv(f, tz=tz, discharge_positive=discharge_positive, segment=segment,
                                   interval_s=interval_s)
        rep.extend(r)
        frames.append(df)
    if not rep.ok:
        return {"ok": False, "written": 0, **rep.to_dict()}
    out = Path(out)
    if (out / "_layout.json").is_file():
        buckets = FleetLayout.read(out).buckets  # an existing folder keeps its buckets
    else:
        FleetLayout(buckets=buckets, interval_s=interval_s).write(out)
    tmp_packs = out / "_packs.csv.tmp"
    shutil.copyfile(packs, tmp_packs)
    tmp_packs.replace(out / "_packs.csv")
    data = pl.concat(frames)
    vids = data["vehicle_id"].unique().to_list()
    data = data.with_columns(
        pl.col("timestamp").dt.date().cast(pl.String).alias("_day"),
        pl.col("vehicle_id").replace_strict(vids, [bucket_of(v, buckets) for v in vids], return_dtype=pl.Int64)
        .alias("_bucket"))  # the hash once per vehicle, not once per sample
    written = 0
    for (day, b), part in data.group_by(["_day", "_bucket"], maintain_order=True):
        dest = partition_path(out, str(day), int(b))  # type: ignore[arg-type]
        part = part.drop("_day", "_bucket")
        if dest.is_file():
            part = pl.concat([pl.read_parquet(dest), part]).unique(["vehicle_id", "timestamp"], keep="first")
        write_partition(part.sort("vehicle_id", "timestamp"), out, str(day), int(b))  # type: ignore[arg-type]
        written += part.height
    return {"ok": True, "written": written, "folder": str(out), **rep.to_dict()}
