"""Per-pack health and fault analysis of fleet telemetry: one definition, run by Polars or by Apache Spark.

The work over samples is written once, as Python against a small vocabulary (:func:`sample_stages`,
:data:`SESSION_AGGREGATES`, :data:`SESSION_STAGES`: ``col``, ``lit``, ``case``, ``abs``, ``prev``, ``running_sum``,
``position``, ``position_from_end``, ``since_start`` and the aggregates), which :class:`_PolarsSamples` turns into
Polars expressions over a bucket sorted once (ordered shifts and fills, no window re-sorts) and
:class:`_SparkSamples` into PySpark columns over windows. It cuts each pack's samples into sessions (a run of one
mode: ``dc``/``ac`` charging, ``drive`` when the odometer moves, ``rest`` when the current is below 2 % of the
rated capacity, ``idle`` otherwise; a gap starts a new session) and sums what the figures need per session. The
engines hand back the same session table (:func:`sessions_polars`, :func:`sessions_spark`); the per-pack figures
are then computed from it by :func:`pack_figures`, the same Python for both. Polars runs bucket by bucket (a
bucket holds whole vehicle histories: see :mod:`.layout`), so its memory is one bucket's; Spark runs the whole
folder on ``local[*]`` or any cluster.

Methods (per pack):

- **Capacity and state of health**: each charge session with ΔSoC ≥ :data:`MIN_DSOC_PCT` gives a capacity
  ``Ah charged / (ΔSoC / 100)`` (coulomb counting against the BMS's SoC, as in Plett, *Battery Management
  Systems* vol. 2, §4 "total-capacity estimation"); ``capacity_ah`` is their median, ``soh_pct`` = capacity / rated.
- **Resistance**: between consecutive samples of a drive session whose current changes by at least
  :data:`STEP_C_RATE` × rated Ah, ``ΔV/ΔI``; per session the least-squares slope Σ ΔV·ΔI / Σ ΔI², per pack the
  median (the DC resistance at the sample interval, ohmic plus the fast part of polarisation; cf. the HPPC pulse
  resistance of the USABC/INL Battery Test Manual).
- **Trend and remaining life**: the least-squares slope of the sessions' capacities over time (% of rated per 30
  days); the remaining life to :data:`EOL_SOH_PCT` by the reference fade model anchored at the pack's measured
  state — its age, its cycles per day and mean temperature in the window, its state of health — and run forward
  (:func:`fade_forecasts`, with a Monte Carlo interval); a month's capacity trend is within its own noise, so the
  forecast does not extrapolate it. A pack without an age gets the curve fits of
  :func:`batteryloop.health.rul.forecast_eol` on its capacity estimates (≥ 10) against full equivalent cycles
  instead (:data:`RUL_METHOD`; the linear fit alone below :data:`RUL_DOUBLE_EXP_MIN_FEC` of history,
  :func:`rul_models`).
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
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from .layout import CHARGING_STATES, FleetLayout, bucket_files, read_packs

MIN_DSOC_PCT = 20.0
STEP_C_RATE = 0.1
REST_C_RATE = 0.02
EOL_SOH_PCT = 80.0
RUL_DRAWS = 10  # bootstrap refits per model: the interval of a 30-day history is wide anyway
# batteryloop's rule, no source: below this many full equivalent cycles of history the double exponential's curvature
# is not identifiable (He et al. fitted it over hundreds of cycles; a month of a fleet is tens) — the linear fit alone
RUL_DOUBLE_EXP_MIN_FEC = 100.0
# rows of one unit of the Polars engine's work over samples: whole packs of a bucket, put in order and analysed while
# they are still in the processor's cache (measured: 100k–600k rows alike, ~30 % less CPU than a 2.7M-row bucket whole)
CHUNK_ROWS = 250_000
RUL_WARM_START = True  # bootstrap refits start from the point fit's parameters (forecast_eol's warm_start)
# the remaining life by the reference fade model anchored at the pack's state (fade_forecast): its interval's level and
# the spreads of what the telemetry does not tell — the past use (the window's cycles per day × age came out 0.08 in log
# from the truth on generated fleets), the future use, the calendar level (its reference is orders of magnitude) and
# the cycle exponent. Set on a generated fleet (seed 0, 200 vehicles × 30 days: 95 % of its packs' true remaining lives
# inside the 90 % interval) and checked on another (seed 1): benchmarks.md. A real fleet's packs change their use over
# the years as generated ones do not — widen these for it (batteryloop's rule, no source)
RUL_METHOD = "fade model"  # or "curve fits": the health package's forecaster on the window's capacities (before 2026-12-05)
RUL_INTERVAL = 0.9
RUL_FADE_DRAWS = 200
RUL_SIGMA_LOG_USE = 0.1
RUL_SIGMA_LOG_FUTURE_USE = 0.1
RUL_SIGMA_LOG_CALENDAR = 0.15
RUL_SIGMA_Z = 0.02
RUL_MIN_SOH_SE_PCT = 0.1
RUL_HORIZON_YEARS = 40.0
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

SESSION_COLUMNS = ["pack_id", "sess", "mode", "t_start", "t_end", "n", "soc_start", "soc_end", "ah", "ah_abs", "i_max",
                   "r_num", "r_den", "r_steps", "spread_start", "spread_end", "spread_low_sum", "n_low", "spread_mid_sum",
                   "n_mid", "imin_end", "ratio_sum", "v0", "v10", "v30", "heat_rise_k", "heat_time_s", "heat_c2_min", "tmax_peak",
                   "tmax_sum", "prev_mode", "prev_end"]
NUMERIC_COLUMNS = ["pack_current_a", "pack_voltage_v", "soc_pct", "cell_voltage_min_v", "cell_voltage_max_v",
                   "temperature_max_c", "odometer_km"]


# ------------------------------------------------------------------------------------------------ the definition
#: the modes of a sample, by their code in the definition (the session table names them)
MODES = ("dc", "ac", "drive", "rest", "idle")


# Written once against a small vocabulary (an "engine" E: col, lit, case, abs, prev, delta, running_sum,
# session_start, since_start, and the aggregates min, max, sum, mean, count, first, last, mean_of_first_N,
# mean_of_last_N); :class:`_PolarsSamples` and :class:`_SparkSamples` turn it into each engine's own column
# expressions. The samples are named: t_s (s since the epoch), i, v, soc, vmin, vmax, imin, tmax, odo, cs (charging
# state) and rated_ah (the pack registry's).
def sample_stages(interval_s: float) -> list[dict[str, Callable[[Any], Any]]]:
    """The per-sample columns, stage by stage (a stage may use the columns of the stages before it)."""
    gap_s = 3 * interval_s  # a gap of more than 3 sample intervals starts a new session
    return [
        {"mode": lambda E: E.case([(E.col("cs") == "dc", E.lit(MODES.index("dc"))),
                                   (E.col("cs") == "ac", E.lit(MODES.index("ac"))),
                                   (E.delta("odo") > 0, E.lit(MODES.index("drive"))),
                                   (E.abs(E.col("i")) <= REST_C_RATE * E.col("rated_ah"), E.lit(MODES.index("rest")))],
                                  E.lit(MODES.index("idle"))),
         "dt": lambda E: E.delta("t_s"),
         "di": lambda E: E.delta("i"),
         "dv": lambda E: E.delta("v"),
         "dtmax": lambda E: E.delta("tmax"),
         "spread": lambda E: E.col("vmax") - E.col("vmin")},
        {"new_session": lambda E: E.case([((E.prev("mode") == E.col("mode")) & (E.col("dt") <= gap_s), E.lit(0))],
                                         E.lit(1))},
        {"sess": lambda E: E.running_sum("new_session")},
        {"off": lambda E: E.since_start(),
         "later": lambda E: ~E.session_start(),  # not the session's first sample: it has a step from the one before
         "low": lambda E: E.col("soc") <= LOW_SOC_PCT,
         "mid": lambda E: (E.col("soc") >= MID_SOC_PCT[0]) & (E.col("soc") <= MID_SOC_PCT[1])},
        {"step": lambda E: E.col("later") & (E.abs(E.col("di")) >= STEP_C_RATE * E.col("rated_ah")),
         "hot": lambda E: E.col("later") & (E.col("tmax") > HOT_C)},
    ]


def _sessions_aggregates() -> list[tuple[str, str, Callable[[Any], Any]]]:
    """The session table: (column, aggregate over the session's samples in time order, expression)."""
    c = lambda E, n: E.col(n)  # noqa: E731
    z = lambda E, cond, x: E.case([(cond, x)], E.lit(0.0))  # noqa: E731
    only = lambda E, cond, x: E.case([(cond, x)], None)  # noqa: E731
    c_rate = lambda E: E.col("i") / E.col("rated_ah")  # noqa: E731
    return [
        ("mode", "min", lambda E: c(E, "mode")),
        ("t_start", "min", lambda E: c(E, "t_s")),
        ("t_end", "max", lambda E: c(E, "t_s")),
        ("n", "count", lambda E: c(E, "t_s")),
        ("soc_start", "first", lambda E: c(E, "soc")),
        ("soc_end", "last", lambda E: c(E, "soc")),
        ("ah", "sum", lambda E: z(E, E.col("later"), E.col("i") * E.col("dt") / 3600.0)),
        ("ah_abs", "sum", lambda E: z(E, E.col("later"), E.abs(E.col("i")) * E.col("dt") / 3600.0)),
        ("i_max", "max", lambda E: c(E, "i")),
        ("r_num", "sum", lambda E: z(E, E.col("step"), E.col("dv") * E.col("di"))),
        ("r_den", "sum", lambda E: z(E, E.col("step"), E.col("di") * E.col("di"))),
        ("r_steps", "sum", lambda E: E.case([(E.col("step"), E.lit(1))], E.lit(0))),
        ("spread_start", "mean_of_first_3", lambda E: c(E, "spread")),
        ("spread_end", "mean_of_last_3", lambda E: c(E, "spread")),
        ("spread_low_sum", "sum", lambda E: z(E, E.col("low"), E.col("spread"))),
        ("n_low", "sum", lambda E: E.case([(E.col("low"), E.lit(1))], E.lit(0))),
        ("spread_mid_sum", "sum", lambda E: z(E, E.col("mid"), E.col("spread"))),
        ("n_mid", "sum", lambda E: E.case([(E.col("mid"), E.lit(1))], E.lit(0))),
        ("imin_end", "last", lambda E: c(E, "imin")),
        ("ratio_sum", "sum", lambda E: E.col("v") / E.col("vmax")),
        ("v0", "first", lambda E: c(E, "v")),
        ("v10", "mean", lambda E: only(E, (E.col("off") >= 540.0) & (E.col("off") <= 660.0), E.col("v"))),
        ("v30", "mean", lambda E: only(E, (E.col("off") >= 1740.0) & (E.col("off") <= 1860.0), E.col("v"))),
        ("heat_rise_k", "sum", lambda E: z(E, E.col("hot"), E.col("dtmax"))),
        ("heat_time_s", "sum", lambda E: z(E, E.col("hot"), E.col("dt"))),
        ("heat_c2_min", "sum", lambda E: z(E, E.col("hot"), c_rate(E) * c_rate(E) * E.col("dt") / 60.0)),
        ("tmax_peak", "max", lambda E: c(E, "tmax")),
        ("tmax_sum", "sum", lambda E: c(E, "tmax")),  # the window's mean pack temperature (calendar fade)
    ]


SESSION_AGGREGATES = _sessions_aggregates()
#: over the session table, in session order per pack
SESSION_STAGES: list[dict[str, Callable[[Any], Any]]] = [
    {"prev_mode": lambda E: E.prev("mode"), "prev_end": lambda E: E.prev("t_end")},
]


class _PolarsSamples:
    """The vocabulary as Polars expressions over a frame sorted once by (``key``, ``order``): the previous row is a
    shift (masked where the key changes), a running sum a cumulative sum over the key's runs, the time since the
    session's start a forward fill of its first row, and the aggregates run over the sorted group-by's slices
    (``first``, ``last``, ``head(n)``, ``tail(n)``) — no window re-sorts. The marks these need, ``_first`` (the
    key's first row) and ``_sstart`` (a session's first row), are columns of the frame, computed once
    (:meth:`key_marks` before the stages, :meth:`session_marks` once ``sess`` exists) rather than again inside every
    expression that uses them."""

    def __init__(self, key: str, order: str) -> None:
        self.key, self.order = key, order
        self._first, self._sstart = pl.col("_first"), pl.col("_sstart")

    def key_marks(self) -> dict[str, pl.Expr]:
        return {"_first": (pl.col(self.key) != pl.col(self.key).shift(1)).fill_null(True)}

    @staticmethod
    def session_marks() -> dict[str, pl.Expr]:
        return {"_sstart": pl.col("_first") | (pl.col("sess") != pl.col("sess").shift(1))}

    col = staticmethod(pl.col)
    lit = staticmethod(pl.lit)

    @staticmethod
    def abs(x: pl.Expr) -> pl.Expr:
        return x.abs()

    @staticmethod
    def case(pairs: list[tuple[pl.Expr, pl.Expr]], default: pl.Expr | None) -> pl.Expr:
        (c0, v0), *rest = pairs
        e: Any = pl.when(c0).then(v0)
        for c, v in rest:
            e = e.when(c).then(v)
        return e.otherwise(default if default is not None else pl.lit(None))

    def prev(self, name: str) -> pl.Expr:
        return pl.when(~self._first).then(pl.col(name).shift(1))

    def delta(self, name: str) -> pl.Expr:
        return pl.when(~self._first).then(pl.col(name).diff())

    def running_sum(self, name: str) -> pl.Expr:
        return pl.col(name).cum_sum().over(self.key)  # the key is sorted: runs, not a hash partition

    def session_start(self) -> pl.Expr:
        return self._sstart

    def since_start(self) -> pl.Expr:
        return pl.col(self.order) - pl.when(self._sstart).then(pl.col(self.order)).forward_fill()

    @staticmethod
    def aggregate(kind: str, x: pl.Expr) -> pl.Expr:
        """Over a group of rows in time order (the frame's order)."""
        if kind == "count":
            return pl.len()
        if kind.startswith("mean_of_first_"):
            return x.head(int(kind.rsplit("_", 1)[1])).mean()
        if kind.startswith("mean_of_last_"):
            return x.tail(int(kind.rsplit("_", 1)[1])).mean()
        return getattr(x, kind)()


class _SparkSamples:
    """The vocabulary as PySpark column expressions: windows partitioned by ``key`` ordered by ``order``; a sample's
    place in its session (``_k``, ``_kd``: ``row_number`` from the start and from the end) picks the first and last
    samples for the ordered aggregates."""

    def __init__(self, key: str, order: str) -> None:
        from pyspark.sql import Window
        from pyspark.sql import functions as F

        self.F = F
        self.order = order
        self.w = Window.partitionBy(key).orderBy(order)
        self.w_run = self.w.rowsBetween(Window.unboundedPreceding, Window.currentRow)
        self.ws = Window.partitionBy(key, "sess").orderBy(order)
        self.ws_desc = Window.partitionBy(key, "sess").orderBy(F.col(order).desc())
        self.ws_all = Window.partitionBy(key, "sess")

    def col(self, name: str) -> Any:
        return self.F.col(name)

    def lit(self, v: Any) -> Any:
        return self.F.lit(v)

    def abs(self, x: Any) -> Any:
        return self.F.abs(x)

    def case(self, pairs: list[tuple[Any, Any]], default: Any) -> Any:
        (c0, v0), *rest = pairs
        e = self.F.when(c0, v0)
        for c, v in rest:
            e = e.when(c, v)
        return e.otherwise(default) if default is not None else e

    def prev(self, name: str) -> Any:
        return self.F.lag(name).over(self.w)

    def delta(self, name: str) -> Any:
        return self.F.col(name) - self.F.lag(name).over(self.w)

    def running_sum(self, name: str) -> Any:
        return self.F.sum(name).over(self.w_run)

    @staticmethod
    def key_marks() -> dict[str, Any]:
        return {}

    def session_marks(self) -> dict[str, Any]:
        """A sample's place in its session, from the start and from the end (``row_number`` over the session)."""
        return {"_k": self.F.row_number().over(self.ws), "_kd": self.F.row_number().over(self.ws_desc)}

    def session_start(self) -> Any:
        return self.F.col("_k") == 1

    def since_start(self) -> Any:
        return self.F.col(self.order) - self.F.min(self.order).over(self.ws_all)

    def aggregate(self, kind: str, x: Any) -> Any:
        F = self.F
        if kind == "count":
            return F.count(F.lit(1))
        if kind in ("first", "last"):
            return F.max(F.when(F.col("_k" if kind == "first" else "_kd") == 1, x))
        if kind.startswith(("mean_of_first_", "mean_of_last_")):
            n = int(kind.rsplit("_", 1)[1])
            return F.avg(F.when(F.col("_k" if kind.startswith("mean_of_first_") else "_kd") <= n, x))
        return getattr(F, {"mean": "avg"}.get(kind, kind))(x)


def _normalise_sessions(df: pl.DataFrame) -> pl.DataFrame:
    ints = {"sess", "n", "r_steps", "n_low", "n_mid", "imin_end"}
    names = dict(enumerate(MODES))
    df = df.with_columns(pl.col(c).cast(pl.Int64).replace_strict(names, return_dtype=pl.String) for c in ("mode", "prev_mode"))
    return df.select(SESSION_COLUMNS).cast({c: (pl.Int64 if c in ints else pl.Float64) for c in SESSION_COLUMNS
                                            if c not in ("pack_id", "mode", "prev_mode")}).sort("pack_id", "sess")


# ------------------------------------------------------------------------------------------------ engines
def _polars_samples(files: list[Path], packs: pl.DataFrame, chunk_rows: int | None = None) -> Iterator[pl.DataFrame]:
    """One bucket's samples under the definition's names, with the pack's rated capacity, in pack and time order, as
    frames of whole packs of about ``chunk_rows`` rows each (default :data:`CHUNK_ROWS`; the packs in registry
    order). The pack is its row in the registry (``_pk``; samples of a pack the registry lacks are left out, as
    Spark's inner join leaves them); the charging state is an Enum of the layout's (another value is null, which
    equals none).

    The writers keep each file in vehicle and time order, so a bucket read file after file is a few runs of rows
    per pack (one per day): the registry lookup is done once per run, not once per row, and each chunk is put
    together from its packs' runs (copies of contiguous slices, in file order) instead of a sort of the whole
    bucket — then the chunk's work runs while it is still in the processor's cache. A chunk whose packs' samples
    are not in time order (files written otherwise) is sorted. The columns are widened to Float64 (Spark's
    arithmetic) per chunk, after the reordering, so that it moves half the bytes."""
    packs = packs.unique("pack_id", keep="first", maintain_order=True)
    ids = pl.Enum(packs["pack_id"])
    rated = packs["rated_capacity_ah"].cast(pl.Float64)
    states = pl.Enum(CHARGING_STATES)
    cs = pl.when(False).then(pl.lit(None, states))
    for state in CHARGING_STATES:  # equality tests build the Enum without hashing each row's string
        cs = cs.when(pl.col("charging_state") == state).then(pl.lit(state, states))
    raw = (pl.scan_parquet(files, hive_partitioning=False)
           .select("pack_id", "timestamp", *[pl.col(c).alias(a) for c, a in _SAMPLE_NAMES.items()],
                   pl.col("cell_index_min").alias("imin"), cs.alias("cs"))
           .collect(engine="in-memory"))
    if raw.height == 0:
        return
    heads = raw.select(pl.arg_where(pl.col("pack_id").ne_missing(pl.col("pack_id").shift(1))
                                    | (pl.int_range(pl.len()) == 0))).to_series().to_numpy()
    code = raw["pack_id"].gather(heads).cast(ids, strict=False).to_physical()
    known = code.is_not_null().to_numpy()
    lens = np.diff(np.append(heads, raw.height))
    heads, lens, code = heads[known], lens[known], code.filter(pl.Series(known)).to_numpy().astype(np.uint32)
    raw = raw.drop("pack_id")
    order = np.argsort(code, kind="stable")  # each pack's runs in file order: days in order
    target = chunk_rows or CHUNK_ROWS

    def chunk(runs: list[int]) -> pl.DataFrame:
        frame = pl.concat([raw.slice(int(heads[j]), int(lens[j])) for j in runs], rechunk=True)
        frame = frame.with_columns(_pk=pl.Series(np.repeat(code[runs], lens[runs]), dtype=pl.UInt32))
        return _in_order(frame.select(
            "_pk", (pl.col("timestamp").dt.epoch("us").cast(pl.Float64) / 1e6).alias("t_s"),
            *[pl.col(a).cast(pl.Float64) for a in _SAMPLE_NAMES.values()], "imin", "cs",
            pl.lit(rated).gather(pl.col("_pk")).alias("rated_ah")))

    runs: list[int] = []
    rows = 0
    for j in order:
        if rows >= target and code[j] != code[runs[-1]]:  # a chunk holds whole packs
            yield chunk(runs)
            runs, rows = [], 0
        runs.append(int(j))
        rows += int(lens[j])
    if runs:
        yield chunk(runs)


def _in_order(df: pl.DataFrame) -> pl.DataFrame:
    """``df`` sorted by pack and time: as read when each pack's samples come in time order (the writers' order: one
    stable sort by pack), else sorted here."""
    ordered = df.select(((pl.col("t_s").diff() >= 0) | (pl.col("_pk") != pl.col("_pk").shift(1)).fill_null(True)).all()).item()
    return df if ordered else df.sort("_pk", "t_s")


_SAMPLE_NAMES = {"pack_current_a": "i", "pack_voltage_v": "v", "soc_pct": "soc", "cell_voltage_min_v": "vmin",
                 "cell_voltage_max_v": "vmax", "temperature_max_c": "tmax", "odometer_km": "odo"}


def sessions_polars(root: str | Path, *, progress: Callable[[int, int], None] | None = None,
                    workers: int | None = None) -> pl.DataFrame:
    """The session table of a fleet folder, by Polars, one vehicle bucket at a time per worker (``workers``
    buckets in memory at once; default one per CPU up to 2: the ordered passes over a bucket run on one core)."""
    import os
    from concurrent.futures import ThreadPoolExecutor

    root = Path(root)
    layout = FleetLayout.read(root)
    packs = read_packs(root)
    E = _PolarsSamples("_pk", "t_s")
    S = _PolarsSamples("pack_id", "sess")
    ids = packs.select(pl.col("pack_id").unique(maintain_order=True)).with_row_index("_pk").lazy()

    aggregates = [(name, kind, f(E)) for name, kind, f in SESSION_AGGREGATES]

    def sessions_of(df: pl.DataFrame) -> pl.DataFrame:
        lf = df.lazy().with_columns(**E.key_marks())
        for stage in sample_stages(layout.interval_s):
            lf = lf.with_columns(**{name: f(E) for name, f in stage.items()})
            if "sess" in stage:
                lf = lf.with_columns(**E.session_marks())
        # a session is a run of rows of the sorted frame: its number over the whole chunk is the group key. The
        # aggregated expressions are evaluated over the whole frame first (one vectorised pass each), so that the
        # group-by only reduces plain columns (an expression inside an aggregation runs group by group)
        lf = (lf.select(pl.col("_sstart").cum_sum().alias("_g"), "_pk", "sess",
                        *[e.alias(name) for name, kind, e in aggregates if kind != "count"])
              .set_sorted("_g"))
        return (lf.group_by("_g").agg(pl.col("_pk").first(), pl.col("sess").first(),
                                      *[E.aggregate(kind, pl.col(name)).alias(name) for name, kind, _ in aggregates])
                .drop("_g").collect(engine="in-memory"))  # the windows are ordered shifts and fills: not streamable

    def one(files: list[Path]) -> pl.DataFrame | None:
        parts = [sessions_of(df) for df in _polars_samples(files, packs)]
        if not parts:
            return None
        sess = pl.concat(parts).lazy().join(ids, on="_pk", how="left").sort("pack_id", "sess").with_columns(**S.key_marks())
        for stage in SESSION_STAGES:
            sess = sess.with_columns(**{name: f(S) for name, f in stage.items()})
        return sess.collect(engine="in-memory")

    groups = list(bucket_files(root).values())
    out = []
    # Polars releases the GIL: buckets in threads overlap the one-core passes of one with the others
    with ThreadPoolExecutor(max_workers=max(1, workers or min(2, os.cpu_count() or 1))) as pool:
        for n, part in enumerate(pool.map(one, groups), 1):
            if part is not None:
                out.append(part)
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
    """The session table of a fleet folder, by Spark (the same definition as PySpark columns), on ``spark``'s
    cluster."""
    from pyspark.sql import functions as F

    root = Path(root)
    layout = FleetLayout.read(root)
    packs = read_packs(root)
    tel = spark.read.parquet(str(root))  # partition discovery: date=…/bucket=…; files named _* are skipped
    ddl = ", ".join(f"{c} {'double' if t == pl.Float64 else 'bigint' if t == pl.Int64 else 'string'}"
                    for c, t in packs.schema.items())
    reg = spark.createDataFrame(packs.rows(), schema=ddl).select(
        "pack_id", F.col("rated_capacity_ah").cast("double").alias("rated_ah"))
    df = tel.select("pack_id", (F.unix_micros("timestamp").cast("double") / F.lit(1e6)).alias("t_s"),
                    *[F.col(c).cast("double").alias(a) for c, a in _SAMPLE_NAMES.items()],
                    F.col("cell_index_min").cast("long").alias("imin"), F.col("charging_state").alias("cs")
                    ).join(reg, on="pack_id", how="inner")
    E = _SparkSamples("pack_id", "t_s")
    for stage in sample_stages(layout.interval_s):
        df = df.withColumns({name: f(E) for name, f in stage.items()})
        if "sess" in stage:
            df = df.withColumns(E.session_marks())
    sess = df.groupBy("pack_id", "sess").agg(*[E.aggregate(kind, f(E)).alias(name)
                                               for name, kind, f in SESSION_AGGREGATES])
    S = _SparkSamples("pack_id", "sess")
    for stage in SESSION_STAGES:
        sess = sess.withColumns({name: f(S) for name, f in stage.items()})
    return _normalise_sessions(pl.from_arrow(sess.toArrow()))  # type: ignore[arg-type]


# ------------------------------------------------------------------------------------------------ per pack
def _slope(x: np.ndarray, y: np.ndarray) -> float | None:
    if x.size < 3 or float(np.ptp(x)) <= 0:
        return None
    xm = x - x.mean()
    return float(np.sum(xm * (y - y.mean())) / np.sum(xm * xm))


def _r(x: Any, nd: int = 6) -> Any:
    return None if x is None or (isinstance(x, float) and not math.isfinite(x)) else round(float(x), nd)


def rul_models(fec: np.ndarray) -> tuple[str, ...]:
    """The curve fits for a pack's history of ``fec`` (cumulative full equivalent cycles at each capacity estimate):
    both when it spans at least :data:`RUL_DOUBLE_EXP_MIN_FEC`, else the linear fit alone."""
    from ..health.rul import MODELS

    span = float(fec[-1] - fec[0]) if fec.size else 0.0
    return MODELS if span >= RUL_DOUBLE_EXP_MIN_FEC else ("linear",)


def _rul(fec: np.ndarray, cap_ah: np.ndarray, rated_ah: float, fec_per_day: float) -> dict[str, Any]:
    from ..health.errors import InsufficientDataError
    from ..health.rul import forecast_eol

    none = {"rul_fec": None, "rul_fec_lower": None, "rul_fec_upper": None, "rul_days": None}
    if fec.size < 10:
        return none
    try:
        with np.errstate(over="ignore"):  # the curve fits try exponents that overflow on the way; they are refused
            f = forecast_eol(fec, cap_ah, threshold=EOL_SOH_PCT / 100, initial_capacity_ah=rated_ah, draws=RUL_DRAWS,
                             population=(), models=rul_models(fec), warm_start=RUL_WARM_START)
    except (InsufficientDataError, ValueError, np.linalg.LinAlgError):
        return none
    if f.remaining_cycles is None:
        return none
    last = float(fec[-1])  # an end of life already in the history is 0 remaining, its bounds too (not negative)
    return {"rul_fec": _r(f.remaining_cycles, 3), "rul_fec_lower": _r(max(0.0, f.lower - last), 3) if f.lower is not None else None,
            "rul_fec_upper": _r(max(0.0, f.upper - last), 3) if f.upper is not None else None,
            "rul_days": _r(f.remaining_cycles / fec_per_day, 1) if fec_per_day > 0 else None}


def fade_forecast(soh_pct: float, soh_se_pct: float, age_days: float, fec_per_day: float, chemistry: str,
                  temperature_c: float, *, draws: int = RUL_FADE_DRAWS, seed: int = 0) -> dict[str, Any]:
    """Remaining life to :data:`EOL_SOH_PCT` of one pack by the reference fade model anchored at its measured state
    (:func:`fade_forecasts`, which does many packs at once)."""
    return fade_forecasts(np.array([soh_pct]), np.array([soh_se_pct]), np.array([age_days]), np.array([fec_per_day]),
                          [chemistry], np.array([temperature_c]), draws=draws, seed=seed)[0]


def fade_forecasts(soh_pct: np.ndarray, soh_se_pct: np.ndarray, age_days: np.ndarray, fec_per_day: np.ndarray,
                   chemistry: list[str], temperature_c: np.ndarray, *, draws: int = RUL_FADE_DRAWS,
                   seed: int = 0) -> list[dict[str, Any]]:
    """Remaining life to :data:`EOL_SOH_PCT` by the reference fade model anchored at each pack's measured state.

    The fade model of :mod:`batteryloop.sim.fade` (``loss = k·FEC^z + c·sqrt(years)``; ``z`` and the calendar
    level ``c = b(chemistry)·A(T)`` from :mod:`batteryloop.reference.first_life_fade`, ``T`` the pack's mean
    temperature in the window) is fitted to each pack: its cumulative cycles so far are taken as its age × its
    cycles per day in the window (steady use), its calendar loss is ``c·sqrt(age)`` (at most the whole loss), and
    ``k`` is what makes the rest of the measured loss. The model then runs forward at the window's cycles per day
    until it falls below the threshold (bisection). Under steady use the days left do not depend on the rate of use
    (it made the loss so far too); the cycles left are those days × the rate. The interval (:data:`RUL_INTERVAL`) is
    a Monte Carlo over what is not known: the state of health (its standard error), the past and future use
    (log-normal, :data:`RUL_SIGMA_LOG_USE`, :data:`RUL_SIGMA_LOG_FUTURE_USE`), the calendar level
    (:data:`RUL_SIGMA_LOG_CALENDAR`) and the cycle exponent (:data:`RUL_SIGMA_Z`). Returns per pack ``rul_fec`` (and
    its bounds, in full equivalent cycles from the end of the window) and ``rul_days``; an upper bound past
    :data:`RUL_HORIZON_YEARS` is empty, and so is the whole forecast when its point is, or when the chemistry has no
    calendar level, the age or the use is not positive."""
    from ..sim.fade import chemistry_family, default_model

    none = {"rul_fec": None, "rul_fec_lower": None, "rul_fec_upper": None, "rul_days": None}
    fm, _ = default_model()
    b = np.array([fm.calendar_b.get(chemistry_family(c), np.nan) for c in chemistry], dtype=float)
    soh_pct, soh_se_pct, age_days, fec_per_day, temperature_c = (
        np.asarray(x, dtype=float) for x in (soh_pct, soh_se_pct, age_days, fec_per_day, temperature_c))
    ok = np.isfinite(b) & (age_days > 0) & (fec_per_day > 0) & np.isfinite(soh_pct) & np.isfinite(temperature_c)
    m = len(chemistry)
    rng = np.random.default_rng(seed)
    shock = rng.standard_normal((5, m, draws + 1))
    shock[:, :, 0] = 0.0  # draw 0 is the point: every uncertain input at its central value
    col = lambda x: np.where(ok, x, 1.0)[:, None]  # noqa: E731  (unusable packs computed on harmless values)
    years = col(age_days) / 365.0
    soh = np.minimum(col(soh_pct) + col(soh_se_pct) * shock[0], 100.0)
    fec0 = col(fec_per_day) * col(age_days) * np.exp(RUL_SIGMA_LOG_USE * shock[1])
    rate = col(fec_per_day) * np.exp(RUL_SIGMA_LOG_FUTURE_USE * shock[2])
    cal = col(b) * fm.arrhenius(col(temperature_c)) * np.exp(RUL_SIGMA_LOG_CALENDAR * shock[3])
    z = fm.z + RUL_SIGMA_Z * shock[4]
    loss = 1.0 - soh / 100.0
    cal_loss = np.minimum(cal * np.sqrt(years), loss)
    cal = cal_loss / np.sqrt(years)
    k = (loss - cal_loss) / np.power(fec0, z)
    eol_loss = 1.0 - EOL_SOH_PCT / 100.0

    def loss_after(d: np.ndarray) -> np.ndarray:
        return k * np.power(fec0 + rate * d, z) + cal * np.sqrt(years + d / 365.0)

    horizon = RUL_HORIZON_YEARS * 365.0
    lo, hi = np.zeros_like(loss), np.full_like(loss, horizon)
    reached = loss >= eol_loss
    beyond = loss_after(hi) < eol_loss
    for _ in range(26):  # bisection: 40 years / 2^26 is about 20 seconds
        mid = (lo + hi) / 2
        over = loss_after(mid) >= eol_loss
        hi, lo = np.where(over, mid, hi), np.where(over, lo, mid)
    fec_left = np.where(reached, 0.0, np.where(beyond, np.inf, rate * hi))
    a = (1.0 - RUL_INTERVAL) / 2
    out = []
    for j in range(m):
        point = float(fec_left[j, 0])
        if not ok[j] or not math.isfinite(point):
            out.append(dict(none))
            continue
        low, high = ((float(x) for x in np.quantile(fec_left[j, 1:], [a, 1.0 - a], method="inverted_cdf"))
                     if draws else (point, point))
        out.append({"rul_fec": _r(point, 3), "rul_fec_lower": _r(min(low, point), 3),
                    "rul_fec_upper": _r(max(high, point), 3) if math.isfinite(high) else None,
                    "rul_days": _r(point / float(fec_per_day[j]), 1)})
    return out


def pack_figures(sessions: pl.DataFrame, packs: pl.DataFrame) -> pl.DataFrame:
    """One row per pack from the session table: the figures, the fault flags and their evidence."""
    rows = []
    table = sessions.sort("pack_id", "sess") if sessions.height else sessions
    cols = {c: table[c].to_numpy() for c in SESSION_COLUMNS} if table.height else {}
    if table.height:  # strings as NumPy str arrays (a null mode, e.g. no previous session, becomes "")
        for c in ("mode", "prev_mode"):
            cols[c] = table[c].fill_null("").to_numpy().astype(str)
    bounds: dict[str, tuple[int, int]] = {}
    if table.height:  # each pack's rows: the runs of the sorted pack_id
        runs = table.select(pl.col("pack_id").rle()).unnest("pack_id")
        ends = np.cumsum(runs["len"].to_numpy())
        bounds = dict(zip(runs["value"].to_list(), zip((ends - runs["len"].to_numpy()).tolist(), ends.tolist())))
    for pk in packs.sort("pack_id").iter_rows(named=True):
        b = bounds.get(pk["pack_id"])
        rows.append(_one_pack(pk, None if b is None else {c: v[b[0]:b[1]] for c, v in cols.items()}))
    todo = [r for r in rows if "_fade" in r]
    if todo:
        inputs = list(zip(*(r.pop("_fade") for r in todo)))
        for r, f in zip(todo, fade_forecasts(*(np.array(x) for x in inputs[:4]), list(inputs[4]), np.array(inputs[5]))):
            r.update(f)
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


def _one_pack(pk: dict[str, Any], s: dict[str, np.ndarray] | None) -> dict[str, Any]:
    """One pack's figures from its sessions (``s``: column → NumPy array in session order; nulls are NaN)."""
    import datetime as dt

    rated = float(pk["rated_capacity_ah"])
    out: dict[str, Any] = {c: None for c in _OUT_SCHEMA}
    out.update(pack_id=pk["pack_id"], vehicle_id=pk["vehicle_id"], segment=pk["segment"], chemistry=pk["chemistry"],
               rated_capacity_ah=rated, faults="")
    if s is None or s["n"].size == 0:
        return out
    mode, dur = s["mode"], s["t_end"] - s["t_start"]
    dsoc = s["soc_end"] - s["soc_start"]
    t0, t1 = float(s["t_start"].min()), float(s["t_end"].max())
    window_days = (t1 - t0) / 86400.0
    out["window_days"] = _r(window_days, 4)
    out["measured_at"] = dt.datetime.fromtimestamp(t1, dt.UTC).isoformat()
    out["samples"] = int(s["n"].sum())
    first = pk.get("first_use_date")
    if first:
        out["age_days"] = (dt.datetime.fromtimestamp(t1, dt.UTC).date() - dt.date.fromisoformat(first)).days
    fec_cum = np.cumsum(s["ah_abs"]) / (2 * rated)
    out["fec_in_window"] = _r(fec_cum[-1], 4)
    # capacity from charge sessions
    chg = ((mode == "ac") | (mode == "dc")) & (dsoc >= MIN_DSOC_PCT)
    if chg.any():
        cap = s["ah"][chg] / (dsoc[chg] / 100.0)
        out["capacity_ah"] = _r(float(np.median(cap)), 4)
        out["soh_pct"] = _r(100.0 * float(np.median(cap)) / rated, 4)
        out["capacity_sessions"] = int(cap.size)
        slope = _slope(s["t_end"][chg] / 86400.0, 100.0 * cap / rated)
        out["soh_trend_pct_per_30d"] = _r(None if slope is None else slope * 30.0, 4)
        fec_per_day = fec_cum[-1] / window_days if window_days > 0 else 0.0
        if RUL_METHOD == "fade model" and out["age_days"] is not None and out["age_days"] > 0:
            se = max(RUL_MIN_SOH_SE_PCT, 1.2533 * 100.0 * float(np.std(cap)) / rated / math.sqrt(cap.size))
            temperature = float(np.nansum(s["tmax_sum"])) / float(s["n"].sum())
            out["_fade"] = (100.0 * float(np.median(cap)) / rated, se, float(out["age_days"]), fec_per_day,
                            pk["chemistry"], temperature)  # forecast for all packs at once by pack_figures
        else:  # no age: the curve fits on the window's capacities alone
            out.update(_rul(fec_cum[chg], cap, rated, fec_per_day))
    # resistance from current steps while driving
    drv = (mode == "drive") & (s["r_steps"] >= 3) & (s["r_den"] > 0)
    if drv.any():
        out["resistance_mohm"] = _r(1000.0 * float(np.median(s["r_num"][drv] / s["r_den"][drv])), 4)
        out["resistance_sessions"] = int(drv.sum())
    flags = []
    # self-discharge: spread growth at rest
    rest = ((mode == "rest") & (dur >= MIN_REST_H * 3600) & (np.abs(dsoc) <= MAX_REST_DSOC_PCT)
            & (s["soc_start"] >= MID_SOC_PCT[0]))
    sd_flag = False
    if rest.any():
        hours = float(dur[rest].sum()) / 3600.0
        growth = float(np.nansum(s["spread_end"][rest] - s["spread_start"][rest])) * 1000.0 / (hours / 24.0)
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
        ends = s["imin_end"][(mode == "drive") & (s["soc_end"] <= LOW_SOC_PCT)]
        ends = ends[~np.isnan(ends)] if ends.dtype.kind == "f" else ends
        if ends.size:
            values, counts = np.unique(ends, return_counts=True)  # the most frequent, the lowest index on a tie
            out["weak_cell_index"] = int(values[int(np.argmax(counts))])
        if excess >= THRESHOLDS["weak_cell_excess_mv"] and not sd_flag:
            flags.append("weak_cell")
    # cooling: the hottest sensor still rising above HOT_C under load
    load = (mode == "ac") | (mode == "dc") | (mode == "drive")
    out["temperature_peak_c"] = _r(float(np.nanmax(s["tmax_peak"])), 3)
    c2 = float(s["heat_c2_min"][load].sum())
    if c2 >= MIN_HEAT_C2_MIN and float(s["heat_time_s"][load].sum()) >= MIN_HOT_S:
        rate = float(s["heat_rise_k"][load].sum()) / c2
        out["cooling_rise_k_per_min_c2"] = _r(rate, 5)
        if rate >= THRESHOLDS["cooling_rise_k_per_min_c2"]:
            flags.append("cooling_failure")
    # lithium plating: late relaxation in rests right after DC charges (NaN comparisons are false: no such rest)
    with np.errstate(invalid="ignore"):
        relax = ((mode == "rest") & (s["prev_mode"] == "dc") & ~np.isnan(s["v10"]) & ~np.isnan(s["v30"])
                 & ((s["t_start"] - s["prev_end"]) <= 600.0) & ((s["v0"] - s["v10"]) > 0))
    if relax.any():
        ratio = float(np.median((s["v10"][relax] - s["v30"][relax]) / (s["v0"][relax] - s["v10"][relax])))
        out["plating_relaxation_ratio"] = _r(ratio, 5)
        out["plating_events"] = int(relax.sum())
        if relax.sum() >= 2 and ratio >= THRESHOLDS["plating_relaxation_ratio"]:
            flags.append("lithium_plating")
    # sensor drift: pack voltage / highest cell voltage at rest, over time
    rr = (mode == "rest") & (s["n"] >= 10)
    if rr.sum() >= 3:
        ratio = s["ratio_sum"][rr] / s["n"][rr]
        t = (s["t_start"][rr] + s["t_end"][rr]) / 2.0 / 86400.0
        slope = _slope(t, ratio / float(np.mean(ratio)))
        if slope is not None and float(np.ptp(t)) >= 2.0:
            drift = slope * 30.0 * 100.0
            out["sensor_drift_pct_per_30d"] = _r(drift, 5)
            if abs(drift) >= THRESHOLDS["sensor_drift_pct_per_30d"]:
                flags.append("sensor_drift")
    out["faults"] = ";".join(k for k in FAULT_KINDS if k in flags)
    return out


# ------------------------------------------------------------------------------------------------ entry point
def telemetry_summary(sessions: pl.DataFrame) -> pl.DataFrame:
    """Each pack's telemetry per mode (the dashboard's drill-down): sessions, hours, samples, Ah into and out of
    the pack, the highest temperature, the first and last sample (UTC)."""
    if sessions.height == 0:
        return pl.DataFrame(schema={"pack_id": pl.String, "mode": pl.String, "sessions": pl.UInt32, "hours": pl.Float64,
                                    "samples": pl.Int64, "ah_in": pl.Float64, "ah_out": pl.Float64,
                                    "temperature_peak_c": pl.Float64, "first": pl.String, "last": pl.String})
    return (sessions.group_by("pack_id", "mode").agg(
        pl.len().alias("sessions"), ((pl.col("t_end") - pl.col("t_start")).sum() / 3600.0).round(3).alias("hours"),
        pl.col("n").sum().alias("samples"),
        ((pl.col("ah_abs") + pl.col("ah")) / 2).sum().round(3).alias("ah_in"),
        ((pl.col("ah_abs") - pl.col("ah")) / 2).sum().round(3).alias("ah_out"),
        pl.col("tmax_peak").max().round(2).alias("temperature_peak_c"),
        pl.from_epoch((pl.col("t_start").min() * 1e6).cast(pl.Int64), "us").dt.strftime("%Y-%m-%d %H:%M").alias("first"),
        pl.from_epoch((pl.col("t_end").max() * 1e6).cast(pl.Int64), "us").dt.strftime("%Y-%m-%d %H:%M").alias("last"),
    ).sort("pack_id", "mode"))


def analyze(root: str | Path, *, engine: str = "polars", master: str | None = None, spark: Any = None,
            progress: Callable[[int, int], None] | None = None) -> pl.DataFrame:
    """The per-pack table of a fleet folder (see the module's docstring), by ``engine`` ``polars`` or ``spark``."""
    return analyze_with_summary(root, engine=engine, master=master, spark=spark, progress=progress)[0]


def analyze_with_summary(root: str | Path, *, engine: str = "polars", master: str | None = None, spark: Any = None,
                         progress: Callable[[int, int], None] | None = None) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The per-pack table and the packs' telemetry summary (:func:`telemetry_summary`) of a fleet folder."""
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
    return pack_figures(sessions, read_packs(root)), telemetry_summary(sessions)


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
