"""Read the telemetry CSVs fleets export into the layout (:mod:`batteryloop.fleet.layout`), with a report.

Fleet portals and data loggers name the same signal many ways (``VIN``, ``Pack Current [mA]``,
``hv_battery_voltage``, ``SOC``, ``Max Cell Temp (°F)``, ``mileage_mi``…). A header is normalised (lower case,
words joined by ``_``), its unit taken from a bracket, a parenthesis or a ``_unit`` suffix, and its name looked up
in :data:`ALIASES`; values are converted to the layout's units (:data:`UNITS`). Times may be ISO 8601 (with an
offset, or local to ``tz``) or epoch seconds / milliseconds. State of charge given as a fraction is scaled to %.
Some exports count discharge current as positive: pass ``discharge_positive=True``.
A file is UTF-8 (with or without BOM) or, failing that, Latin-1, as the cycler readers read it.

:func:`read_telemetry_csv` returns the frame and a :class:`~batteryloop.fleet.validate.ValidationReport`: how each
column was read (notes) and every problem :func:`~batteryloop.fleet.validate.validate_frame` finds, with the CSV's
line numbers. It raises nothing for bad data; only an unreadable file is a
:class:`~batteryloop.fleet.validate.Problem` of rule ``unreadable``.
"""

from __future__ import annotations

import io
import re
from dataclasses import replace
from pathlib import Path

import polars as pl

from .layout import COLUMNS, SCHEMA
from .validate import Problem, ValidationReport, validate_frame

#: layout column → the normalised header names that mean it (units stripped)
ALIASES: dict[str, tuple[str, ...]] = {
    "timestamp": ("timestamp", "time", "datetime", "date_time", "ts", "time_utc", "recorded_at", "sample_time",
                  "utc_time", "gps_time", "epoch", "unix_time"),
    "vehicle_id": ("vehicle_id", "vehicle", "vin", "vehicleid", "fleet_number", "unit_id", "asset_id", "car_id"),
    "pack_id": ("pack_id", "battery_id", "pack_serial", "battery_serial", "pack", "packid", "battery_pack_id"),
    "segment": ("segment", "vehicle_type", "vehicle_class", "category"),
    "pack_current_a": ("pack_current", "current", "battery_current", "hv_current", "i", "hv_battery_current", "ibat"),
    "pack_voltage_v": ("pack_voltage", "voltage", "battery_voltage", "hv_voltage", "hv_battery_voltage", "vbat", "u"),
    "soc_pct": ("soc", "state_of_charge", "bms_soc", "soc_display", "battery_soc"),
    "cell_voltage_min_v": ("cell_voltage_min", "min_cell_voltage", "cell_v_min", "min_cell_v", "lowest_cell_voltage",
                           "vcell_min"),
    "cell_voltage_max_v": ("cell_voltage_max", "max_cell_voltage", "cell_v_max", "max_cell_v", "highest_cell_voltage",
                           "vcell_max"),
    "cell_index_min": ("cell_index_min", "min_cell_index", "min_cell_id", "min_cell_no", "min_cell_number",
                       "lowest_cell_index", "min_cell_voltage_index"),
    "cell_index_max": ("cell_index_max", "max_cell_index", "max_cell_id", "max_cell_no", "max_cell_number",
                       "highest_cell_index", "max_cell_voltage_index"),
    "temperature_min_c": ("temperature_min", "min_temperature", "min_temp", "temp_min", "min_cell_temp",
                          "min_cell_temperature", "lowest_temperature", "t_min"),
    "temperature_max_c": ("temperature_max", "max_temperature", "max_temp", "temp_max", "max_cell_temp",
                          "max_cell_temperature", "highest_temperature", "t_max"),
    "odometer_km": ("odometer", "odo", "mileage", "total_distance", "odometer_reading"),
    "charging_state": ("charging_state", "charge_state", "charging_status", "charger_state", "charge_status",
                       "charging_mode", "charging"),
}

#: unit spelling → (the layout column's kind, factor, offset): value_in_layout = value × factor + offset
UNITS: dict[str, tuple[str, float, float]] = {
    "a": ("current", 1.0, 0.0), "ma": ("current", 1e-3, 0.0),
    "v": ("voltage", 1.0, 0.0), "mv": ("voltage", 1e-3, 0.0),
    "c": ("temperature", 1.0, 0.0), "degc": ("temperature", 1.0, 0.0), "°c": ("temperature", 1.0, 0.0),
    "k": ("temperature", 1.0, -273.15), "f": ("temperature", 5 / 9, -32 * 5 / 9), "degf": ("temperature", 5 / 9, -32 * 5 / 9),
    "°f": ("temperature", 5 / 9, -32 * 5 / 9),
    "km": ("distance", 1.0, 0.0), "mi": ("distance", 1.609344, 0.0), "miles": ("distance", 1.609344, 0.0),
    "m": ("distance", 1e-3, 0.0),
    "pct": ("fraction", 1.0, 0.0), "%": ("fraction", 1.0, 0.0), "percent": ("fraction", 1.0, 0.0),
    "frac": ("fraction", 100.0, 0.0), "fraction": ("fraction", 100.0, 0.0),
}
KIND = {"pack_current_a": "current", "pack_voltage_v": "voltage", "cell_voltage_min_v": "voltage",
        "cell_voltage_max_v": "voltage", "temperature_min_c": "temperature", "temperature_max_c": "temperature",
        "odometer_km": "distance", "soc_pct": "fraction"}

CHARGING_VALUES = {
    "not_charging": ("not_charging", "none", "0", "idle", "off", "no", "false", "not charging", "driving", "discharging",
                     "disconnected", "parked"),
    "ac": ("ac", "1", "slow", "ac charging", "ac_charging", "level2", "level 2", "l2", "charging ac"),
    "dc": ("dc", "2", "fast", "dc charging", "dc_charging", "rapid", "dcfc", "charging dc"),
}


def _split_header(h: str) -> tuple[str, str | None]:
    """('pack_current', 'ma') from 'Pack Current [mA]'; the unit from brackets, parentheses or a known suffix."""
    unit = None
    m = re.search(r"[\[(]\s*([^\])]+?)\s*[\])]", h)
    if m:
        unit = m.group(1).strip().lower().replace(" ", "")
        h = h[:m.start()] + h[m.end():]
    name = re.sub(r"[^0-9a-z°%]+", "_", h.strip().lower()).strip("_")
    if unit is None:
        parts = name.split("_")
        if len(parts) > 1 and parts[-1] in UNITS:
            unit, name = parts[-1], "_".join(parts[:-1])
    return name, unit


def map_columns(headers: list[str]) -> tuple[dict[str, tuple[str, str | None]], list[str]]:
    """{layout column: (header, unit)} and the headers left unread."""
    lookup = {alias: col for col, aliases in ALIASES.items() for alias in aliases}
    found: dict[str, tuple[str, str | None]] = {}
    unused = []
    for h in headers:
        name, unit = _split_header(h)
        col = lookup.get(name)
        if col is None:  # "min_cell_voltage_v" and the like: the layout's own names
            col = name if name in COLUMNS else lookup.get(re.sub(r"_(a|v|c|pct|km)$", "", name))
            if col is None and name in COLUMNS:
                col = name
        if col is None or col in found:
            unused.append(h)
            continue
        found[col] = (h, unit)
    return found, unused


def read_telemetry_csv(path: str | Path, *, tz: str = "UTC", discharge_positive: bool = False,
                       vehicle_id: str | None = None, pack_id: str | None = None, segment: str | None = None,
                       interval_s: float | None = None) -> tuple[pl.DataFrame, ValidationReport]:
    """Read one fleet CSV export into the layout's columns (see the module's docstring)."""
    path = Path(path)
    rep = ValidationReport(files=1)
    # the cycler readers' decoding: UTF-8 with or without BOM, else Latin-1 (Windows exports: "Max Temp (°F)")
    from ..health.readers._common import decode

    try:
        raw = pl.read_csv(io.StringIO(decode(path, path.read_bytes())), infer_schema=False, truncate_ragged_lines=False)
    except Exception as exc:  # noqa: BLE001 - any parse failure is a finding about this file
        rep.problems.append(Problem(str(path), None, None, "unreadable", f"not a readable CSV file: {exc}"))
        return pl.DataFrame(schema=SCHEMA), rep
    found, unused = map_columns(raw.columns)
    cols: dict[str, pl.Expr] = {}
    for col, (header, unit) in found.items():
        e = pl.col(header).str.strip_chars()
        kind = KIND.get(col)
        if kind:
            e = e.str.replace(",", ".").cast(pl.Float64, strict=False) if kind != "fraction" else \
                e.str.replace("%", "").str.replace(",", ".").cast(pl.Float64, strict=False)
            if unit is not None:
                spec = UNITS.get(unit)
                if spec is None or spec[0] != kind:
                    rep.problems.append(Problem(str(path), None, header, "unit", f"unit {unit!r} is not a {kind} unit "
                                                f"this reader knows ({', '.join(u for u, s in UNITS.items() if s[0] == kind)})"))
                    continue
                _, factor, offset = spec
                if factor != 1.0 or offset != 0.0:
                    e = e * factor + offset
                    rep.notes.append(f"{header!r} read as {col} ({unit} → {COLUMNS[col][1].split(',')[0]})")
                else:
                    rep.notes.append(f"{header!r} read as {col}")
            else:
                rep.notes.append(f"{header!r} read as {col}")
            if col == "pack_current_a" and discharge_positive:
                e = -e
                rep.notes.append(f"{header!r}: sign flipped (the export counts discharge as positive)")
        elif col == "timestamp":
            rep.notes.append(f"{header!r} read as timestamp ({'ISO 8601 or epoch' if tz == 'UTC' else 'local to ' + tz})")
        elif col == "charging_state":
            lowered = e.str.to_lowercase()
            mapped = pl.lit(None, pl.String)
            for state, words in reversed(CHARGING_VALUES.items()):
                mapped = pl.when(lowered.is_in(list(words))).then(pl.lit(state)).otherwise(mapped)
            e = pl.when(e.is_null()).then(None).otherwise(pl.coalesce(mapped, e))
            rep.notes.append(f"{header!r} read as charging_state")
        else:
            rep.notes.append(f"{header!r} read as {col}")
        cols[col] = e.alias(col)
    if unused:
        rep.notes.append(f"columns not read: {', '.join(unused)}")
    df = raw.select(list(cols.values())) if cols else pl.DataFrame()
    typed: set[tuple[int, str]] = set()
    for col, (header, _) in found.items():  # a value that is there but is no number: named with its CSV line
        if col in KIND and col in df.columns:
            bad = raw.with_row_index("_row", offset=1).filter(
                pl.col(header).str.strip_chars().ne("") & pl.col(header).is_not_null() & df[col].is_null())
            for r in bad.head(20).iter_rows(named=True):
                typed.add((r["_row"], col))
                rep.problems.append(Problem(str(path), r["_row"] + 1, header, "type",
                                            f"{r[header]!r} is not a number ({COLUMNS[col][1]})", r[header]))
    if "timestamp" in df.columns:
        df = df.with_columns(_parse_time(pl.col("timestamp"), tz).alias("_t"))
        bad = df.with_row_index("_row", offset=1).filter(pl.col("timestamp").is_not_null() & pl.col("_t").is_null())
        for r in bad.head(20).iter_rows(named=True):
            rep.problems.append(Problem(str(path), r["_row"] + 1, found["timestamp"][0], "type",
                                        f"{r['timestamp']!r} is not an ISO 8601 time or epoch seconds/milliseconds",
                                        r["timestamp"]))
        df = df.with_columns(pl.col("_t").alias("timestamp")).drop("_t")
    for col, value in (("vehicle_id", vehicle_id), ("pack_id", pack_id), ("segment", segment)):
        if value is not None and col not in df.columns:
            df = df.with_columns(pl.lit(value).alias(col))
            rep.notes.append(f"{col} = {value!r} for every row (given)")
    if "pack_id" not in df.columns and "vehicle_id" in df.columns:
        df = df.with_columns(pl.col("vehicle_id").alias("pack_id"))
        rep.notes.append("no pack id column: the vehicle id names the pack")
    if "soc_pct" in df.columns and df.height >= 10 and "soc_pct" not in {c for c, (h, u) in found.items() if u}:
        mx = df["soc_pct"].max()
        if mx is not None and 0 < mx <= 1.0:  # type: ignore[operator]
            df = df.with_columns(pl.col("soc_pct") * 100)
            rep.notes.append("state of charge given as a fraction: scaled to %")
    for col in ("cell_index_min", "cell_index_max"):
        if col in df.columns:
            df = df.with_columns(pl.col(col).cast(pl.Float64, strict=False))
    checked = validate_frame(df, str(path), interval_s=interval_s)
    # rows of the CSV: the header is line 1
    rep.problems += [replace(p, row=p.row + 1) if p.row is not None else p for p in checked.problems
                     if not (p.rule == "empty" and (p.row, p.column) in typed)]
    rep.rows = df.height
    if rep.ok:
        df = df.select(list(COLUMNS)).cast(dict(SCHEMA)).sort("vehicle_id", "timestamp")
    return df, rep


def _parse_time(e: pl.Expr, tz: str) -> pl.Expr:
    num = e.cast(pl.Float64, strict=False)
    epoch = pl.when(num > 1e11).then(num * 1e3).otherwise(num * 1e6).cast(pl.Int64)
    with_offset = e.str.to_datetime(time_zone="UTC", strict=False, time_unit="us")
    local = e.str.to_datetime(strict=False, time_unit="us").dt.replace_time_zone(tz, ambiguous="earliest").dt.convert_time_zone("UTC")
    has_offset = e.str.contains(r"(Z|[+-]\d{2}:?\d{2})$")
    return (pl.when(num.is_not_null()).then(pl.from_epoch(epoch, time_unit="us").dt.replace_time_zone("UTC"))
            .when(has_offset).then(with_offset).otherwise(local))
