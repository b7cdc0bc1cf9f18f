"""Fleet CSV exports: column aliases and units, hand-checked conversions, and the importer into the layout."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest

from batteryloop.fleet.csvread import map_columns, read_telemetry_csv
from batteryloop.fleet.importer import import_csvs
from batteryloop.fleet.layout import bucket_of, read_packs, telemetry_files
from batteryloop.fleet.validate import validate_folder

HEADER = ("Time (UTC),VIN,Pack Current [mA],HV Voltage (V),SOC,Min Cell Voltage [mV],Max Cell Voltage [mV],"
          "Min Cell ID,Max Cell ID,Min Temp (°F),Max Temp (°F),Mileage_mi,Charging Status,Vehicle Type\n")


def export(path: Path, rows: list[str]) -> Path:
    path.write_text(HEADER + "".join(r + "\n" for r in rows), encoding="utf-8")
    return path


def row(minute: int, current_ma: str = "-10000", state: str = "idle", vmin: str = "3801") -> str:
    return (f"2026-06-01T08:{minute:02d}:00Z,V7,{current_ma},355.5,0.{80 - minute:02d},{vmin},3810,3,7,68,77,"
            f"{1000 + minute}.0,{state},car")


def test_aliases_and_units_are_converted(tmp_path: Path) -> None:
    f = export(tmp_path / "a.csv", [row(m, state=("DC" if m >= 8 else "idle")) for m in range(12)])
    df, rep = read_telemetry_csv(f)
    assert rep.ok, [str(p) for p in rep.problems]
    r = df.row(0, named=True)
    assert r["timestamp"] == dt.datetime(2026, 6, 1, 8, 0, tzinfo=dt.UTC)
    assert r["vehicle_id"] == "V7" and r["pack_id"] == "V7" and r["segment"] == "car"
    assert r["pack_current_a"] == pytest.approx(-10.0)  # mA
    assert r["cell_voltage_min_v"] == pytest.approx(3.801, abs=1e-6)  # mV
    assert r["temperature_min_c"] == pytest.approx(20.0, abs=1e-5)  # (68 − 32) · 5/9
    assert r["temperature_max_c"] == pytest.approx(25.0, abs=1e-5)  # (77 − 32) · 5/9
    assert r["odometer_km"] == pytest.approx(1609.344)  # 1000 mi
    assert r["soc_pct"] == pytest.approx(80.0)  # a fraction, scaled
    assert df["charging_state"].to_list() == ["not_charging"] * 8 + ["dc"] * 4
    assert any("mi → km" in n for n in rep.notes)


def test_latin1_and_bom_exports_read_like_utf8(tmp_path: Path) -> None:
    """Windows tools write "Max Temp (°F)" in Latin-1 (or UTF-8 with a BOM): the same frame as the UTF-8 file."""
    text = HEADER + "".join(row(m) + "\n" for m in range(12))
    ref, _ = read_telemetry_csv(export(tmp_path / "u.csv", [row(m) for m in range(12)]))
    for name, data in (("l1.csv", text.encode("latin-1")), ("bom.csv", b"\xef\xbb\xbf" + text.encode("utf-8"))):
        (tmp_path / name).write_bytes(data)
        df, rep = read_telemetry_csv(tmp_path / name)
        assert rep.ok, [str(p) for p in rep.problems]
        assert df.equals(ref) and df["temperature_max_c"][0] == pytest.approx(25.0, abs=1e-5)


def test_discharge_positive_exports_and_local_time(tmp_path: Path) -> None:
    lines = "timestamp,vehicle_id,pack_id,segment,current_a,voltage_v,soc_pct,min_cell_voltage,max_cell_voltage," \
            "min_cell_index,max_cell_index,min_temperature_c,max_temperature_c,odometer_km,charging_state\n"
    for m in range(10):
        lines += f"2026-06-01 10:{m:02d}:00,V1,P1,bus,50,600,{70 - m},3.3,3.31,1,2,20,21,{5 + m},0\n"
    f = tmp_path / "b.csv"
    f.write_text(lines)
    df, rep = read_telemetry_csv(f, tz="Europe/Berlin", discharge_positive=True)
    assert rep.ok, [str(p) for p in rep.problems]
    assert df["timestamp"][0] == dt.datetime(2026, 6, 1, 8, 0, tzinfo=dt.UTC)  # 10:00 CEST
    assert df["pack_current_a"][0] == -50.0 and df["charging_state"][0] == "not_charging"


def test_epoch_milliseconds(tmp_path: Path) -> None:
    f = tmp_path / "c.csv"
    ms = int(dt.datetime(2026, 6, 1, tzinfo=dt.UTC).timestamp() * 1000)
    f.write_text("epoch,vin,current,voltage,soc,cell_v_min,cell_v_max,min_cell_id,max_cell_id,t_min,t_max,odo,charge_state\n"
                 + "".join(f"{ms + 60000 * i},V1,1,360,50,3.7,3.71,1,2,20,21,5,ac\n" for i in range(10)))
    df, rep = read_telemetry_csv(f, segment="taxi")
    assert rep.ok, [str(p) for p in rep.problems]
    assert df["timestamp"][1] == dt.datetime(2026, 6, 1, 0, 1, tzinfo=dt.UTC)


def test_bad_values_are_reported_with_csv_line_and_header(tmp_path: Path) -> None:
    rows = [row(m) for m in range(12)]
    rows[6] = row(6, vmin="abc")
    f = export(tmp_path / "d.csv", rows)
    _, rep = read_telemetry_csv(f)
    [p] = rep.errors
    assert (p.row, p.column, p.rule, p.value) == (8, "Min Cell Voltage [mV]", "type", "abc")  # line 8 (header = 1)


def test_unknown_units_and_unreadable_files(tmp_path: Path) -> None:
    f = tmp_path / "e.csv"
    f.write_text("time,vin,current [kA]\n2026-06-01T00:00:00Z,V1,1\n")
    _, rep = read_telemetry_csv(f, segment="car")
    assert any(p.rule == "unit" and p.column == "current [kA]" for p in rep.errors)
    assert {p.column for p in rep.errors if p.rule == "missing_column"} >= {"pack_voltage_v", "soc_pct"}
    assert map_columns(["Max Cell Temp (°C)", "foo"]) == ({"temperature_max_c": ("Max Cell Temp (°C)", "°c")}, ["foo"])


def test_import_writes_the_layout_or_nothing(tmp_path: Path) -> None:
    good = export(tmp_path / "g.csv", [row(m) for m in range(12)])
    bad = export(tmp_path / "h.csv", [row(m, vmin="x") for m in range(12)])
    packs = tmp_path / "packs.csv"
    packs.write_text("pack_id,vehicle_id,segment,chemistry,rated_capacity_ah,rated_energy_kwh,nominal_voltage_v,"
                     "cells_in_series,cells_in_parallel,first_use_date\nV7,V7,car,NMC811,230.9,82,355.2,97,3,2025-01-01\n")
    out = tmp_path / "fleet"
    res = import_csvs([good, bad], out, packs, buckets=4)
    assert not res["ok"] and res["written"] == 0 and not out.exists()
    res = import_csvs([good], out, packs, buckets=4)
    assert res["ok"] and res["written"] == 12
    [f] = telemetry_files(out)
    assert f.parent.name == f"bucket={bucket_of('V7', 4):02d}" and f.parent.parent.name == "date=2026-06-01"
    assert validate_folder(out).ok and read_packs(out)["pack_id"].to_list() == ["V7"]
    assert import_csvs([good], out, packs)["written"] == 12  # again: merged, each sample once
    assert pl.read_parquet(f).height == 12


def test_the_layout_written_as_csv_reads_back_unchanged(tmp_path: Path) -> None:
    """A round trip: the generator's Parquet day, written by Polars as CSV, is the same frame after the reader."""
    from polars.testing import assert_frame_equal

    from batteryloop.fleet.simulate import simulate

    simulate(tmp_path / "f", vehicles=3, days=1, seed=1, interval_s=600.0, buckets=1, fault_share=0.0)
    [part] = telemetry_files(tmp_path / "f")
    df = pl.read_parquet(part)
    df.write_csv(tmp_path / "day.csv")
    back, rep = read_telemetry_csv(tmp_path / "day.csv", interval_s=600.0)
    assert rep.ok and rep.rows == 3 * 144, [str(p) for p in rep.problems]
    assert_frame_equal(df.sort("vehicle_id", "timestamp"), back, check_exact=False, rel_tol=1e-6)


def test_import_refuses_a_bad_pack_registry_before_writing(tmp_path: Path) -> None:
    good = export(tmp_path / "g.csv", [row(m) for m in range(12)])
    (tmp_path / "packs.csv").write_text("pack_id,vehicle_id\nV7,V7\n")
    out = tmp_path / "fleet"
    with pytest.raises(ValueError, match="missing column.*rated_capacity_ah"):
        import_csvs([good], out, tmp_path / "packs.csv")
    with pytest.raises(FileNotFoundError, match="no pack registry at .*nope.csv"):
        import_csvs([good], out, tmp_path / "nope.csv")
    assert not out.exists()  # not a _layout.json without its registry

    from typer.testing import CliRunner

    from batteryloop.cli import app

    res = CliRunner().invoke(app, ["fleet", "import", str(good), "--packs", str(tmp_path / "packs.csv"), "-o", str(out)])
    assert res.exit_code == 2 and "rated_capacity_ah" in res.output and not out.exists()
