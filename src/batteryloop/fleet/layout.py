"""The BMS telemetry layout: one Parquet row per vehicle per sample, hive-partitioned by day and vehicle bucket.

A fleet folder holds::

    DIR/_layout.json                      schema version, number of buckets, sample interval
    DIR/_packs.csv                        the pack registry: pack_id, vehicle_id, segment, chemistry,
                                          rated_capacity_ah, rated_energy_kwh, nominal_voltage_v,
                                          cells_in_series, cells_in_parallel, first_use_date
    DIR/date=YYYY-MM-DD/bucket=NN/part-0.parquet   the samples of that UTC day and vehicle bucket

A vehicle's bucket is ``crc32(vehicle_id) mod buckets``: stable across runs, engines and languages, so that one
vehicle's whole history is in one bucket (the unit of work of :mod:`batteryloop.fleet.analysis`) and a day's
files stay small. Files whose names start with ``_`` are not telemetry (Spark and Hive skip them).

The columns (:data:`COLUMNS`), units in the names, times timezone-aware UTC. ``pack_current_a`` is positive into
the pack (charging, regenerative braking) and negative out of it (driving), as ISO 6469/SAE J1797 test
conventions count charge. ``charging_state`` is ``not_charging``, ``ac`` or ``dc`` as the on-board charger or
the DC inlet reports it. The validator (:mod:`batteryloop.fleet.validate`) and the CSV reader
(:mod:`batteryloop.fleet.csvread`) check and produce exactly this.
"""

from __future__ import annotations

import json
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

SCHEMA_VERSION = 1
DEFAULT_BUCKETS = 16
CHARGING_STATES = ("not_charging", "ac", "dc")

#: column → (Polars type, unit or meaning, allowed range (low, high) or None)
COLUMNS: dict[str, tuple[Any, str, tuple[float, float] | None]] = {
    "timestamp": (pl.Datetime("us", "UTC"), "sample time, UTC", None),
    "vehicle_id": (pl.String, "the vehicle (VIN or fleet number)", None),
    "pack_id": (pl.String, "the traction pack (its passport id where it has one)", None),
    "segment": (pl.String, "car, taxi, bus, truck or two_wheeler", None),
    "pack_current_a": (pl.Float32, "A, positive into the pack (charging)", (-3000.0, 3000.0)),
    "pack_voltage_v": (pl.Float32, "V, at the pack terminals", (0.0, 1500.0)),
    "soc_pct": (pl.Float32, "%, the BMS's state of charge", (0.0, 100.0)),
    "cell_voltage_min_v": (pl.Float32, "V, the lowest cell", (1.5, 5.0)),
    "cell_voltage_max_v": (pl.Float32, "V, the highest cell", (1.5, 5.0)),
    "cell_index_min": (pl.Int16, "index (from 1) of the lowest cell in series", (1.0, 1000.0)),
    "cell_index_max": (pl.Int16, "index (from 1) of the highest cell in series", (1.0, 1000.0)),
    "temperature_min_c": (pl.Float32, "°C, the coldest sensor", (-40.0, 90.0)),
    "temperature_max_c": (pl.Float32, "°C, the hottest sensor", (-40.0, 90.0)),
    "odometer_km": (pl.Float64, "km", (0.0, 5_000_000.0)),
    "charging_state": (pl.String, "not_charging, ac or dc", None),
}
SCHEMA = pl.Schema({k: v[0] for k, v in COLUMNS.items()})

PACK_COLUMNS = {"pack_id": pl.String, "vehicle_id": pl.String, "segment": pl.String, "chemistry": pl.String,
                "rated_capacity_ah": pl.Float64, "rated_energy_kwh": pl.Float64, "nominal_voltage_v": pl.Float64,
                "cells_in_series": pl.Int64, "cells_in_parallel": pl.Int64, "first_use_date": pl.String}


def bucket_of(vehicle_id: str, buckets: int) -> int:
    """The vehicle's bucket: CRC-32 of its id (UTF-8) modulo the number of buckets."""
    return zlib.crc32(vehicle_id.encode()) % buckets


@dataclass(frozen=True)
class FleetLayout:
    """A fleet folder's ``_layout.json``."""

    buckets: int = DEFAULT_BUCKETS
    interval_s: float = 60.0
    schema_version: int = SCHEMA_VERSION

    def write(self, root: Path) -> None:
        root.mkdir(parents=True, exist_ok=True)
        (root / "_layout.json").write_text(json.dumps({"schema_version": self.schema_version, "buckets": self.buckets,
                                                        "interval_s": self.interval_s,
                                                        "columns": {k: v[1] for k, v in COLUMNS.items()}}, indent=1))

    @classmethod
    def read(cls, root: Path) -> FleetLayout:
        f = Path(root) / "_layout.json"
        if not f.is_file():
            raise FileNotFoundError(f"{root} is not a fleet telemetry folder: it has no _layout.json (write one with "
                                    "`batteryloop fleet simulate` or `batteryloop fleet import`)")
        d = json.loads(f.read_text())
        return cls(buckets=int(d["buckets"]), interval_s=float(d["interval_s"]), schema_version=int(d["schema_version"]))


def partition_path(root: Path, day: str, bucket: int) -> Path:
    return Path(root) / f"date={day}" / f"bucket={bucket:02d}" / "part-0.parquet"


def telemetry_files(root: Path) -> list[Path]:
    """The telemetry files of a fleet folder, in partition order."""
    return sorted(Path(root).glob("date=*/bucket=*/*.parquet"))


def bucket_files(root: Path) -> dict[int, list[Path]]:
    """The telemetry files of each vehicle bucket (a bucket holds whole vehicle histories)."""
    out: dict[int, list[Path]] = {}
    for f in telemetry_files(root):
        out.setdefault(int(f.parent.name.split("=", 1)[1]), []).append(f)
    return dict(sorted(out.items()))


def write_partition(frame: pl.DataFrame, root: Path, day: str, bucket: int) -> Path:
    """Write one day-bucket file atomically (a temporary name, then a rename): no half-written partition."""
    dest = partition_path(root, day, bucket)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_suffix(".tmp")
    frame.select(list(COLUMNS)).cast(dict(SCHEMA)).write_parquet(tmp, compression="zstd", statistics=True)
    tmp.replace(dest)
    return dest


def read_packs(root: Path) -> pl.DataFrame:
    """The pack registry of a fleet folder (``_packs.csv``)."""
    f = Path(root) / "_packs.csv"
    if not f.is_file():
        raise FileNotFoundError(f"{root} has no _packs.csv (the pack registry: {', '.join(PACK_COLUMNS)})")
    return read_registry(f)


def read_registry(f: Path) -> pl.DataFrame:
    """A pack registry CSV with the columns of :data:`PACK_COLUMNS` (a missing column is refused by name)."""
    f = Path(f)
    if not f.is_file():
        raise FileNotFoundError(f"no pack registry at {f}: give a CSV with the columns {', '.join(PACK_COLUMNS)}")
    df = pl.read_csv(f, schema_overrides=PACK_COLUMNS)
    missing = [c for c in PACK_COLUMNS if c not in df.columns]
    if missing:
        raise ValueError(f"{f}: missing column(s) {', '.join(missing)}; the pack registry has {', '.join(PACK_COLUMNS)}")
    return df.select(list(PACK_COLUMNS))
