"""The canonical cycler time series every reader produces, and its Parquet form.

One row per recorded data point, whatever the cycler. Units are in the column names:

==========================  =============================================================
column                      meaning
==========================  =============================================================
``time_s``                  seconds since the start of the series (float)
``timestamp``               the data point's time, timezone-aware UTC (may be null)
``cycle``                   the cycler's cycle counter (int; kept as the cycler counts)
``step``                    the cycler's step counter (int, may be null)
``current_a``               current in A, **positive on charge**, negative on discharge
``voltage_v``               cell or pack voltage in V
``charge_capacity_ah``      charge put in since the start of the series (Ah, non-decreasing)
``discharge_capacity_ah``   charge taken out since the start of the series (Ah, non-decreasing)
``charge_energy_wh``        energy put in since the start (Wh, non-decreasing)
``discharge_energy_wh``     energy taken out since the start (Wh, non-decreasing)
``temperature_c``           cell temperature in degrees Celsius (may be null)
``internal_resistance_ohm`` internal resistance where the cycler measured it (null otherwise)
==========================  =============================================================

Capacity and energy are cumulative *over the whole series* (cyclers reset their counters per
step, cycle or file; readers turn those counters into one running total), so a cycle's capacity
is the difference of the running total across the cycle, and throughput is the last value.
Ah, Wh and degrees Celsius are used instead of C, J and K because every cycler and every
standard in the field (EU 2023/1542 Annex VII, IEC 62660) states them that way.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import polars as pl
import pyarrow.parquet as pq

from batteryloop.health.errors import HealthError

SCHEMA: dict[str, pl.DataType] = {
    "time_s": pl.Float64(),
    "timestamp": pl.Datetime("us", "UTC"),
    "cycle": pl.Int64(),
    "step": pl.Int64(),
    "current_a": pl.Float64(),
    "voltage_v": pl.Float64(),
    "charge_capacity_ah": pl.Float64(),
    "discharge_capacity_ah": pl.Float64(),
    "charge_energy_wh": pl.Float64(),
    "discharge_energy_wh": pl.Float64(),
    "temperature_c": pl.Float64(),
    "internal_resistance_ohm": pl.Float64(),
}
COLUMNS: tuple[str, ...] = tuple(SCHEMA)
_CUMULATIVE = ("charge_capacity_ah", "discharge_capacity_ah", "charge_energy_wh", "discharge_energy_wh")
_PARQUET_KEY = b"batteryloop.health"


@dataclass
class CyclerData:
    """A canonical time series plus what is known about where it came from.

    ``source_format`` is one of the reader names (``arbin_csv``, ``maccor``, ``novonix``,
    ``biologic``, ``arbin_xlsx``, ``bdf``); ``metadata`` holds header facts the file states
    (nominal capacity, protocol, channel, settings of a Biologic ``.mpl``...).
    """

    frame: pl.DataFrame
    source_format: str
    source_paths: list[str] = field(default_factory=list)
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def rows(self) -> int:
        return self.frame.height

    @property
    def cycles(self) -> list[int]:
        return self.frame.get_column("cycle").unique(maintain_order=True).to_list()


def conform(frame: pl.DataFrame) -> pl.DataFrame:
    """Return ``frame`` with exactly the canonical columns, order and types (missing ones null)."""
    exprs = []
    for name, dtype in SCHEMA.items():
        if name in frame.columns:
            e = pl.col(name).cast(dtype)
            if dtype == pl.Float64():
                e = e.fill_nan(None)
            exprs.append(e)
        else:
            exprs.append(pl.lit(None, dtype=dtype).alias(name))
    return frame.select(exprs)


def increments(counter: np.ndarray, segments: np.ndarray | None = None) -> np.ndarray:
    """Per-row increments of a cycler counter that resets (per step, cycle or file).

    A reset is a drop to at most half the previous value, or a change of ``segments`` (e.g. the
    step number) when given; the increment at a reset is the new counter value (counting since
    the reset). Small negative jitter is clipped to zero. NaN counts as no change.
    """
    v = np.nan_to_num(np.abs(np.asarray(counter, dtype=np.float64)), nan=0.0)
    if v.size == 0:
        return v
    prev = np.concatenate(([0.0], v[:-1]))
    diff = v - prev
    reset = (v < prev) & (v <= 0.5 * prev)
    if segments is not None:
        seg = np.asarray(segments)
        changed = np.concatenate(([True], seg[1:] != seg[:-1]))
        reset |= changed
    out = np.where(reset, v, np.maximum(diff, 0.0))
    out[0] = v[0]
    return out


def integrate_charge(time_s: np.ndarray, current_a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-row charge (Ah) put in and taken out, by trapezoidal coulomb counting of ``current_a``."""
    t = np.asarray(time_s, dtype=np.float64)
    i = np.nan_to_num(np.asarray(current_a, dtype=np.float64))
    dt = np.diff(t, prepend=t[:1])
    dt = np.where(dt > 0, dt, 0.0)
    mid = 0.5 * (i + np.concatenate((i[:1], i[:-1])))
    dq = mid * dt / 3600.0
    return np.where(dq > 0, dq, 0.0), np.where(dq < 0, -dq, 0.0)


def integrate_energy(
    time_s: np.ndarray, current_a: np.ndarray, voltage_v: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Per-row energy (Wh) put in and taken out, by trapezoidal integration of V·I."""
    v = np.nan_to_num(np.asarray(voltage_v, dtype=np.float64))
    p = np.nan_to_num(np.asarray(current_a, dtype=np.float64)) * v
    return integrate_charge(time_s, p)


def cumulative_columns(
    charge_ah: np.ndarray, discharge_ah: np.ndarray, charge_wh: np.ndarray, discharge_wh: np.ndarray
) -> dict[str, np.ndarray]:
    """Running totals from per-row increments, under the canonical column names."""
    return {
        "charge_capacity_ah": np.cumsum(charge_ah),
        "discharge_capacity_ah": np.cumsum(discharge_ah),
        "charge_energy_wh": np.cumsum(charge_wh),
        "discharge_energy_wh": np.cumsum(discharge_wh),
    }


def concat(parts: Sequence[CyclerData]) -> CyclerData:
    """One cell's history from several files, in the order given.

    Cycle numbers continue across files (a file whose counter restarts at 1 follows the last
    cycle of the one before), running totals carry over, and ``time_s`` counts from the first
    file's start (by timestamps when every part has them, else by adding each file's duration).
    """
    if not parts:
        raise HealthError("no files to concatenate")
    frames: list[pl.DataFrame] = []
    last_cycle: int | None = None
    offsets = dict.fromkeys(_CUMULATIVE, 0.0)
    time_offset = 0.0
    t0 = None
    use_timestamps = all(p.frame.height and p.frame.get_column("timestamp").null_count() == 0 for p in parts)
    if use_timestamps:
        t0 = min(p.frame.get_column("timestamp").min() for p in parts)  # type: ignore[type-var]
    for part in parts:
        f = part.frame
        if f.height == 0:
            continue
        first_cycle = int(f.get_column("cycle").min())  # type: ignore[arg-type]
        shift = 0 if last_cycle is None else last_cycle + 1 - first_cycle
        exprs = [pl.col("cycle") + shift]
        for name in _CUMULATIVE:
            exprs.append(pl.col(name) + offsets[name])
        if use_timestamps:
            exprs.append(((pl.col("timestamp") - pl.lit(t0)).dt.total_microseconds() / 1e6).alias("time_s"))
        else:
            exprs.append(pl.col("time_s") - f.get_column("time_s").min() + time_offset)
        g = f.with_columns(exprs)
        frames.append(g)
        last_cycle = int(g.get_column("cycle").max())  # type: ignore[arg-type]
        for name in _CUMULATIVE:
            offsets[name] = float(g.get_column(name).max() or offsets[name])
        time_offset = float(g.get_column("time_s").max()) + 1e-3  # type: ignore[arg-type]
    formats = sorted({p.source_format for p in parts})
    return CyclerData(
        frame=pl.concat(frames) if frames else conform(pl.DataFrame()),
        source_format=formats[0] if len(formats) == 1 else "+".join(formats),
        source_paths=[s for p in parts for s in p.source_paths],
        metadata={"parts": [p.metadata for p in parts]},
    )


def write_parquet(data: CyclerData, path: str | Path) -> None:
    """Write the canonical series to Parquet, with its provenance in the file's key-value metadata."""
    table = conform(data.frame).to_arrow()
    meta = {
        "source_format": data.source_format,
        "source_paths": data.source_paths,
        "metadata": data.metadata,
    }
    table = table.replace_schema_metadata(
        {**(table.schema.metadata or {}), _PARQUET_KEY: orjson.dumps(meta, default=str)}
    )
    pq.write_table(table, str(path), compression="zstd")


def read_parquet(path: str | Path) -> CyclerData:
    """Read a series written by :func:`write_parquet` (or any Parquet file with the canonical columns)."""
    table = pq.read_table(str(path))
    raw = (table.schema.metadata or {}).get(_PARQUET_KEY)
    meta = orjson.loads(raw) if raw else {}
    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)
    missing = [c for c in ("time_s", "cycle", "current_a", "voltage_v") if c not in frame.columns]
    if missing:
        raise HealthError(f"{path}: not a canonical cycler series, missing columns {missing}")
    return CyclerData(
        frame=conform(frame),
        source_format=meta.get("source_format", "parquet"),
        source_paths=meta.get("source_paths", [str(path)]),
        metadata=meta.get("metadata", {}),
    )
