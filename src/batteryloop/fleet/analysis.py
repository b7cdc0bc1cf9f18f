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

import functools
import math
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future
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
        # a session's mode is one, and its samples are in time order: its first and last, not a minimum or maximum
        ("mode", "first", lambda E: c(E, "mode")),
        ("t_start", "first", lambda E: c(E, "t_s")),
        ("t_end", "last", lambda E: c(E, "t_s")),
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
    shift (masked where the key changes), a running sum a cumulative sum over the key's runs (or over the whole frame,
    ``running_sum_over_frame``, for the caller to rebase per key), the time since the
    session's start a forward fill of its first row, and the aggregates run over the sorted group-by's slices
    (``first``, ``last``, ``head(n)``, ``tail(n)``) — no window re-sorts. The marks these need, ``_first`` (the
    key's first row) and ``_sstart`` (a session's first row), are columns of the frame, computed once
    (:meth:`key_marks` before the stages, :meth:`session_marks` once ``sess`` exists) rather than again inside every
    expression that uses them."""

    def __init__(self, key: str, order: str, *, running_sum_over_frame: bool = False) -> None:
        self.key, self.order = key, order
        self._first, self._sstart = pl.col("_first"), pl.col("_sstart")
        self.frame_running_sums = running_sum_over_frame  # running sums over the whole frame, for the caller to rebase
        self.running_sums: list[str] = []  # the columns running_sum was asked for

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
        self.running_sums.append(name)
        if self.frame_running_sums:  # the frame's cumulative sum: sessions_polars makes it the key's own after aggregating
            return pl.col(name).cum_sum()
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


def _normalise_sessions(df: pl.DataFrame, *, in_order: bool = False) -> pl.DataFrame:
    """The session table as both engines hand it over: :data:`SESSION_COLUMNS` with their types, the modes by name,
    in pack and session order (``in_order``: ``df`` is in that order already)."""
    ints = {"sess", "n", "r_steps", "n_low", "n_mid", "imin_end"}
    names = dict(enumerate(MODES))
    df = df.with_columns(pl.col(c).cast(pl.Int64).replace_strict(names, return_dtype=pl.String) for c in ("mode", "prev_mode"))
    df = df.select(SESSION_COLUMNS).cast({c: (pl.Int64 if c in ints else pl.Float64) for c in SESSION_COLUMNS
                                          if c not in ("pack_id", "mode", "prev_mode")})
    return df if in_order else df.sort("pack_id", "sess")


# ------------------------------------------------------------------------------------------------ engines
def _polars_samples(files: list[Path], packs: pl.DataFrame, chunk_rows: int | None = None) -> Iterator[pl.DataFrame]:
    """One bucket's samples as frames of whole packs, one after the other (:func:`_bucket_chunks`)."""
    return (make() for make in _bucket_chunks(files, packs, chunk_rows))


def _bucket_chunks(files: list[Path], packs: pl.DataFrame,
                   chunk_rows: int | None = None) -> list[Callable[[], pl.DataFrame]]:
    """One bucket's samples under the definition's names, with the pack's rated capacity, in pack and time order, as
    frames of whole packs of about ``chunk_rows`` rows each (default :data:`CHUNK_ROWS`; the packs in registry
    order). The pack is its place among the registry's pack ids in sorted order (``_pk``, so that ordering by it is
    ordering by ``pack_id``; samples of a pack the registry lacks are left out, as Spark's inner join leaves them;
    a pack listed twice has the first listing's capacity); the charging state is an Enum of the layout's (another value is null, which
    equals none).

    The writers keep each file in vehicle and time order, so a bucket read file after file is a few runs of rows
    per pack (one per day): the registry lookup is done once per run, not once per row, and each chunk is put
    together from its packs' runs (copies of contiguous slices, in file order) instead of a sort of the whole
    bucket — then the chunk's work runs while it is still in the processor's cache. A chunk whose packs' samples
    are not in time order (files written otherwise) is sorted. The columns are widened to Float64 (Spark's
    arithmetic) per chunk, after the reordering, so that it moves half the bytes.

    The bucket is read here; each chunk is put together when its function is called (any thread, in any order:
    :func:`sessions_polars` hands them to its workers)."""
    packs = _registry_in_order(packs)
    ids = pl.Enum(packs["pack_id"])
    rated = packs["rated_capacity_ah"].cast(pl.Float64).to_numpy()
    states = pl.Enum(CHARGING_STATES)
    cs = pl.when(False).then(pl.lit(None, states))
    for state in CHARGING_STATES:  # equality tests build the Enum without hashing each row's string
        cs = cs.when(pl.col("charging_state") == state).then(pl.lit(state, states))
    raw = (pl.scan_parquet(files, hive_partitioning=False)
           .select("pack_id", "timestamp", *[pl.col(c).alias(a) for c, a in _SAMPLE_NAMES.items()],
                   pl.col("cell_index_min").alias("imin"), cs.alias("cs"))
           .collect(engine="in-memory"))
    if raw.height == 0:
        return []
    runs_of = raw.select(pl.col("pack_id").rle()).unnest("pack_id")  # the pack's runs of rows: length, pack id
    lens = runs_of["len"].to_numpy().astype(np.int64)
    heads = np.cumsum(lens) - lens
    code = runs_of["value"].cast(ids, strict=False).to_physical()
    known = code.is_not_null().to_numpy()
    heads, lens, code = heads[known], lens[known], code.filter(pl.Series(known)).to_numpy().astype(np.uint32)
    raw = raw.drop("pack_id")
    order = np.argsort(code, kind="stable")  # each pack's runs in file order: days in order
    target = chunk_rows or CHUNK_ROWS

    def chunk(runs: list[int]) -> pl.DataFrame:
        frame = pl.concat([raw.slice(int(heads[j]), int(lens[j])) for j in runs], rechunk=True)
        pk = code[runs]
        frame = frame.with_columns(_pk=pl.Series(np.repeat(pk, lens[runs]), dtype=pl.UInt32),  # a run's pack, repeated
                                   rated_ah=pl.Series(np.repeat(rated[pk], lens[runs]), dtype=pl.Float64))
        return _in_order(frame.select(
            "_pk", (pl.col("timestamp").dt.epoch("us").cast(pl.Float64) / 1e6).alias("t_s"),
            *[pl.col(a).cast(pl.Float64) for a in _SAMPLE_NAMES.values()], "imin", "cs", "rated_ah"))

    out: list[Callable[[], pl.DataFrame]] = []
    runs: list[int] = []
    rows = 0
    for j in order:
        if rows >= target and code[j] != code[runs[-1]]:  # a chunk holds whole packs
            out.append(lambda runs=runs: chunk(runs))
            runs, rows = [], 0
        runs.append(int(j))
        rows += int(lens[j])
    if runs:
        out.append(lambda runs=runs: chunk(runs))
    return out


def _in_order(df: pl.DataFrame) -> pl.DataFrame:
    """``df`` sorted by pack and time: as read when each pack's samples come in time order (the writers' order: one
    stable sort by pack), else sorted here."""
    ordered = df.select(((pl.col("t_s").diff() >= 0) | (pl.col("_pk") != pl.col("_pk").shift(1)).fill_null(True)).all()).item()
    return df if ordered else df.sort("_pk", "t_s")


def _registry_in_order(packs: pl.DataFrame) -> pl.DataFrame:
    """The registry's packs, each once (its first listing), in ``pack_id`` order: a pack's number (``_pk``) is its row
    here."""
    return packs.filter(pl.col("pack_id").is_not_null()).unique("pack_id", keep="first", maintain_order=True).sort("pack_id")


_SAMPLE_NAMES = {"pack_current_a": "i", "pack_voltage_v": "v", "soc_pct": "soc", "cell_voltage_min_v": "vmin",
                 "cell_voltage_max_v": "vmax", "temperature_max_c": "tmax", "odometer_km": "odo"}


def check_polars_translation(stages: list[dict[str, Callable[[Any], Any]]],
                             aggregates: list[tuple[str, str, Callable[[Any], Any]]]) -> None:
    """Refuse (NotImplementedError, naming the column) a definition :func:`sessions_polars` would mistranslate.

    Over a chunk's frame — whole packs, one after the other — the Polars translation computes a running sum as a
    plain cumulative sum over the frame (``running_sum_over_frame``), and rebases only the session number per pack
    after the aggregation, which is right because ``sess`` is the running sum of ``new_session`` (1 on a pack's first
    sample, so the frame-wide number rises by one at each session's start). Any other running sum — in another
    sample stage, of another column, or inside a session aggregate — would carry one pack's total into the next
    pack's rows: the sessions of all but a chunk's first pack would be wrong, silently."""
    probe = _PolarsSamples("_pk", "t_s")
    for stage in stages:
        for name, f in stage.items():
            before = len(probe.running_sums)
            f(probe)
            asked = probe.running_sums[before:]
            if asked and (name != "sess" or asked != ["new_session"]):
                raise NotImplementedError(f"the Polars translation rebases the running sum of the session number only "
                                          f"(sess = running_sum('new_session')), not {name!r} "
                                          f"(running_sum of {', '.join(map(repr, asked))})")
    for name, _kind, f in aggregates:
        before = len(probe.running_sums)
        f(probe)
        if len(probe.running_sums) > before:
            raise NotImplementedError(f"the Polars translation rebases the running sum of the session number only, "
                                      f"not one inside the session aggregate {name!r}")


@functools.cache
def _polars_translation_checked(interval_s: float) -> bool:
    """:func:`check_polars_translation` of the definition at one sample interval: once per interval and process (the
    definition is fixed; only its thresholds depend on the interval). A refused definition is not cached."""
    check_polars_translation(sample_stages(interval_s), SESSION_AGGREGATES)
    return True


def sessions_polars(root: str | Path, *, progress: Callable[[int, int], None] | None = None,
                    workers: int | None = None) -> pl.DataFrame:
    """The session table of a fleet folder, by Polars. The buckets are read one after the other (Polars decodes a
    bucket's files in parallel) and cut into chunks of whole packs (:func:`_bucket_chunks`), which ``workers``
    threads analyse (default: one per CPU, at least 2) while the next bucket is read: the work is shared out chunk
    by chunk, so no core waits for the last bucket, and at most about two buckets are in memory."""
    import os
    from collections import deque
    from concurrent.futures import ThreadPoolExecutor

    root = Path(root)
    layout = FleetLayout.read(root)
    packs = read_packs(root)
    # the session number is the definition's running sum of new_session per pack; over a chunk's frame (whole packs,
    # one after the other) it is a plain cumulative sum, rebased per pack once the samples are aggregated: a
    # cum_sum().over(pack) cost a third of the stages' CPU. new_session is 1 on a pack's first sample (nothing before
    # it) and on each session's first, so the frame-wide number rises by one at every session's first sample: it is
    # the group key of the sorted group-by, and a pack's sessions are numbered from its lowest frame-wide number + 1 on
    # the definition is checked against that translation once per sample interval (check_polars_translation)
    _polars_translation_checked(layout.interval_s)
    E = _PolarsSamples("_pk", "t_s", running_sum_over_frame=True)
    S = _PolarsSamples("_pk", "sess")
    ids = _registry_in_order(packs)["pack_id"]  # by _pk
    # the expressions are built once, not per chunk
    stages = [{name: f(E) for name, f in stage.items()} for stage in sample_stages(layout.interval_s)]
    aggregates = [(name, kind, f(E)) for name, kind, f in SESSION_AGGREGATES]
    evaluated = [e.alias(name) for name, kind, e in aggregates if kind != "count"]
    reduced = [E.aggregate(kind, pl.col(name)).alias(name) for name, kind, _ in aggregates]
    session_stages = [{name: f(S) for name, f in stage.items()} for stage in SESSION_STAGES]

    def sessions_of(make: Callable[[], pl.DataFrame]) -> pl.DataFrame:
        """The sessions of one chunk (whole packs), with the session stages: in (_pk, sess) order."""
        lf = make().lazy().with_columns(**E.key_marks())
        for stage in stages:
            lf = lf.with_columns(**stage)
            if "sess" in stage:
                lf = lf.with_columns(**E.session_marks())
        # a session is a run of rows of the sorted frame, numbered by sess. The aggregated expressions are evaluated
        # over the whole frame first (one vectorised pass each), so that the group-by only reduces plain columns (an
        # expression inside an aggregation runs group by group)
        lf = lf.select("_pk", "sess", *evaluated).set_sorted("sess")
        sess = (lf.group_by("sess", maintain_order=True).agg(pl.col("_pk").first(), *reduced)
                .with_columns(sess=pl.col("sess") - pl.col("sess").min().over("_pk") + 1)  # rebased per pack
                .with_columns(**S.key_marks()))
        for stage in session_stages:  # over each pack's sessions: the chunk holds whole packs
            sess = sess.with_columns(**stage)
        return sess.collect(engine="in-memory")  # the windows are ordered shifts and fills: not streamable

    groups = list(bucket_files(root).values())
    n_workers = max(1, workers or max(2, os.cpu_count() or 1))
    ahead = 12  # chunks handed out and not yet collected: about a bucket (its frame stays in memory until then)
    todo: deque[tuple[Future[pl.DataFrame] | None, int | None]] = deque()  # (a chunk's work, the bucket it ends)
    out: list[pl.DataFrame] = []

    def collect_one() -> None:
        work, bucket_done = todo.popleft()
        if work is not None:
            out.append(work.result())
        if bucket_done is not None and progress:
            progress(bucket_done, len(groups))

    # Polars releases the GIL: the workers' chunks and the next bucket's reading share the cores
    with ThreadPoolExecutor(max_workers=n_workers) as pool:
        try:
            for n, files in enumerate(groups, 1):
                makers = _bucket_chunks(files, packs)
                if not makers:
                    todo.append((None, n))
                for k, make in enumerate(makers, 1):
                    todo.append((pool.submit(sessions_of, make), n if k == len(makers) else None))
                    while len(todo) > ahead:
                        collect_one()
            while todo:
                collect_one()
        finally:
            for work, _ in todo:  # an error: the chunks not started are not run
                if work is not None:
                    work.cancel()
    if not out:
        return pl.DataFrame()
    # each chunk is whole packs in (_pk, sess) order, so a stable sort by the pack puts the buckets' packs, which
    # interleave in pack_id order, in (pack_id, sess) order — unless a pack's samples were in two buckets
    whole = pl.concat(out, rechunk=True).sort("_pk", maintain_order=True)
    if not whole.select(((pl.col("sess").diff() > 0) | (pl.col("_pk") != pl.col("_pk").shift(1))).all()).item():
        whole = whole.sort("_pk", "sess")
    return _normalise_sessions(whole.with_columns(pack_id=ids.gather(whole["_pk"])), in_order=True)


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
    reached = loss >= eol_loss
    beyond = loss_after(np.full_like(loss, horizon)) < eol_loss
    hi = _crossing(k, fec0, rate, cal, years, z, eol_loss, horizon).reshape(loss.shape)
    fec_left = np.where(reached, 0.0, np.where(beyond, np.inf, rate * hi))
    a = (1.0 - RUL_INTERVAL) / 2
    point = fec_left[:, 0]
    # the interval of every pack at once (a quantile by inverted_cdf picks a draw: the same as pack by pack)
    low, high = (np.quantile(fec_left[:, 1:], [a, 1.0 - a], axis=1, method="inverted_cdf") if draws and m
                 else (point, point))
    out = []
    for j in range(m):
        p = float(point[j])
        if not ok[j] or not math.isfinite(p):
            out.append(dict(none))
            continue
        lo_j, hi_j = float(low[j]), float(high[j])
        out.append({"rul_fec": _r(p, 3), "rul_fec_lower": _r(min(lo_j, p), 3),
                    "rul_fec_upper": _r(max(hi_j, p), 3) if math.isfinite(hi_j) else None,
                    "rul_days": _r(p / float(fec_per_day[j]), 1)})
    return out


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


RUL_BISECTION_STEPS = 26  # 40 years / 2^26 is about 20 seconds
#: Newton steps before the two-point check: on the 20,000 drawn states of tests/fleet/test_rul_resistance.py, 4 steps
#: leave 2,538 unsettled (bisected), 6 leave 7, 8 leave none (measured 2026-12-05)
RUL_NEWTON_STEPS = 8


def _crossing(k: np.ndarray, fec0: np.ndarray, rate: np.ndarray, cal: np.ndarray, years: np.ndarray, z: np.ndarray,
              eol_loss: float, horizon: float) -> np.ndarray:
    """Where the fade model's loss ``k·(fec0 + rate·d)^z + cal·sqrt(years + d/365)`` reaches ``eol_loss``, as a
    bisection of [0, ``horizon``] in :data:`RUL_BISECTION_STEPS` halvings ends (its upper end, ``horizon`` when the
    loss stays below): the least grid point d = horizon·j / 2^steps, j ≥ 1, where the loss reaches it (the arrays
    broadcast together; the result is flat).

    The bisection's end without its 26 evaluations: Newton's method from d = 0 (the loss increases and is concave
    in d, so the iterates approach the crossing from below) gives j, and the loss at j and at j − 1 is checked —
    neighbouring grid points (≈ 2e-4 days apart) differ in loss by orders of magnitude more than its rounding, so
    the loss is monotone across them and j is the bisection's own point, to the bit (``tests/fleet``
    compares them). An element that the check does not settle is bisected."""
    end, todo, over = _crossing_by_newton(k, fec0, rate, cal, years, z, eol_loss, horizon)
    if todo.size:  # not settled: bisected
        lo, hi = np.zeros(todo.size), np.full(todo.size, horizon)
        for _ in range(RUL_BISECTION_STEPS):
            mid = (lo + hi) / 2
            o = over(todo, mid)
            hi, lo = np.where(o, mid, hi), np.where(o, lo, mid)
        end[todo] = hi
    return end


def _crossing_by_newton(k: np.ndarray, fec0: np.ndarray, rate: np.ndarray, cal: np.ndarray, years: np.ndarray,
                        z: np.ndarray, eol_loss: float, horizon: float) -> tuple[np.ndarray, np.ndarray, Any]:
    """:func:`_crossing`'s grid point by Newton's method and its two-point check: (the ends, the indices the check
    did not settle, the loss test ``over(indices, d)`` on the flattened arrays)."""
    shape = np.broadcast_shapes(k.shape, fec0.shape, rate.shape, cal.shape, years.shape, z.shape)
    k, fec0, rate, cal, years, z = (np.broadcast_to(x, shape).ravel() for x in (k, fec0, rate, cal, years, z))
    grid = 2.0 ** RUL_BISECTION_STEPS

    def over(i: np.ndarray, d: np.ndarray) -> np.ndarray:
        return k[i] * np.power(fec0[i] + rate[i] * d, z[i]) + cal[i] * np.sqrt(years[i] + d / 365.0) >= eol_loss

    d = np.zeros(k.size)
    with np.errstate(all="ignore"):
        for _ in range(RUL_NEWTON_STEPS):
            p = fec0 + rate * d
            pz = np.power(p, z)
            root = np.sqrt(years + d / 365.0)
            d = np.clip(d - (k * pz + cal * root - eol_loss) / (k * z * rate * pz / p + cal / (730.0 * root)), 0.0, horizon)
        j = np.clip(np.ceil(np.where(np.isfinite(d), d, 0.0) / horizon * grid), 1.0, grid)
    every = np.arange(k.size)
    at_j = np.ones(k.size, bool)  # j = 2^steps: the end of a bisection that never crossed
    inner = j < grid
    at_j[inner] = over(every[inner], horizon * j[inner] / grid)
    before = np.zeros(k.size, bool)  # j = 1: the bisection's lower end, 0, is never evaluated
    later = j > 1
    before[later] = over(every[later], horizon * (j[later] - 1.0) / grid)
    end = horizon * j / grid
    return end, np.flatnonzero(~at_j | before), over


def pack_figures(sessions: pl.DataFrame, packs: pl.DataFrame) -> pl.DataFrame:
    """One row per pack from the session table: the figures, the fault flags and their evidence (a row per registry
    row, in ``pack_id`` order).

    All packs at once: the session table in pack and session order (as both engines hand it over; sorted here
    otherwise) is a run of rows per pack; each figure is elementwise arithmetic over the whole table, then a
    reduction per run. The reductions whose result depends on the order of the additions (NumPy's pairwise sums,
    means, standard deviations; medians) run on the runs laid out as the rows of a 2-D array, one array per number
    of values (:func:`_by_count`): NumPy reduces each row as it reduces the 1-D array of one pack, so the figures are
    those of a loop over the packs, to the bit."""
    import datetime as dt

    reg = packs.sort("pack_id", maintain_order=True)
    R = reg.height
    cols: dict[str, list[Any]] = {c: [None] * R for c in _OUT_SCHEMA}
    for c in ("pack_id", "vehicle_id", "segment", "chemistry"):
        cols[c] = reg[c].to_list()
    rated = reg["rated_capacity_ah"].cast(pl.Float64).to_numpy()
    cols["rated_capacity_ah"] = rated.tolist()
    cols["faults"] = [""] * R
    if sessions.height == 0 or R == 0:
        return pl.DataFrame(cols, schema=_OUT_SCHEMA)
    # each registry row's run of the session table (sessions of a pack the registry lacks are left out; a pack listed
    # twice in the registry has the same run twice)
    ids = reg["pack_id"].drop_nulls().unique(maintain_order=True)
    enum = pl.Enum(ids)
    code = sessions["pack_id"].cast(enum, strict=False).to_physical().cast(pl.Int64).fill_null(len(ids)).to_numpy()
    sess = sessions["sess"].to_numpy()
    dc, ds = np.diff(code), np.diff(sess)
    take: np.ndarray | None = None
    if not bool(np.all((dc > 0) | ((dc == 0) & (ds > 0)))):
        take = np.lexsort((sess, code))
    if not bool(np.all(code < len(ids))):
        take = (np.arange(code.size) if take is None else take)
        take = take[code[take] < len(ids)]

    def column(v: np.ndarray) -> np.ndarray:
        return v if take is None else v[take]

    code = column(code)
    s = {c: column(sessions[c].to_numpy()).astype(np.float64, copy=False) for c in SESSION_COLUMNS
         if c not in ("pack_id", "mode", "prev_mode", "sess")}
    mode, prev_mode = (column(sessions[c].cast(pl.Enum(list(MODES)), strict=False).to_physical().cast(pl.Int16)
                              .fill_null(-1).to_numpy()) for c in ("mode", "prev_mode"))
    counts = np.bincount(code, minlength=len(ids))
    row_u = reg["pack_id"].cast(enum, strict=False).to_physical().cast(pl.Int64).fill_null(-1).to_numpy()
    start = np.where(row_u >= 0, (np.cumsum(counts) - counts)[row_u], 0)
    count = np.where(row_u >= 0, counts[row_u], 0)
    if not count.any():
        return pl.DataFrame(cols, schema=_OUT_SCHEMA)

    def select(mask: np.ndarray | None) -> tuple[np.ndarray | None, np.ndarray, np.ndarray]:
        """The sessions where ``mask`` holds (all for None): their indices, each row's first among them and count."""
        if mask is None:
            return None, start, count
        cm = np.concatenate(([0], np.cumsum(mask)))
        return np.flatnonzero(mask), cm[start], cm[start + count] - cm[start]

    def per_row(reduce: Callable[..., np.ndarray], xs: list[np.ndarray],
                sel: tuple[np.ndarray | None, np.ndarray, np.ndarray], min_count: int = 1) -> np.ndarray:
        """``reduce(rows, *values)`` for the registry rows with at least ``min_count`` selected sessions (NaN for the
        others): each row's values as a row of a 2-D array (one per number of values), reduced along axis 1."""
        idx, first, n = sel
        xs = [x if idx is None else x[idx] for x in xs]
        out = np.full(R, np.nan)
        for rows, k in _by_count(n, min_count):
            at = first[rows][:, None] + np.arange(k)
            out[rows] = reduce(rows, *(x[at] for x in xs))
        return out

    def per_row_exact(ufunc: np.ufunc, x: np.ndarray, sel: tuple[np.ndarray | None, np.ndarray, np.ndarray]) -> np.ndarray:
        """A reduction whose result does not depend on the order (min, max, a sum of integers) of each row."""
        idx, first, n = sel
        x = x if idx is None else x[idx]
        out = np.full(R, np.nan)
        rows = np.flatnonzero(n > 0)
        if rows.size and bool(np.all(first[rows][1:] == first[rows][:-1] + n[rows][:-1])):  # runs one after another
            out[rows] = ufunc.reduceat(x, first[rows])
            last = rows[-1]  # reduceat's last run goes to the end of x: cut it to the run
            out[last] = ufunc.reduce(x[first[last]:first[last] + n[last]])
        else:
            for r in rows:
                out[r] = ufunc.reduce(x[first[r]:first[r] + n[r]])
        return out

    median = lambda rows, x: np.median(x, axis=1)  # noqa: E731
    total = lambda rows, x: np.sum(x, axis=1)  # noqa: E731
    mode_in = lambda *names: np.logical_or.reduce([mode == MODES.index(m) for m in names])  # noqa: E731
    dur, dsoc = s["t_end"] - s["t_start"], s["soc_end"] - s["soc_start"]
    every = select(None)
    has = np.flatnonzero(count > 0)
    t0, t1 = per_row_exact(np.minimum, s["t_start"], every), per_row_exact(np.maximum, s["t_end"], every)
    window_days = (t1 - t0) / 86400.0
    samples = per_row_exact(np.add, s["n"], every)
    # full equivalent cycles in the window: each run's cumulative sum, along the rows of 2-D arrays (sequential, as
    # np.cumsum over one pack)
    fec_last = per_row(lambda rows, x: np.cumsum(x, axis=1)[:, -1] / (2 * rated[rows]), [s["ah_abs"]], every)
    first_use = reg["first_use_date"].to_list()
    age = np.zeros(R, np.int64)
    aged = np.zeros(R, bool)
    for r in has.tolist():
        end = dt.datetime.fromtimestamp(float(t1[r]), dt.UTC)
        cols["window_days"][r] = _r(float(window_days[r]), 4)
        cols["measured_at"][r] = end.isoformat()
        cols["samples"][r] = int(samples[r])
        cols["fec_in_window"][r] = _r(float(fec_last[r]), 4)
        if first_use[r]:
            cols["age_days"][r] = age[r] = (end.date() - dt.date.fromisoformat(first_use[r])).days
            aged[r] = True
    # capacity from charge sessions, its trend, and the remaining life
    chg = select(mode_in("ac", "dc") & (dsoc >= MIN_DSOC_PCT))
    with np.errstate(divide="ignore", invalid="ignore"):
        cap = s["ah"] / (dsoc / 100.0)
    n_chg = chg[2]
    cap_med = per_row(median, [cap], chg)
    cap_std = per_row(lambda rows, x: np.std(x, axis=1), [cap], chg)
    slope = per_row(lambda rows, t, c: _slopes(t / 86400.0, 100.0 * c / rated[rows][:, None]), [s["t_end"], cap], chg,
                    min_count=3)
    with np.errstate(divide="ignore", invalid="ignore"):
        fec_per_day = np.where(window_days > 0, fec_last / window_days, 0.0)
    tsum = per_row(lambda rows, x: np.nansum(x, axis=1), [s["tmax_sum"]], every)
    fade: list[int] = []
    for r in np.flatnonzero(n_chg > 0).tolist():
        m = float(cap_med[r])
        cols["capacity_ah"][r] = _r(m, 4)
        cols["soh_pct"][r] = _r(100.0 * m / float(rated[r]), 4)
        cols["capacity_sessions"][r] = int(n_chg[r])
        cols["soh_trend_pct_per_30d"][r] = _r(None if math.isnan(slope[r]) else float(slope[r]) * 30.0, 4)
        if RUL_METHOD == "fade model" and aged[r] and age[r] > 0:
            fade.append(r)
        else:  # no age: the curve fits on the window's capacities alone
            j = chg[0][chg[1][r]:chg[1][r] + n_chg[r]]  # type: ignore[index]
            fec = np.cumsum(s["ah_abs"][start[r]:start[r] + count[r]]) / (2 * float(rated[r]))
            for k, v in _rul(fec[j - start[r]], cap[j], float(rated[r]), float(fec_per_day[r])).items():
                cols[k][r] = v
    forecasts: Future[list[dict[str, Any]]] | None = None
    if fade:
        f = np.array(fade)
        se = [max(RUL_MIN_SOH_SE_PCT, 1.2533 * 100.0 * float(cap_std[r]) / float(rated[r]) / math.sqrt(int(n_chg[r])))
              for r in fade]
        soh = [100.0 * float(cap_med[r]) / float(rated[r]) for r in fade]
        temperature = [float(tsum[r]) / float(samples[r]) for r in fade]
        # the forecasts are large NumPy arrays (packs × draws), whose loops release the GIL: in a thread of their
        # own, beside the fault figures below (small arrays, mostly Python) on the other core
        forecasts = Future()
        threading.Thread(target=_fill, args=(forecasts, fade_forecasts, np.array(soh), np.array(se),
                                             age[f].astype(float), fec_per_day[f], [cols["chemistry"][r] for r in fade],
                                             np.array(temperature)), daemon=True).start()
    flags: list[list[str]] = [[] for _ in range(R)]
    # resistance from current steps while driving
    with np.errstate(divide="ignore", invalid="ignore"):
        drv = select(mode_in("drive") & (s["r_steps"] >= 3) & (s["r_den"] > 0))
        res = per_row(median, [s["r_num"] / s["r_den"]], drv)
    for r in np.flatnonzero(drv[2] > 0).tolist():
        cols["resistance_mohm"][r] = _r(1000.0 * float(res[r]), 4)
        cols["resistance_sessions"][r] = int(drv[2][r])
    # self-discharge: spread growth at rest
    with np.errstate(invalid="ignore"):
        rest = select(mode_in("rest") & (dur >= MIN_REST_H * 3600) & (np.abs(dsoc) <= MAX_REST_DSOC_PCT)
                      & (s["soc_start"] >= MID_SOC_PCT[0]))
    rest_s = per_row(total, [dur], rest)
    growth_s = per_row(lambda rows, x: np.nansum(x, axis=1), [s["spread_end"] - s["spread_start"]], rest)
    sd_flag = np.zeros(R, bool)
    for r in np.flatnonzero(rest[2] > 0).tolist():
        hours = float(rest_s[r]) / 3600.0
        growth = float(growth_s[r]) * 1000.0 / (hours / 24.0)
        cols["rest_hours"][r] = _r(hours, 3)
        cols["self_discharge_mv_per_day"][r] = _r(growth, 4)
        sd_flag[r] = hours >= 6.0 and growth >= THRESHOLDS["self_discharge_mv_per_day"]
        if sd_flag[r]:
            flags[r].append("self_discharge")
    # weak cell: the spread at low SoC over the spread at mid SoC; the lowest cell at the end of drives to low SoC
    n_low, n_mid = per_row_exact(np.add, s["n_low"], every), per_row_exact(np.add, s["n_mid"], every)
    low_s, mid_s = per_row(total, [s["spread_low_sum"]], every), per_row(total, [s["spread_mid_sum"]], every)
    with np.errstate(invalid="ignore"):
        ends = select(mode_in("drive") & (s["soc_end"] <= LOW_SOC_PCT) & ~np.isnan(s["imin_end"]))
    weakest = _most_frequent(s["imin_end"], ends, R)
    for r in np.flatnonzero((n_low >= 10) & (n_mid >= 10)).tolist():
        excess = (float(low_s[r]) / int(n_low[r]) - float(mid_s[r]) / int(n_mid[r])) * 1000.0
        cols["weak_cell_excess_mv"][r] = _r(excess, 4)
        if ends[2][r]:
            cols["weak_cell_index"][r] = int(weakest[r])
        if excess >= THRESHOLDS["weak_cell_excess_mv"] and not sd_flag[r]:
            flags[r].append("weak_cell")
    # cooling: the hottest sensor still rising above HOT_C under load
    peak = per_row_exact(np.fmax, s["tmax_peak"], every)  # NaN only when all are (np.nanmax)
    load = select(mode_in("ac", "dc", "drive"))
    c2s, hot_s, rise_s = (per_row(total, [s[c]], load) for c in ("heat_c2_min", "heat_time_s", "heat_rise_k"))
    for r in has.tolist():
        cols["temperature_peak_c"][r] = _r(float(peak[r]), 3)
        c2 = float(c2s[r]) if load[2][r] else 0.0
        if c2 >= MIN_HEAT_C2_MIN and float(hot_s[r]) >= MIN_HOT_S:
            rate = float(rise_s[r]) / c2
            cols["cooling_rise_k_per_min_c2"][r] = _r(rate, 5)
            if rate >= THRESHOLDS["cooling_rise_k_per_min_c2"]:
                flags[r].append("cooling_failure")
    # lithium plating: late relaxation in rests right after DC charges (NaN comparisons are false: no such rest)
    with np.errstate(invalid="ignore", divide="ignore"):
        relax = select(mode_in("rest") & (prev_mode == MODES.index("dc")) & ~np.isnan(s["v10"]) & ~np.isnan(s["v30"])
                       & ((s["t_start"] - s["prev_end"]) <= 600.0) & ((s["v0"] - s["v10"]) > 0))
        relax_ratio = per_row(median, [(s["v10"] - s["v30"]) / (s["v0"] - s["v10"])], relax)
    for r in np.flatnonzero(relax[2] > 0).tolist():
        ratio = float(relax_ratio[r])
        cols["plating_relaxation_ratio"][r] = _r(ratio, 5)
        cols["plating_events"][r] = int(relax[2][r])
        if relax[2][r] >= 2 and ratio >= THRESHOLDS["plating_relaxation_ratio"]:
            flags[r].append("lithium_plating")
    # sensor drift: pack voltage / highest cell voltage at rest, over time
    rr = select(mode_in("rest") & (s["n"] >= 10))

    def drift_of(rows: np.ndarray, t: np.ndarray, ratio: np.ndarray) -> np.ndarray:
        out = _slopes(t, ratio / np.mean(ratio, axis=1, keepdims=True)) * 30.0 * 100.0
        return np.where(np.ptp(t, axis=1) >= 2.0, out, np.nan)

    drift = per_row(drift_of, [(s["t_start"] + s["t_end"]) / 2.0 / 86400.0, s["ratio_sum"] / s["n"]], rr, min_count=3)
    for r in np.flatnonzero(~np.isnan(drift)).tolist():
        cols["sensor_drift_pct_per_30d"][r] = _r(float(drift[r]), 5)
        if abs(float(drift[r])) >= THRESHOLDS["sensor_drift_pct_per_30d"]:
            flags[r].append("sensor_drift")
    cols["faults"] = [";".join(k for k in FAULT_KINDS if k in f) for f in flags]
    if forecasts is not None:
        for r, out in zip(fade, forecasts.result()):
            for k, v in out.items():
                cols[k][r] = v
    return pl.DataFrame(cols, schema=_OUT_SCHEMA)


def _fill(future: Future[Any], fn: Callable[..., Any], *args: Any) -> None:
    """``fn(*args)`` into ``future`` (its result or its error), for a thread."""
    try:
        future.set_result(fn(*args))
    except BaseException as e:  # the caller re-raises it from future.result()
        future.set_exception(e)


def _by_count(n: np.ndarray, min_count: int = 1) -> Iterator[tuple[np.ndarray, int]]:
    """The indices of ``n`` of each value ≥ ``min_count``, with that value (the rows with as many values)."""
    rows = np.flatnonzero(n >= min_count)
    rows = rows[np.argsort(n[rows], kind="stable")]
    cuts = np.flatnonzero(np.diff(n[rows])) + 1
    for group in np.split(rows, cuts) if rows.size else []:
        yield group, int(n[group[0]])


def _slopes(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The least-squares slope of each row of ``y`` on the same row of ``x``; NaN where a row has fewer than 3
    points or no spread in ``x``."""
    if x.shape[1] < 3:
        return np.full(x.shape[0], np.nan)
    xm = x - x.mean(axis=1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.sum(xm * (y - y.mean(axis=1, keepdims=True)), axis=1) / np.sum(xm * xm, axis=1)
    return np.where(np.ptp(x, axis=1) > 0, out, np.nan)


def _most_frequent(x: np.ndarray, sel: tuple[np.ndarray | None, np.ndarray, np.ndarray], R: int) -> np.ndarray:
    """Per row, the most frequent of its selected values of ``x`` (the lowest on a tie; NaN for a row without)."""
    idx, first, n = sel
    out = np.full(R, np.nan)
    rows = np.repeat(np.arange(R), n)
    if rows.size == 0:
        return out
    pos = np.concatenate([np.arange(a, a + b) for a, b in zip(first, n)])
    v = (x if idx is None else x[idx])[pos]
    o = np.lexsort((v, rows))
    rows, v = rows[o], v[o]
    new = np.concatenate(([True], (rows[1:] != rows[:-1]) | (v[1:] != v[:-1])))
    heads = np.flatnonzero(new)
    freq = np.diff(np.append(heads, v.size))
    r_h, v_h = rows[heads], v[heads]
    best = np.lexsort((v_h, -freq, r_h))  # per row: the highest count first, then the lowest value
    r_b = r_h[best]
    firsts = np.concatenate(([True], r_b[1:] != r_b[:-1]))
    out[r_b[firsts]] = v_h[best][firsts]
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
