"""Checks of BMS telemetry against the layout (:mod:`batteryloop.fleet.layout`): a report, never a crash.

Each :class:`Problem` names the file, the row (1-based data row of that file, the header not counted), the
column, the rule and what to do. The rules:

- ``missing_column`` / ``type``: a required column is absent, or holds values that are not numbers/times;
- ``unit``: a column's values are those of another unit (cell voltages in mV, temperatures in K or °F, state of
  charge as a fraction): the whole column is reported once, with the conversion to apply; ``empty``: no value;
- ``range``: a value outside the physical range of :data:`~batteryloop.fleet.layout.COLUMNS` (or a
  ``charging_state`` outside ``not_charging``/``ac``/``dc``), ``null`` where a value is required;
- ``time_order``: a vehicle's time goes backwards; ``duplicate``: the same vehicle and time twice (the same whole
  row twice is ``duplicate_row``); ``odometer``: the odometer goes backwards;
- ``gap`` (a warning): a vehicle's samples stop for more than ``gap_factor`` × the sample interval.

Errors make the data unusable as they are; warnings are kept and reported. At most :data:`MAX_ROWS_PER_RULE`
rows are listed per rule and file, with the count of the others.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from .layout import CHARGING_STATES, COLUMNS, FleetLayout, telemetry_files

MAX_ROWS_PER_RULE = 20
GAP_FACTOR = 5.0
NUMERIC = [c for c, (t, _, _) in COLUMNS.items() if t.is_numeric()]


@dataclass(frozen=True)
class Problem:
    file: str
    row: int | None
    column: str | None
    rule: str
    message: str
    value: Any = None
    severity: str = "error"

    def __str__(self) -> str:
        where = self.file + (f", row {self.row}" if self.row is not None else "") + (f", column {self.column}" if self.column else "")
        return f"{self.severity}: {where}: {self.message}"


@dataclass
class ValidationReport:
    problems: list[Problem] = field(default_factory=list)
    rows: int = 0
    files: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "warning"]

    @property
    def ok(self) -> bool:
        return not self.errors

    def rules(self) -> set[str]:
        return {p.rule for p in self.problems}

    def extend(self, other: ValidationReport) -> None:
        self.problems += other.problems
        self.rows += other.rows
        self.files += other.files
        self.notes += other.notes

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "files": self.files, "rows": self.rows, "errors": len(self.errors),
                "warnings": len(self.warnings), "notes": self.notes,
                "problems": [{"severity": p.severity, "file": p.file, "row": p.row, "column": p.column, "rule": p.rule,
                              "message": p.message, "value": p.value} for p in self.problems]}


def _listed(report: ValidationReport, file: str, rows: pl.DataFrame, column: str | None, rule: str,
            message: Any, severity: str = "error") -> None:
    """One problem per offending row (``rows`` has ``_row`` and ``_value``), the first ones only."""
    n = rows.height
    for r in rows.head(MAX_ROWS_PER_RULE).iter_rows(named=True):
        report.problems.append(Problem(file, int(r["_row"]), column, rule, message(r), r.get("_value"), severity))
    if n > MAX_ROWS_PER_RULE:
        report.problems.append(Problem(file, None, column, rule, f"… and {n - MAX_ROWS_PER_RULE} more rows breaking "
                                       f"the same rule ({rule})", None, severity))


#: (column, test on the column's median that says it is in another unit, the unit, the fix)
UNIT_HINTS: list[tuple[str, Any, str, str]] = [
    ("cell_voltage_min_v", lambda m: m > 100, "mV", "divide by 1000 (or name the column …_mv)"),
    ("cell_voltage_max_v", lambda m: m > 100, "mV", "divide by 1000 (or name the column …_mv)"),
    ("temperature_min_c", lambda m: m > 200, "K", "subtract 273.15 (or name the column …_k)"),
    ("temperature_max_c", lambda m: m > 200, "K", "subtract 273.15 (or name the column …_k)"),
    ("pack_voltage_v", lambda m: m > 2000, "mV", "divide by 1000 (or name the column …_mv)"),
    ("pack_current_a", lambda m: abs(m) > 5000, "mA", "divide by 1000 (or name the column …_ma)"),
]


def validate_frame(df: pl.DataFrame, file: str = "<frame>", *, interval_s: float | None = None,
                   gap_factor: float = GAP_FACTOR) -> ValidationReport:
    """Check one table of telemetry (any column types: strings are parsed) against the layout."""
    rep = ValidationReport(rows=df.height, files=1)
    missing = [c for c in COLUMNS if c not in df.columns]
    for c in missing:
        rep.problems.append(Problem(file, None, c, "missing_column",
                                    f"required column {c!r} ({COLUMNS[c][1]}) is missing; the file has "
                                    f"{', '.join(df.columns) or 'no columns'}"))
    d = df.with_row_index("_row", offset=1)
    # nulls where a value is required (before parsing: a value that does not parse is a type problem)
    for c in [c for c in COLUMNS if c in df.columns]:
        bad = d.filter(pl.col(c).is_null()).select("_row", pl.lit(None).alias("_value"))
        _listed(rep, file, bad, c, "empty", lambda r, c=c: f"{c} is empty: every sample needs it ({COLUMNS[c][1]})")
    # types: a value that is there but does not parse
    for c in [c for c in NUMERIC if c in df.columns]:
        if df.schema[c].is_numeric():
            continue
        raw = d[c].cast(pl.String)
        parsed = raw.str.strip_chars().cast(pl.Float64, strict=False)
        bad = d.select("_row", pl.col(c).cast(pl.String).alias("_value")).filter(raw.is_not_null() & parsed.is_null())
        _listed(rep, file, bad, c, "type", lambda r, c=c: f"{r['_value']!r} is not a number ({COLUMNS[c][1]})")
        d = d.with_columns(parsed.alias(c))
    if "timestamp" in df.columns and df.schema["timestamp"] != pl.Datetime("us", "UTC"):
        dt = df.schema["timestamp"]
        if isinstance(dt, pl.Datetime) and dt.time_zone is None:
            rep.problems.append(Problem(file, None, "timestamp", "unit", "timestamps carry no time zone: they must be "
                                        "UTC (convert, or read the CSV with --tz ZONE)"))
            d = d.with_columns(pl.col("timestamp").dt.replace_time_zone("UTC"))
        elif isinstance(dt, pl.Datetime):
            d = d.with_columns(pl.col("timestamp").dt.convert_time_zone("UTC"))
        else:
            parsed_t = d["timestamp"].cast(pl.String).str.to_datetime(time_zone="UTC", strict=False)
            bad = d.select("_row", pl.col("timestamp").cast(pl.String).alias("_value")).filter(
                d["timestamp"].is_not_null() & parsed_t.is_null())
            _listed(rep, file, bad, "timestamp", "type", lambda r: f"{r['_value']!r} is not an ISO 8601 time")
            d = d.with_columns(parsed_t.alias("timestamp"))
    present = [c for c in COLUMNS if c in d.columns]
    # units: a column whose typical value belongs to another unit is reported once, not row by row
    wrong_unit: set[str] = set()
    for c, test, unit, fix in UNIT_HINTS:
        if c in d.columns and d.height:
            m = d[c].cast(pl.Float64, strict=False).median()
            if m is not None and test(m):
                wrong_unit.add(c)
                rep.problems.append(Problem(file, None, c, "unit", f"values look like {unit} (median {m:g}), the layout "
                                            f"wants {COLUMNS[c][1].split(',')[0]}: {fix}", m))
    if "soc_pct" in d.columns and d.height >= 10:
        mx = d["soc_pct"].cast(pl.Float64, strict=False).max()
        if mx is not None and 0 < mx <= 1.0:
            wrong_unit.add("soc_pct")
            rep.problems.append(Problem(file, None, "soc_pct", "unit", f"state of charge never exceeds {mx:g}: it is a "
                                        "fraction, the layout wants % (multiply by 100)", mx))
    # ranges
    for c in present:
        lim = COLUMNS[c][2]
        if lim is None or c in wrong_unit:
            continue
        lo, hi = lim
        v = pl.col(c).cast(pl.Float64, strict=False)
        bad = d.filter(v.is_not_null() & ((v < lo) | (v > hi))).select("_row", pl.col(c).alias("_value"))
        _listed(rep, file, bad, c, "range", lambda r, c=c, lo=lo, hi=hi: f"{r['_value']} is outside {lo:g}…{hi:g} "
                f"({COLUMNS[c][1]})")
    if "cell_voltage_min_v" in present and "cell_voltage_max_v" in present and not wrong_unit & {"cell_voltage_min_v", "cell_voltage_max_v"}:
        bad = d.filter(pl.col("cell_voltage_min_v") > pl.col("cell_voltage_max_v") + 1e-6).select(
            "_row", pl.col("cell_voltage_min_v").alias("_value"))
        _listed(rep, file, bad, "cell_voltage_min_v", "range", lambda r: "the lowest cell voltage is above the highest")
    if "charging_state" in present:
        bad = d.filter(pl.col("charging_state").is_not_null() & ~pl.col("charging_state").cast(pl.String).is_in(
            list(CHARGING_STATES))).select("_row", pl.col("charging_state").cast(pl.String).alias("_value"))
        _listed(rep, file, bad, "charging_state", "range",
                lambda r: f"{r['_value']!r} is not one of {', '.join(CHARGING_STATES)}")
    # order in time, duplicates, odometer, gaps: per vehicle, in file order
    if {"vehicle_id", "timestamp"} <= set(present) and isinstance(d.schema["timestamp"], pl.Datetime):
        full = [c for c in COLUMNS if c in d.columns]
        dup_rows = d.filter(pl.struct(full).is_duplicated() & ~pl.struct(full).is_first_distinct()).select(
            "_row", pl.col("timestamp").cast(pl.String).alias("_value"))
        _listed(rep, file, dup_rows, None, "duplicate_row", lambda r: "the same row appears earlier in the file")
        dup_set = set(dup_rows["_row"].to_list())
        g = d.filter(~pl.col("_row").is_in(list(dup_set))).with_columns(
            dt_s=(pl.col("timestamp") - pl.col("timestamp").shift(1).over("vehicle_id")).dt.total_microseconds() / 1e6,
            prev=pl.col("timestamp").shift(1).over("vehicle_id"))
        bad = g.filter(pl.col("dt_s") < 0).select("_row", pl.col("timestamp").cast(pl.String).alias("_value"),
                                                  pl.col("prev").cast(pl.String).alias("prev"), "vehicle_id")
        _listed(rep, file, bad, "timestamp", "time_order", lambda r: f"vehicle {r['vehicle_id']}: time goes back from "
                f"{r['prev']} to {r['_value']} (sort each vehicle's samples by time)")
        bad = g.filter(pl.col("dt_s") == 0).select("_row", pl.col("timestamp").cast(pl.String).alias("_value"), "vehicle_id")
        _listed(rep, file, bad, "timestamp", "duplicate", lambda r: f"vehicle {r['vehicle_id']} has two samples at "
                f"{r['_value']} with different values")
        if "odometer_km" in present and "odometer_km" not in wrong_unit:
            o = g.with_columns(do=pl.col("odometer_km").cast(pl.Float64, strict=False).diff().over("vehicle_id"))
            bad = o.filter((pl.col("do") < -1e-6) & (pl.col("dt_s") > 0)).select("_row", pl.col("odometer_km").alias("_value"),
                                                                                  "vehicle_id")
            _listed(rep, file, bad, "odometer_km", "odometer",
                    lambda r: f"vehicle {r['vehicle_id']}: the odometer goes back to {r['_value']} km")
        steps = g.filter(pl.col("dt_s") > 0)["dt_s"]
        interval = interval_s or (float(steps.median()) if steps.len() else None)  # type: ignore[arg-type]
        if interval:
            bad = g.filter(pl.col("dt_s") > gap_factor * interval).select(
                "_row", pl.col("dt_s").alias("_value"), "vehicle_id", pl.col("prev").cast(pl.String).alias("prev"))
            _listed(rep, file, bad, "timestamp", "gap", lambda r: f"vehicle {r['vehicle_id']}: no sample for "
                    f"{r['_value']:.0f} s after {r['prev']} (interval {interval:g} s)", "warning")
    return rep


def validate_files(files: Iterable[Path], *, interval_s: float | None = None) -> ValidationReport:
    """Validate Parquet telemetry files one by one; an unreadable file is a problem, not a crash."""
    rep = ValidationReport()
    for f in files:
        try:
            df = pl.read_parquet(f)
        except Exception as exc:  # noqa: BLE001 - any reader failure is a finding about this file
            rep.files += 1
            rep.problems.append(Problem(str(f), None, None, "unreadable", f"not a readable Parquet file: {exc}"))
            continue
        rep.extend(validate_frame(df, str(f), interval_s=interval_s))
    return rep


def validate_folder(root: Path) -> ValidationReport:
    """Validate every partition of a fleet folder (each file alone: a vehicle's day is in one file)."""
    try:
        layout = FleetLayout.read(root)
    except (FileNotFoundError, ValueError, KeyError) as exc:
        return ValidationReport(problems=[Problem(str(root), None, None, "layout", str(exc))])
    files = telemetry_files(root)
    if not files:
        return ValidationReport(problems=[Problem(str(root), None, None, "layout", "no telemetry files "
                                                  "(date=YYYY-MM-DD/bucket=NN/*.parquet)")])
    return validate_files(files, interval_s=layout.interval_s)
