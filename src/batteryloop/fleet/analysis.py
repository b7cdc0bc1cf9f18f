"""Per-pack health and fault analysis of fleet telemetry: one definition, run by Polars or by Apache Spark.

The work over samples is written once, as SQL (:data:`STEPS`: a list of named views, each a ``SELECT`` that both
Polars' ``SQLContext`` and Spark SQL run unchanged). It cuts each pack's samples into sessions (a run of one mode:
``dc``/``ac`` charging, ``drive`` when the odometer moves, ``rest`` when the current is below 2 % of the rated
capacity, ``idle`` otherwise; a gap starts a new session) and sums what the figures need per session. The engines
differ only in how they load the files and hand the session table back (:func:`sessions_polars`,
:func:`sessions_spark`); the per-pack figures are then computed from that table by :func:`pack_figures`, the same
Python for both. Polars runs bucket by bucket (a bucket holds whole vehicle histories: see :mod:`.layout`), so its
memory is one bucket's; Spark runs the whole folder on ``local[*]`` or any cluster.

Methods (per pack):

- **Capacity and state of health**: each charge session with ΔSoC ≥ :data:`MIN_DSOC_PCT` gives a capacity
  ``Ah charged / (ΔSoC / 100)`` (coulomb counting against the BMS's SoC, as in Plett, *Battery Management
  Systems* vol. 2, §4 "total-capacity estimation"); ``capacity_ah`` is their median, ``soh_pct`` = capacity / rated.
- **Resistance**: between consecutive samples of a drive session whose current changes by at least
  :data:`STEP_C_RATE` × rated Ah, ``ΔV/ΔI``; per session the least-squares slope Σ ΔV·ΔI / Σ ΔI², per pack the
  median (the DC resistance at the sample interval, ohmic plus the fast part of polarisation; cf. the HPPC pulse
  resistance of the USABC/INL Battery Test Manual).
- **Trend and remaining life**: the least-squares slope of the sessions' capacities over time (% of rated per 30
  days); the remaining life to :data:`EOL_SOH_PCT` from :func:`batteryloop.health.rul.forecast_eol` (curve fits
  with a bootstrap interval, on full equivalent cycles) where a pack has at least 10 capacity estimates, converted
  to days at the pack's cycles per day in the window.
- **Faults** (rules and thresholds in :data:`THRESHOLDS`, evidence columns named after them):
  ``self_discharge`` — the cell voltage spread grows during rests at mid/high SoC (mV per day of rest), a cell
  losing charge the others keep; ``weak_cell`` — the spread at low SoC (≤ 30 %) exceeds the spread at mid SoC
  (50–80 %) while not
  growing at rest (a cell of lower capacity dives at the bottom; the lowest cell's index is given);
  ``cooling_failure`` — the hottest sensor keeps rising under load above 33 °C, where liquid cooling holds it
  (K/min per C-rate², comparable between packs of any size); ``lithium_plating`` — after DC charges the rest voltage relaxes late: the drop from 10 to 30 minutes over
  the drop in the first 10 minutes (a stripping plateau; exponential relaxation gives ≈ 0.05); ``sensor_drift`` —
  the pack voltage over the highest cell's voltage (the cells in series, for a true sensor) drifts in time (% per
  30 days).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from .layout import FleetLayout, bucket_files, read_packs

MIN_DSOC_PCT = 20.0
STEP_C_RATE = 0.1
REST_C_RATE = 0.02
EOL_SOH_PCT = 80.0
RUL_DRAWS = 10  # bootstrap refits per model: the interval of a 30-day history is wide anyway; 200 costs ~1 s a pack
THRESHOLDS = {
    "self_discharge_mv_per_day": 3.0,
    "weak_cell_excess_mv": 40.0,
    "cooling_rise_k_per_min_c2": 0.3,
    "plating_relaxation_ratio": 0.4,
    "sensor_drift_pct_per_30d": 1.0,
}
LOW_SOC_PCT = 30.0
MID_SOC_PCT = (50.0, 80.0)
HOT_C = 33.0
MIN_HEAT_C2_MIN = 5.0
MIN_HOT_S = 900.0
MAX_REST_DSOC_PCT = 1.0
MIN_REST_H = 1.0
FAULT_KINDS = ("self_discharge", "weak_cell", "cooling_failure", "lithium_plating", "sensor_drift")

#: the analysis over samples: (view name, SELECT) in order; ``{gap_s}`` is filled from the layout's interval
STEPS: list[tuple[str, str]] = [
    ("modes", """
SELECT t.pack_id, t.t_s, t.pack_current_a AS i, t.pack_voltage_v AS v, t.soc_pct AS soc,
       t.cell_voltage_min_v AS vmin, t.cell_voltage_max_v AS vmax, t.cell_index_min AS imin,
       t.temperature_max_c AS tmax,
       CASE WHEN t.charging_state = 'dc' THEN 'dc'
            WHEN t.charging_state = 'ac' THEN 'ac'
            WHEN t.odometer_km - LAG(t.odometer_km) OVER (PARTITION BY t.pack_id ORDER BY t.t_s) > 0 THEN 'drive'
            WHEN ABS(t.pack_current_a) <= {rest_c} * p.rated_capacity_ah THEN 'rest'
            ELSE 'idle' END AS mode,
       p.rated_capacity_ah AS rated_ah
FROM telemetry t JOIN packs p ON t.pack_id = p.pack_id
"""),
    ("steps", """
SELECT pack_id, t_s, i, v, soc, vmin, vmax, imin, tmax, mode, rated_ah,
       t_s - LAG(t_s) OVER (PARTITION BY pack_id ORDER BY t_s) AS dt,
       i - LAG(i) OVER (PARTITION BY pack_id ORDER BY t_s) AS di,
       v - LAG(v) OVER (PARTITION BY pack_id ORDER BY t_s) AS dv,
       tmax - LAG(tmax) OVER (PARTITION BY pack_id ORDER BY t_s) AS dtmax,
       CASE WHEN LAG(mode) OVER (PARTITION BY pack_id ORDER BY t_s) = mode
                 AND t_s - LAG(t_s) OVER (PARTITION BY pack_id ORDER BY t_s) <= {gap_s} THEN 0 ELSE 1 END AS new_session
FROM modes
"""),
    ("numbered", """
SELECT pack_id, t_s, i, v, soc, vmin, vmax, imin, tmax, mode, rated_ah, dt, di, dv, dtmax,
       SUM(new_session) OVER (PARTITION BY pack_id ORDER BY t_s) AS sess
FROM steps
"""),
    ("ranked", """
SELECT pack_id, t_s, i, v, soc, vmin, vmax, imin, tmax, mode, rated_ah, dt, di, dv, dtmax, sess,
       ROW_NUMBER() OVER (PARTITION BY pack_id, sess ORDER BY t_s) AS k,
       ROW_NUMBER() OVER (PARTITION BY pack_id, sess ORDER BY t_s DESC) AS kd,
       t_s - MIN(t_s) OVER (PARTITION BY pack_id, sess) AS off
FROM numbered
"""),
    ("sessions", """
SELECT pack_id, sess, MIN(mode) AS mode, MIN(t_s) AS t_start, MAX(t_s) AS t_end, COUNT(*) AS n,
       MAX(CASE WHEN k = 1 THEN soc END) AS soc_start,
       MAX(CASE WHEN kd = 1 THEN soc END) AS soc_end,
       SUM(CASE WHEN k > 1 THEN i * dt ELSE 0.0 END) / 3600.0 AS ah,
       SUM(CASE WHEN k > 1 THEN ABS(i) * dt ELSE 0.0 END) / 3600.0 AS ah_abs,
       MAX(i) AS i_max,
       SUM(CASE WHEN k > 1 AND ABS(di) >= {step_c} * rated_ah THEN dv * di ELSE 0.0 END) AS r_num,
       SUM(CASE WHEN k > 1 AND ABS(di) >= {step_c} * rated_ah THEN di * di ELSE 0.0 END) AS r_den,
       SUM(CASE WHEN k > 1 AND ABS(di) >= {step_c} * rated_ah THEN 1 ELSE 0 END) AS r_steps,
       AVG(CASE WHEN k <= 3 THEN vmax - vmin END) AS spread_start,
       AVG(CASE WHEN kd <= 3 THEN vmax - vmin END) AS spread_end,
       SUM(CASE WHEN soc <= {low_soc} THEN vmax - vmin ELSE 0.0 END) AS spread_low_sum,
       SUM(CASE WHEN soc <= {low_soc} THEN 1 ELSE 0 END) AS n_low,
       SUM(CASE WHEN soc >= {mid_lo} AND soc <= {mid_hi} THEN vmax - vmin ELSE 0.0 END) AS spread_mid_sum,
       SUM(CASE WHEN soc >= {mid_lo} AND soc <= {mid_hi} THEN 1 ELSE 0 END) AS n_mid,
       MAX(CASE WHEN kd = 1 THEN imin END) AS imin_end,
       SUM(v / vmax) AS ratio_sum,
       MAX(CASE WHEN k = 1 THEN v END) AS v0,
       AVG(CASE WHEN off >= 540.0 AND off <= 660.0 THEN v END) AS v10,
       AVG(CASE WHEN off >= 1740.0 AND off <= 1860.0 THEN v END) AS v30,
       SUM(CASE WHEN k > 1 AND tmax > {hot_c} THEN dtmax ELSE 0.0 END) AS heat_rise_k,
       SUM(CASE WHEN k > 1 AND tmax > {hot_c} THEN dt ELSE 0.0 END) AS heat_time_s,
       SUM(CASE WHEN k > 1 AND tmax > {hot_c} THEN (i / rated_ah) * (i / rated_ah) * dt / 60.0 ELSE 0.0 END) AS heat_c2_min,
       MAX(tmax) AS tmax_peak
FROM ranked
GROUP BY pack_id, sess
"""),
    ("result", """
SELECT s.*,
       LAG(mode) OVER (PARTITION BY pack_id ORDER BY sess) AS prev_mode,
       LAG(t_end) OVER (PARTITION BY pack_id ORDER BY sess) AS prev_end
FROM sessions s
"""),
]

SESSION_COLUMNS = ["pack_id", "sess", "mode", "t_start", "t_end", "n", "soc_start", "soc_end", "ah", "ah_abs", "i_max",
                   "r_num", "r_den", "r_steps", "spread_start", "spread_end", "spread_low_sum", "n_low", "spread_mid_sum",
                   "n_mid", "imin_end", "ratio_sum", "v0", "v10", "v30", "heat_rise_k", "heat_time_s", "heat_c2_min", "tmax_peak",
                   "prev_mode", "prev_end"]
NUMERIC_COLUMNS = ["pack_current_a", "pack_voltage_v", "soc_pct", "cell_voltage_min_v", "cell_voltage_max_v",
                   "temperature_max_c", "odometer_km"]


def sql_steps(interval_s: float) -> list[tuple[str, str]]:
    """The SQL of :data:`STEPS` with the layout's figures filled in (a gap is > 3 sample intervals)."""
    fill = {"gap_s": f"{3 * interval_s:.1f}", "rest_c": repr(REST_C_RATE), "step_c": repr(STEP_C_RATE),
            "low_soc": repr(LOW_SOC_PCT), "mid_lo": repr(MID_SOC_PCT[0]), "mid_hi": repr(MID_SOC_PCT[1]),
            "hot_c": repr(HOT_C)}
    return [(name, sql.format(**fill)) for name, sql in STEPS]


def _normalise_sessions(df: pl.DataFrame) -> pl.DataFrame:
    ints = {"sess", "n", "r_steps", "n_low", "n_mid", "imin_end"}
    return df.select(SESSION_COLUMNS).cast({c: (pl.Int64 if c in ints else pl.Float64) for c in SESSION_COLUMNS
                                            if c not in ("pack_id", "mode", "prev_mode")}).sort("pack_id", "sess")


# ------------------------------------------------------------------------------------------------ engines
def sessions_polars(root: str | Path, *, progress: Callable[[int, int], None] | None = None) -> pl.DataFrame:
    """The session table of a fleet folder, by Polars' SQL engine, one vehicle bucket at a time."""
    root = Path(root)
    layout = FleetLayout.read(root)
    packs = read_packs(root)
    steps = sql_steps(layout.interval_s)
    out = []
    groups = bucket_files(root)
    for n, (_, files) in enumerate(groups.items(), 1):
        scan = pl.scan_parquet(files, hive_partitioning=False).select(
            "pack_id", "timestamp", "charging_state", *NUMERIC_COLUMNS, pl.col("cell_index_min").cast(pl.Int64),
        ).with_columns(
            (pl.col("timestamp").dt.epoch("us").cast(pl.Float64) / 1e6).alias("t_s"),
            *[pl.col(c).cast(pl.Float64) for c in NUMERIC_COLUMNS])
        ctx = pl.SQLContext(telemetry=scan, packs=packs.lazy())
        for name, sql in steps:
            ctx.register(name, ctx.execute(sql))
        out.append(ctx.execute("SELECT * FROM result").collect())
        if progress:
            progress(n, len(groups))
    return _normalise_sessions(pl.concat(out)) if out else pl.DataFrame()


def spark_session(master: str = "local[2]", *, shuffle_partitions: int = 8, app: str = "batteryloop-fleet") -> Any:
    """A Spark session for the analysis (UTC, Arrow transfers, no UI). ``SPARK_LOCAL_IP`` defaults to 127.0.0.1."""
    import os
    import sys

    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    from pyspark.sql import SparkSession

    return (SparkSession.builder.master(master).appName(app)
            .config("spark.sql.session.timeZone", "UTC")
            .config("spark.sql.shuffle.partitions", str(shuffle_partitions))
            .config("spark.sql.execution.arrow.pyspark.enabled", "true")
            .config("spark.ui.enabled", "false")
            .config("spark.driver.memory", os.environ.get("BATTERYLOOP_SPARK_DRIVER_MEMORY", "2g"))
            .getOrCreate())


def sessions_spark(root: str | Path, spark: Any) -> pl.DataFrame:
    """The session table of a fleet folder, by Spark SQL (the same :data:`STEPS`), on ``spark``'s cluster."""
    from pyspark.sql import functions as F

    root = Path(root)
    layout = FleetLayout.read(root)
    packs = read_packs(root)
    tel = spark.read.parquet(str(root))  # partition discovery: date=…/bucket=…; files named _* are skipped
    tel = tel.select("pack_id", "charging_state", *[F.col(c).cast("double").alias(c) for c in NUMERIC_COLUMNS],
                     F.col("cell_index_min").cast("long").alias("cell_index_min"),
                     (F.unix_micros("timestamp").cast("double") / F.lit(1e6)).alias("t_s"))
    tel.createOrReplaceTempView("telemetry")
    ddl = ", ".join(f"{c} {'double' if t == pl.Float64 else 'bigint' if t == pl.Int64 else 'string'}"
                    for c, t in packs.schema.items())
    spark.createDataFrame(packs.rows(), schema=ddl).createOrReplaceTempView("packs")
    for name, sql in sql_steps(layout.interval_s):
        spark.sql(sql).createOrReplaceTempView(name)
    table = spark.sql("SELECT * FROM result").toArrow()
    return _normalise_sessions(pl.from_arrow(table))  # type: ignore[arg-type]


# ------------------------------------------------------------------------------------------------ per pack
def _slope(x: np.ndarray, y: np.ndarray) -> float | None:
    if x.size < 3 or float(np.ptp(x)) <= 0:
        return None
    xm = x - x.mean()
    return float(np.sum(xm * (y - y.mean())) / np.sum(xm * xm))


def _r(x: Any, nd: int = 6) -> Any:
    return None if x is None or (isinstance(x, float) and not math.isfinite(x)) else round(float(x), nd)


def _rul(fec: np.ndarray, cap_ah: np.ndarray, rated_ah: float, fec_per_day: float) -> dict[str, Any]:
    from ..health.errors import InsufficientDataError
    from ..health.rul import forecast_eol

    none = {"rul_fec": None, "rul_fec_lower": None, "rul_fec_upper": None, "rul_days": None}
    if fec.size < 10:
        return none
    try:
        f = forecast_eol(fec, cap_ah, threshold=EOL_SOH_PCT / 100, initial_capacity_ah=rated_ah, draws=RUL_DRAWS,
                         population=())
    except (InsufficientDataError, ValueError, np.linalg.LinAlgError):
        return none
    if f.remaining_cycles is None:
        return none
    last = float(fec[-1])
    return {"rul_fec": _r(f.remaining_cycles, 3), "rul_fec_lower": _r(max(0.0, f.lower - last), 3) if f.lower is not None else None,
            "rul_fec_upper": _r(f.upper - last, 3) if f.upper is not None else None,
            "rul_days": _r(f.remaining_cycles / fec_per_day, 1) if fec_per_day > 0 else None}


def pack_figures(sessions: pl.DataFrame, packs: pl.DataFrame) -> pl.DataFrame:
    """One row per pack from the session table: the figures, the fault flags and their evidence."""
    rows = []
    by_pack = sessions.partition_by("pack_id", as_dict=True, maintain_order=True) if sessions.height else {}
    for pk in packs.sort("pack_id").iter_rows(named=True):
        s = by_pack.get((pk["pack_id"],))
        rows.append(_one_pack(pk, s))
    return pl.DataFrame(rows, schema=_OUT_SCHEMA, orient="row")


_OUT_SCHEMA = {
    "pack_id": pl.String, "vehicle_id": pl.String, "segment": pl.String, "chemistry": pl.String,
    "age_days": pl.Int64, "rated_capacity_ah": pl.Float64, "window_days": pl.Float64, "samples": pl.Int64,
    "fec_in_window": pl.Float64,
    "capacity_ah": pl.Float64, "soh_pct": pl.Float64, "capacity_sessions": pl.Int64,
    "soh_trend_pct_per_30d": pl.Float64, "rul_fec": pl.Float64, "rul_fec_lower": pl.Float64,
    "rul_fec_upper": pl.Float64, "rul_days": pl.Float64,
    "resistance_mohm": pl.Float64, "resistance_sessions": pl.Int64,
    "self_discharge_mv_per_day": pl.Float64, "rest_hours": pl.Float64,
    "weak_cell_excess_mv": pl.Float64, "weak_cell_index": pl.Int64,
    "cooling_rise_k_per_min_c2": pl.Float64, "temperature_peak_c": pl.Float64,
    "plating_relaxation_ratio": pl.Float64, "plating_events": pl.Int64,
    "sensor_drift_pct_per_30d": pl.Float64,
    "measured_at": pl.String,
    "faults": pl.String,
}


def _one_pack(pk: dict[str, Any], s: pl.DataFrame | None) -> dict[str, Any]:
    import datetime as dt

    rated = float(pk["rated_capacity_ah"])
    out: dict[str, Any] = {c: None for c in _OUT_SCHEMA}
    out.update(pack_id=pk["pack_id"], vehicle_id=pk["vehicle_id"], segment=pk["segment"], chemistry=pk["chemistry"],
               rated_capacity_ah=rated, faults="")
    if s is None or s.height == 0:
        return out
    t0, t1 = float(s["t_start"].min()), float(s["t_end"].max())  # type: ignore[arg-type]
    window_days = (t1 - t0) / 86400.0
    out["window_days"] = _r(window_days, 4)
    out["measured_at"] = dt.datetime.fromtimestamp(t1, dt.UTC).isoformat()
    out["samples"] = int(s["n"].sum())
    first = pk.get("first_use_date")
    if first:
        out["age_days"] = (dt.datetime.fromtimestamp(t1, dt.UTC).date() - dt.date.fromisoformat(first)).days
    fec_cum = np.cumsum(s["ah_abs"].to_numpy()) / (2 * rated)
    out["fec_in_window"] = _r(fec_cum[-1], 4)
    # capacity from charge sessions
    chg = s.with_columns(fec=pl.Series(fec_cum)).filter(
        pl.col("mode").is_in(["ac", "dc"]) & ((pl.col("soc_end") - pl.col("soc_start")) >= MIN_DSOC_PCT))
    if chg.height:
        cap = (chg["ah"] / ((chg["soc_end"] - chg["soc_start"]) / 100.0)).to_numpy()
        out["capacity_ah"] = _r(float(np.median(cap)), 4)
        out["soh_pct"] = _r(100.0 * float(np.median(cap)) / rated, 4)
        out["capacity_sessions"] = int(cap.size)
        slope = _slope(chg["t_end"].to_numpy() / 86400.0, 100.0 * cap / rated)
        out["soh_trend_pct_per_30d"] = _r(None if slope is None else slope * 30.0, 4)
        out.update(_rul(chg["fec"].to_numpy(), cap, rated, fec_cum[-1] / window_days if window_days > 0 else 0.0))
    # resistance from current steps while driving
    drv = s.filter((pl.col("mode") == "drive") & (pl.col("r_steps") >= 3) & (pl.col("r_den") > 0))
    if drv.height:
        out["resistance_mohm"] = _r(1000.0 * float(np.median((drv["r_num"] / drv["r_den"]).to_numpy())), 4)
        out["resistance_sessions"] = drv.height
    flags = []
    # self-discharge: spread growth at rest
    rest = s.filter((pl.col("mode") == "rest") & ((pl.col("t_end") - pl.col("t_start")) >= MIN_REST_H * 3600)
                    & ((pl.col("soc_end") - pl.col("soc_start")).abs() <= MAX_REST_DSOC_PCT)
                    & (pl.col("soc_start") >= MID_SOC_PCT[0]))
    sd_flag = False
    if rest.height:
        hours = float(((rest["t_end"] - rest["t_start"]).sum())) / 3600.0
        growth = float((rest["spread_end"] - rest["spread_start"]).sum()) * 1000.0 / (hours / 24.0)
        out["rest_hours"] = _r(hours, 3)
        out["self_discharge_mv_per_day"] = _r(growth, 4)
        sd_flag = hours >= 6.0 and growth >= THRESHOLDS["self_discharge_mv_per_day"]
        if sd_flag:
            flags.append("self_discharge")
    # weak cell: the spread at low SoC over the spread at mid SoC
    n_low, n_mid = int(s["n_low"].sum()), int(s["n_mid"].sum())
    if n_low >= 10 and n_mid >= 10:
        excess = (float(s["spread_low_sum"].sum()) / n_low - float(s["spread_mid_sum"].sum()) / n_mid) * 1000.0
        out["weak_cell_excess_mv"] = _r(excess, 4)
        low_ends = s.filter((pl.col("mode") == "drive") & (pl.col("soc_end") <= LOW_SOC_PCT))["imin_end"].drop_nulls()
        if low_ends.len():
            vc = low_ends.value_counts(sort=True)
            out["weak_cell_index"] = int(vc.sort(["count", "imin_end"], descending=[True, False])["imin_end"][0])
        if excess >= THRESHOLDS["weak_cell_excess_mv"] and not sd_flag:
            flags.append("weak_cell")
    # cooling: the hottest sensor still rising above HOT_C under load
    load = s.filter(pl.col("mode").is_in(["ac", "dc", "drive"]))
    out["temperature_peak_c"] = _r(float(s["tmax_peak"].max()), 3)  # type: ignore[arg-type]
    c2 = float(load["heat_c2_min"].sum())
    if c2 >= MIN_HEAT_C2_MIN and float(load["heat_time_s"].sum()) >= MIN_HOT_S:
        rate = float(load["heat_rise_k"].sum()) / c2
        out["cooling_rise_k_per_min_c2"] = _r(rate, 5)
        if rate >= THRESHOLDS["cooling_rise_k_per_min_c2"]:
            flags.append("cooling_failure")
    # lithium plating: late relaxation in rests right after DC charges
    relax = s.filter((pl.col("mode") == "rest") & (pl.col("prev_mode") == "dc") & pl.col("v10").is_not_null()
                     & pl.col("v30").is_not_null() & ((pl.col("t_start") - pl.col("prev_end")) <= 600.0)
                     & ((pl.col("v0") - pl.col("v10")) > 0))
    if relax.height:
        ratio = float(np.median(((relax["v10"] - relax["v30"]) / (relax["v0"] - relax["v10"])).to_numpy()))
        out["plating_relaxation_ratio"] = _r(ratio, 5)
        out["plating_events"] = relax.height
        if relax.height >= 2 and ratio >= THRESHOLDS["plating_relaxation_ratio"]:
            flags.append("lithium_plating")
    # sensor drift: pack voltage / highest cell voltage at rest, over time
    rr = s.filter((pl.col("mode") == "rest") & (pl.col("n") >= 10))
    if rr.height >= 3:
        ratio = (rr["ratio_sum"] / rr["n"]).to_numpy()
        t = ((rr["t_start"] + rr["t_end"]) / 2.0).to_numpy() / 86400.0
        slope = _slope(t, ratio / float(np.mean(ratio)))
        if slope is not None and float(np.ptp(t)) >= 2.0:
            drift = slope * 30.0 * 100.0
            out["sensor_drift_pct_per_30d"] = _r(drift, 5)
            if abs(drift) >= THRESHOLDS["sensor_drift_pct_per_30d"]:
                flags.append("sensor_drift")
    out["faults"] = ";".join(k for k in FAULT_KINDS if k in flags)
    return out


# ------------------------------------------------------------------------------------------------ entry point
def analyze(root: str | Path, *, engine: str = "polars", master: str | None = None, spark: Any = None,
            progress: Callable[[int, int], None] | None = None) -> pl.DataFrame:
    """The per-pack table of a fleet folder (see the module's docstring), by ``engine`` ``polars`` or ``spark``."""
    root = Path(root)
    if engine == "polars":
        sessions = sessions_polars(root, progress=progress)
    elif engine == "spark":
        own = spark is None
        spark = spark or spark_session(master or "local[2]")
        try:
            sessions = sessions_spark(root, spark)
        finally:
            if own:
                spark.stop()
    else:
        raise ValueError(f"engine {engine!r}: use polars or spark")
    return pack_figures(sessions, read_packs(root))


def write_table(df: pl.DataFrame, out: str | Path) -> Path:
    """Write the per-pack table as Parquet or CSV (by the name's ending), atomically."""
    out = Path(out)
    if out.suffix not in (".parquet", ".csv"):
        raise ValueError(f"{out}: the output must end in .parquet or .csv")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    if out.suffix == ".parquet":
        df.write_parquet(tmp)
    else:
        df.write_csv(tmp)
    tmp.replace(out)
    return out


def read_table(path: str | Path) -> pl.DataFrame:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no analysis table at {path} (run `batteryloop fleet analyze DIR -o {path.name}`)")
    df = pl.read_parquet(path) if path.suffix == ".parquet" else pl.read_csv(path, schema_overrides=_OUT_SCHEMA)
    missing = [c for c in ("pack_id", "soh_pct", "faults") if c not in df.columns]
    if missing:
        raise ValueError(f"{path} is not a fleet analysis table: no column(s) {', '.join(missing)}")
    return df.with_columns(pl.col("faults").fill_null(""))
