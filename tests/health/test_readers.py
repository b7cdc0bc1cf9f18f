"""Each reader on its real shared file, checked against values computed here independently
(Python's csv module and numpy on the raw columns, openpyxl for Excel), and malformed inputs."""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from batteryloop.health.errors import CyclerFileError
from batteryloop.health.readers import detect_format, read_cycler_file
from batteryloop.health.summary import cycle_summary
from batteryloop.health.timeseries import COLUMNS, read_parquet, write_parquet


def _rows(path: Path, sep: str, skip: int, encoding: str = "utf-8") -> list[dict[str, str]]:
    text = path.read_text(encoding=encoding).replace('"', "") if skip else path.read_text(encoding=encoding)
    lines = text.splitlines()[skip:]
    return list(csv.DictReader(lines, delimiter=sep))


def test_formats_are_detected_from_content_not_name(
    arbin_file: Path, maccor_file: Path, novonix_file: Path, biologic_file: Path, calce_files: list[Path]
) -> None:
    assert detect_format(arbin_file.read_bytes()) == "arbin_csv"
    assert detect_format(maccor_file.read_bytes()) == "maccor"
    assert detect_format(novonix_file.read_bytes()) == "novonix"
    assert detect_format(biologic_file.read_bytes()) == "biologic"
    assert detect_format(calce_files[0].read_bytes()[:600000]) == "arbin_xlsx"


def test_arbin_rest_file_is_one_cycle_without_capacity(arbin_file: Path) -> None:
    raw = _rows(arbin_file, ",", 0)
    data = read_cycler_file(arbin_file)
    assert data.rows == len(raw) == 248
    assert data.cycles == sorted({int(float(r["Cycle_Index"])) for r in raw}) == [0]
    s = cycle_summary(data)
    assert s.height == 1
    assert s["charge_capacity_ah"][0] == 0.0 and s["discharge_capacity_ah"][0] == 0.0
    assert s["coulombic_efficiency"][0] is None and s["energy_efficiency"][0] is None
    assert s["full_equivalent_cycles"][0] is None  # no capacity to scale by: not invented
    f = data.frame
    assert f["timestamp"][0].timestamp() == pytest.approx(float(raw[0]["DateTime"]), abs=1e-3)
    assert f["time_s"][-1] == pytest.approx(float(raw[-1]["Test_Time"]) - float(raw[0]["Test_Time"]))
    assert f["temperature_c"].mean() == pytest.approx(np.mean([float(r["Temperature"]) for r in raw]))
    assert f["internal_resistance_ohm"].null_count() == f.height  # zeros mean 'not measured'


def test_maccor_capacities_match_the_step_counters(maccor_file: Path, maccor_data) -> None:  # type: ignore[no-untyped-def]
    raw = _rows(maccor_file, "\t", 1)
    assert maccor_data.rows == len(raw)
    # independent: the last Amp-hr of every (cycle, step, state) segment, summed by direction
    last: dict[tuple[int, int, str], float] = {}
    for r in raw:
        last[(int(r["Cyc#"]), int(r["Step"]), r["State"])] = float(r["Amp-hr"])
    expect: dict[tuple[int, str], float] = defaultdict(float)
    for (cyc, _step, state), ah in last.items():
        expect[(cyc, state)] += ah
    s = cycle_summary(maccor_data)
    assert s["cycle"].to_list() == sorted({int(r["Cyc#"]) for r in raw}) == [0, 1]
    for row in s.iter_rows(named=True):
        assert row["charge_capacity_ah"] == pytest.approx(expect[(row["cycle"], "C")], rel=1e-9)
        assert row["discharge_capacity_ah"] == pytest.approx(expect[(row["cycle"], "D")], rel=1e-9, abs=1e-9)
    # cross-check by coulomb counting the signed current
    f = maccor_data.frame.filter(pl.col("cycle") == 0)
    t, i = f["time_s"].to_numpy(), f["current_a"].to_numpy()
    q_out = -np.trapezoid(np.minimum(i, 0), t) / 3600
    assert q_out == pytest.approx(s["discharge_capacity_ah"][0], rel=0.01)
    assert s["coulombic_efficiency"][1] is None  # cycle 1 is a charge with a 30 ms discharge pulse


def test_novonix_formation_charge(novonix_file: Path) -> None:
    text = novonix_file.read_text(encoding="utf-8")
    body = text.split("[Data]\n", 1)[1].replace('"', "")
    raw = list(csv.DictReader(io.StringIO(body)))
    data = read_cycler_file(novonix_file)
    assert data.rows == len(raw) == 3942
    assert data.metadata["nominal_capacity_ah"] == 0.24
    last: dict[int, float] = {}
    for r in raw:
        last[int(r["Step Number"]) * 100 + int(r["Step Type"])] = float(r["Capacity (Ah)"])
    s = cycle_summary(data)
    assert s["cycle"].to_list() == [1]
    assert s["charge_capacity_ah"][0] == pytest.approx(sum(last.values()), rel=1e-9)
    assert s["discharge_capacity_ah"][0] == 0.0
    hours = float(raw[-1]["Run Time (h)"])
    assert data.frame["time_s"][-1] == pytest.approx(hours * 3600)
    assert (data.frame["current_a"] >= 0).all()


def test_biologic_cycles_and_coulomb_count(biologic_file: Path, biologic_data) -> None:  # type: ignore[no-untyped-def]
    raw = _rows(biologic_file, ";", 0)
    assert biologic_data.rows == len(raw) == 9999
    assert biologic_data.cycles == sorted({int(float(r["cycle number"])) for r in raw}) == [0, 1, 2]
    assert biologic_data.metadata["settings"]["device"].startswith("BCS-815")
    # independent: trapezoidal integral of I/mA over the absolute time stamps
    from datetime import datetime

    t = np.array([datetime.strptime(r["time/s"], "%m/%d/%Y %H:%M:%S.%f").timestamp() for r in raw])
    i = np.array([float(r["I/mA"]) for r in raw]) / 1000
    cyc = np.array([int(float(r["cycle number"])) for r in raw])
    s = cycle_summary(biologic_data)
    for c in (0, 1):
        m = cyc == c
        idx = np.flatnonzero(m)
        seg = slice(max(idx[0] - 1, 0), idx[-1] + 1)
        tt, ii = t[seg], i[seg]
        q_in = np.trapezoid(np.maximum(ii, 0), tt) / 3600
        q_out = -np.trapezoid(np.minimum(ii, 0), tt) / 3600
        row = s.filter(pl.col("cycle") == c).row(0, named=True)
        assert row["charge_capacity_ah"] == pytest.approx(q_in, rel=0.01)
        assert row["discharge_capacity_ah"] == pytest.approx(q_out, rel=0.01)
    assert biologic_data.frame["current_a"].max() == pytest.approx(max(i))


def test_biologic_without_mpl_still_reads(tmp_path: Path, biologic_file: Path) -> None:
    copy = tmp_path / "export.txt"
    copy.write_bytes(biologic_file.read_bytes()[:200000].rsplit(b"\n", 1)[0] + b"\n")
    data = read_cycler_file(copy)
    assert data.source_format == "biologic" and "settings" not in data.metadata


def test_arbin_excel_sheet_matches_openpyxl(calce_files: Path) -> None:
    import openpyxl

    path = next(f for f in calce_files if f.name == "CS2_36_8_18_10.xlsx")
    wb = openpyxl.load_workbook(path, read_only=True)
    ws = next(wb[n] for n in wb.sheetnames if n.startswith("Channel"))
    rows = list(ws.iter_rows(values_only=True))
    head = list(rows[0])
    body = [r for r in rows[1:] if r[0] is not None]
    ci, qd = head.index("Cycle_Index"), head.index("Discharge_Capacity(Ah)")
    by_cycle: dict[int, list[float]] = defaultdict(list)
    for r in body:
        by_cycle[int(r[ci])].append(float(r[qd]))
    data = read_cycler_file(path)
    assert data.rows == len(body)
    s = cycle_summary(data)
    assert s["cycle"].to_list() == sorted(by_cycle)
    prev = 0.0
    for row in s.iter_rows(named=True):
        vals = by_cycle[row["cycle"]]
        assert row["discharge_capacity_ah"] == pytest.approx(max(vals) - prev, abs=1e-9)
        prev = max(vals)


def test_calce_history_concatenates_26_files(calce_cell, calce_files) -> None:  # type: ignore[no-untyped-def]
    f = calce_cell.frame
    stamps = f["timestamp"].to_numpy()
    assert (np.diff(stamps.astype("int64")) >= 0).all(), "files must follow each other in time"
    assert f["cycle"].is_sorted()
    s = cycle_summary(calce_cell, rated_capacity_ah=1.1)
    assert s.height > 900
    first = s.filter(pl.col("discharge_capacity_ah") > 0.5)["discharge_capacity_ah"].head(20).max()
    assert 1.0 < first < 1.2  # a 1.1 Ah cell
    assert s["capacity_throughput_ah"][-1] == pytest.approx(
        f["charge_capacity_ah"][-1] + f["discharge_capacity_ah"][-1]
    )


def test_parquet_round_trip(tmp_path: Path, maccor_data) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "cell.parquet"
    write_parquet(maccor_data, out)
    back = read_parquet(out)
    assert back.frame.columns == list(COLUMNS)
    assert back.frame.equals(maccor_data.frame)
    assert back.source_format == "maccor" and back.metadata["Comment/Barcode"] == "000229"
    assert read_cycler_file(out).rows == maccor_data.rows  # detected by content


def test_bdf_csv_written_by_hand_is_read(tmp_path: Path, maccor_file: Path, maccor_data) -> None:  # type: ignore[no-untyped-def]
    raw = _rows(maccor_file, "\t", 1)
    path = tmp_path / "cell.bdf.csv"
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["Test Time / s", "Voltage / V", "Current / A", "Cycle Count / 1", "Step Count / 1"])
        for r in raw:
            amps = float(r["Amps"])
            w.writerow([r["Test (Sec)"], r["Volts"], amps, r["Cyc#"], r["Step"]])
    data = read_cycler_file(path)
    assert data.source_format == "bdf" and data.rows == len(raw)
    s = cycle_summary(data)
    ref = cycle_summary(maccor_data)
    # no capacity columns: the reader coulomb-counts, which must agree with Maccor's counters
    assert s["discharge_capacity_ah"][0] == pytest.approx(ref["discharge_capacity_ah"][0], rel=0.01)
    assert s["charge_capacity_ah"][0] == pytest.approx(ref["charge_capacity_ah"][0], rel=0.01)


def test_bdf_writer_round_trip(tmp_path: Path, biologic_data) -> None:  # type: ignore[no-untyped-def]
    from batteryloop.health.readers import bdf

    path = tmp_path / "out.csv"
    bdf.write(biologic_data, path)
    back = read_cycler_file(path)
    a, b = cycle_summary(back), cycle_summary(biologic_data)
    assert a["discharge_capacity_ah"].to_list() == pytest.approx(b["discharge_capacity_ah"].to_list(), rel=1e-6)
    assert back.frame["timestamp"][0] == biologic_data.frame["timestamp"][0]


# ---- malformed input: a clear error naming file, line and column, never a bare traceback ----


def _err(path: Path) -> CyclerFileError:
    with pytest.raises(CyclerFileError) as info:
        read_cycler_file(path)
    return info.value


def test_empty_file(tmp_path: Path) -> None:
    p = tmp_path / "empty.csv"
    p.write_bytes(b"")
    assert "empty" in str(_err(p))


def test_binary_garbage(tmp_path: Path) -> None:
    p = tmp_path / "garbage.csv"
    p.write_bytes(bytes(range(256)) * 40)
    e = _err(p)
    assert "binary" in str(e) and str(p) in str(e)


def test_unknown_text(tmp_path: Path) -> None:
    p = tmp_path / "notes.csv"
    p.write_text("a,b,c\n1,2,3\n")
    e = _err(p)
    assert "unrecognised" in str(e) and e.line == 1


def test_non_numeric_value_names_line_and_column(tmp_path: Path, maccor_file: Path) -> None:
    lines = maccor_file.read_bytes().split(b"\r\n")
    fields = lines[101].split(b"\t")
    fields[8] = b"3.4x"  # Volts
    lines[101] = b"\t".join(fields)
    p = tmp_path / "bad.034"
    p.write_bytes(b"\r\n".join(lines))
    e = _err(p)
    assert (e.line, e.column, e.value) == (102, "Volts", "3.4x")
    assert f"{p}:102: column 'Volts': not a number" in str(e)


def test_truncated_file_names_last_line(tmp_path: Path, arbin_file: Path) -> None:
    data = arbin_file.read_bytes()
    cut = data[: data.index(b"\n", len(data) // 2) + 20]  # stop in the middle of a row
    p = tmp_path / "cut.csv"
    p.write_bytes(cut)
    e = _err(p)
    assert e.line == cut.count(b"\n") + 1
    assert "truncated" in str(e) or "not a number" in str(e)


def test_wrong_columns(tmp_path: Path, arbin_file: Path) -> None:
    text = arbin_file.read_text().replace("Voltage", "Volt_age", 1)
    p = tmp_path / "renamed.csv"
    p.write_text(text)
    e = _err(p)
    assert "voltage" in str(e) and e.line == 1


def test_header_only(tmp_path: Path, arbin_file: Path) -> None:
    p = tmp_path / "header.csv"
    p.write_text(arbin_file.read_text().splitlines()[0] + "\n")
    assert "no data rows" in str(_err(p))


def test_truncated_novonix_without_data(tmp_path: Path, novonix_file: Path) -> None:
    p = tmp_path / "nova.csv"
    p.write_bytes(novonix_file.read_bytes()[:1500])
    assert "[Data]" in str(_err(p))


def test_corrupt_workbook(tmp_path: Path, calce_files: list[Path]) -> None:
    p = tmp_path / "bad.xlsx"
    p.write_bytes(calce_files[0].read_bytes()[:5000])
    e = _err(p)
    assert str(p) in str(e)


def test_missing_file(tmp_path: Path) -> None:
    e = _err(tmp_path / "nope.csv")
    assert "cannot read" in str(e)
