"""Per-cycle summaries of a canonical series: capacity, energy, efficiencies, temperatures,
resistance, and the lifetime counters of EU 2023/1542 Annex VII Part B (energy throughput,
capacity throughput, number of full equivalent cycles).

Definitions (IEC 62660-1 and common practice):

- charge / discharge capacity (Ah) and energy (Wh) of a cycle: what went in and out during it;
- coulombic efficiency = discharge capacity / charge capacity of the same cycle;
- energy efficiency (round-trip) = discharge energy / charge energy of the same cycle;
- capacity throughput (Ah) = charge + discharge capacity, accumulated; energy throughput likewise;
- full equivalent cycles = capacity throughput / (2 × rated capacity).

A cycle without charge or discharge (a rest, a formation step, a charge with a short discharge
pulse) has efficiencies null, never 0 or
an invented value.
"""

from __future__ import annotations

import polars as pl

from batteryloop.health.errors import InsufficientDataError
from batteryloop.health.timeseries import CyclerData

SUMMARY_COLUMNS: tuple[str, ...] = (
    "cycle",
    "rows",
    "start_time_s",
    "end_time_s",
    "duration_s",
    "start_timestamp",
    "charge_capacity_ah",
    "discharge_capacity_ah",
    "charge_energy_wh",
    "discharge_energy_wh",
    "coulombic_efficiency",
    "energy_efficiency",
    "min_voltage_v",
    "max_voltage_v",
    "max_charge_current_a",
    "max_discharge_current_a",
    "mean_temperature_c",
    "min_temperature_c",
    "max_temperature_c",
    "internal_resistance_ohm",
    "capacity_throughput_ah",
    "energy_throughput_wh",
    "full_equivalent_cycles",
)

#: below this, a cycle's charge or discharge counts as absent (Ah, Wh)
MIN_MEANINGFUL_AH = 1e-6
#: a cycle has efficiencies only if its smaller direction is at least this fraction of the larger
MIN_BOTH_WAYS_FRACTION = 0.1


def _delta(name: str) -> pl.Expr:
    return pl.col(name).diff().fill_null(pl.col(name).first()).clip(lower_bound=0.0)


def _both_ways(a: str, b: str) -> pl.Expr:
    """A cycle has an efficiency only if it went both ways: each direction at least
    :data:`MIN_BOTH_WAYS_FRACTION` of the other (a charge with a tiny discharge pulse has none)."""
    lo = pl.min_horizontal(a, b)
    hi = pl.max_horizontal(a, b)
    return (lo > MIN_MEANINGFUL_AH) & (lo >= MIN_BOTH_WAYS_FRACTION * hi)


def cycle_summary(data: CyclerData | pl.DataFrame, rated_capacity_ah: float | None = None) -> pl.DataFrame:
    """One row per cycle, in the order cycles appear (columns :data:`SUMMARY_COLUMNS`).

    ``rated_capacity_ah`` scales full equivalent cycles; when None it is estimated by
    :func:`estimate_rated_capacity_ah` and the column stays null if that fails.
    """
    frame = data.frame if isinstance(data, CyclerData) else data
    if frame.height == 0:
        raise InsufficientDataError("the series has no rows")
    rows = frame.with_columns(
        _delta("charge_capacity_ah").alias("_qc"),
        _delta("discharge_capacity_ah").alias("_qd"),
        _delta("charge_energy_wh").alias("_ec"),
        _delta("discharge_energy_wh").alias("_ed"),
    )
    s = rows.group_by("cycle", maintain_order=True).agg(
        pl.len().alias("rows"),
        pl.col("time_s").first().alias("start_time_s"),
        pl.col("time_s").last().alias("end_time_s"),
        pl.col("timestamp").first().alias("start_timestamp"),
        pl.col("_qc").sum().alias("charge_capacity_ah"),
        pl.col("_qd").sum().alias("discharge_capacity_ah"),
        pl.col("_ec").sum().alias("charge_energy_wh"),
        pl.col("_ed").sum().alias("discharge_energy_wh"),
        pl.col("voltage_v").min().alias("min_voltage_v"),
        pl.col("voltage_v").max().alias("max_voltage_v"),
        pl.col("current_a").max().clip(lower_bound=0.0).alias("max_charge_current_a"),
        (-pl.col("current_a").min()).clip(lower_bound=0.0).alias("max_discharge_current_a"),
        pl.col("temperature_c").mean().alias("mean_temperature_c"),
        pl.col("temperature_c").min().alias("min_temperature_c"),
        pl.col("temperature_c").max().alias("max_temperature_c"),
        pl.col("internal_resistance_ohm").drop_nulls().median().alias("internal_resistance_ohm"),
    )
    ok_q = _both_ways("charge_capacity_ah", "discharge_capacity_ah")
    ok_e = _both_ways("charge_energy_wh", "discharge_energy_wh")
    s = s.with_columns(
        (pl.col("end_time_s") - pl.col("start_time_s")).alias("duration_s"),
        pl.when(ok_q).then(pl.col("discharge_capacity_ah") / pl.col("charge_capacity_ah")).alias("coulombic_efficiency"),
        pl.when(ok_e).then(pl.col("discharge_energy_wh") / pl.col("charge_energy_wh")).alias("energy_efficiency"),
        (pl.col("charge_capacity_ah") + pl.col("discharge_capacity_ah")).cum_sum().alias("capacity_throughput_ah"),
        (pl.col("charge_energy_wh") + pl.col("discharge_energy_wh")).cum_sum().alias("energy_throughput_wh"),
    )
    rated = rated_capacity_ah if rated_capacity_ah is not None else estimate_rated_capacity_ah(s)
    fec = (pl.col("capacity_throughput_ah") / (2.0 * rated)) if rated else pl.lit(None, pl.Float64)
    s = s.with_columns(fec.alias("full_equivalent_cycles"))
    return s.select(SUMMARY_COLUMNS)


def estimate_rated_capacity_ah(summary: pl.DataFrame, first_cycles: int = 10) -> float | None:
    """A stand-in for the rated capacity when none is given: the largest discharge capacity among
    the first ``first_cycles`` cycles that discharged at all (None if none did)."""
    q = summary.filter(pl.col("discharge_capacity_ah") > MIN_MEANINGFUL_AH).head(first_cycles)
    if q.height == 0:
        return None
    return float(q.get_column("discharge_capacity_ah").max())  # type: ignore[arg-type]


def full_cycles(summary: pl.DataFrame, min_fraction: float = 0.5, reference_ah: float | None = None) -> pl.DataFrame:
    """The cycles that are real charge–discharge cycles: discharge capacity at least
    ``min_fraction`` of ``reference_ah`` (default: the series' largest discharge capacity).

    Check-ups, partial cycles and rests drop out, as capacity-fade analyses need.
    """
    ref = reference_ah if reference_ah is not None else summary.get_column("discharge_capacity_ah").max()
    if not ref:
        return summary.head(0)
    return summary.filter(pl.col("discharge_capacity_ah") >= min_fraction * float(ref))  # type: ignore[arg-type]
