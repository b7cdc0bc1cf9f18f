"""The validator reports malformed telemetry by file, row and column instead of crashing."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl

from batteryloop.fleet.layout import COLUMNS, SCHEMA, FleetLayout, write_partition
from batteryloop.fleet.validate import validate_files, validate_folder, validate_frame


def good(n: int = 12, vehicle: str = "V1") -> pl.DataFrame:
    t0 = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)
    return pl.DataFrame({
        "timestamp": [t0 + dt.timedelta(minutes=i) for i in range(n)], "vehicle_id": [vehicle] * n,
        "pack_id": ["P-" + vehicle] * n, "segment": ["car"] * n, "pack_current_a": [-20.0] * n,
        "pack_voltage_v": [360.0] * n, "soc_pct": [80.0 - 0.1 * i for i in range(n)],
        "cell_voltage_min_v": [3.70] * n, "cell_voltage_max_v": [3.72] * n, "cell_index_min": [3] * n,
        "cell_index_max": [9] * n, "temperature_min_c": [20.0] * n, "temperature_max_c": [22.0] * n,
        "odometer_km": [1000.0 + 0.5 * i for i in range(n)], "charging_state": ["not_charging"] * n,
    }).cast(dict(SCHEMA))


def test_clean_telemetry_passes() -> None:
    rep = validate_frame(good())
    assert rep.ok and rep.problems == [] and rep.rows == 12


def test_missing_columns_are_named() -> None:
    rep = validate_frame(good().drop("soc_pct", "odometer_km"), "f.parquet")
    missing = {p.column for p in rep.errors if p.rule == "missing_column"}
    assert missing == {"soc_pct", "odometer_km"}
    assert all(p.file == "f.parquet" for p in rep.problems)


def test_wrong_units_are_reported_once_per_column_with_the_fix() -> None:
    df = good().with_columns(pl.col("cell_voltage_min_v") * 1000, pl.col("cell_voltage_max_v") * 1000,
                             pl.col("temperature_max_c") + 273.15, pl.col("soc_pct") / 100)
    rep = validate_frame(df)
    units = {p.column: p.message for p in rep.errors if p.rule == "unit"}
    assert set(units) == {"cell_voltage_min_v", "cell_voltage_max_v", "temperature_max_c", "soc_pct"}
    assert "divide by 1000" in units["cell_voltage_min_v"] and "273.15" in units["temperature_max_c"]
    assert "multiply by 100" in units["soc_pct"]
    assert not [p for p in rep.problems if p.rule == "range"]  # not also reported row by row


def test_time_going_backwards_duplicates_gaps_and_odometer() -> None:
    df = good(20)
    rows = df.to_dicts()
    rows[5]["timestamp"] = rows[3]["timestamp"]  # row 6: back in time (and a duplicate time of row 4)
    rows[10]["odometer_km"] = 10.0  # row 11: odometer back
    rows.append(dict(rows[19]))  # row 21: the same whole row again
    for r in rows[15:]:
        r["timestamp"] += dt.timedelta(minutes=30)  # a 31-minute gap before row 16
    rep = validate_frame(pl.DataFrame(rows, schema=SCHEMA), "t.parquet")
    by = {(p.rule, p.row) for p in rep.problems}
    assert ("time_order", 6) in by
    assert ("odometer", 11) in by
    assert ("duplicate_row", 21) in by
    gap = [p for p in rep.problems if p.rule == "gap"]
    assert [p.row for p in gap] == [16] and gap[0].severity == "warning" and "1860 s" in gap[0].message
    assert not rep.ok


def test_out_of_range_values_name_row_column_and_value() -> None:
    df = good().with_columns(pl.when(pl.int_range(pl.len()) == 2).then(pl.lit(130.0)).otherwise(pl.col("soc_pct"))
                             .cast(pl.Float32).alias("soc_pct"),
                             pl.when(pl.int_range(pl.len()) == 4).then(pl.lit("charging")).otherwise(
                                 pl.col("charging_state")).alias("charging_state"))
    rep = validate_frame(df, "r.parquet")
    soc = [p for p in rep.errors if p.column == "soc_pct"]
    assert [(p.row, p.rule, p.value) for p in soc] == [(3, "range", 130.0)]
    cs = [p for p in rep.errors if p.column == "charging_state"]
    assert [(p.row, p.value) for p in cs] == [(5, "charging")]
    assert "not_charging, ac, dc" in cs[0].message


def test_an_unreadable_file_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    bad = tmp_path / "x.parquet"
    bad.write_bytes(b"not parquet")
    rep = validate_files([bad])
    assert [p.rule for p in rep.errors] == ["unreadable"]


def test_a_folder_is_checked_partition_by_partition(tmp_path: Path) -> None:
    FleetLayout(buckets=4, interval_s=60).write(tmp_path)
    write_partition(good(), tmp_path, "2026-06-01", 1)
    assert validate_folder(tmp_path).ok
    assert validate_folder(tmp_path / "nothing").errors[0].rule == "layout"
    assert set(COLUMNS) == set(pl.read_parquet(next(tmp_path.rglob("*.parquet"))).columns)
