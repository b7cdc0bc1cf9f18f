"""Arbin MITS Pro Excel exports (``.xlsx``): an ``Info`` sheet and one ``Channel_*`` sheet per channel.

Columns as in the CALCE data sets (``Data_Point``, ``Test_Time(s)``, ``Date_Time``,
``Step_Index``, ``Cycle_Index``, ``Current(A)``, ``Voltage(V)``, ``Charge_Capacity(Ah)``,
``Discharge_Capacity(Ah)``, ``Charge_Energy(Wh)``, ``Discharge_Energy(Wh)``,
``Internal_Resistance(Ohm)``). Capacities count over the whole file and ``Cycle_Index``
restarts in every file: a cell's history is its files concatenated in date order
(:func:`batteryloop.health.readers.read_cell`). Sheets are read with ``fastexcel`` (Rust
calamine), about 20× faster than openpyxl on these workbooks.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl

from batteryloop.health.errors import CyclerFileError
from batteryloop.health.readers._common import find, require
from batteryloop.health.readers.registry import Reader, register
from batteryloop.health.timeseries import CyclerData, conform, cumulative_columns, increments

FORMAT = "arbin_xlsx"


def sniff_zip(data: bytes) -> bool:
    """An .xlsx is a ZIP holding ``xl/workbook.xml``."""
    return data[:4] == b"PK\x03\x04" and b"xl/" in data[:65536 * 8]


def read(path: Path, data: bytes, tz: str = "UTC", sheet: str | None = None) -> CyclerData:
    import fastexcel

    try:
        reader = fastexcel.read_excel(data)
    except Exception as exc:  # calamine raises its own error types for corrupt archives
        raise CyclerFileError(path, f"not a readable Excel workbook: {exc}".splitlines()[0]) from exc
    names = reader.sheet_names
    channels = [n for n in names if n.startswith("Channel")]
    if sheet is None:
        if not channels:
            raise CyclerFileError(path, f"no 'Channel_*' sheet in the workbook (sheets: {names})")
        sheet = channels[0]
    elif sheet not in names:
        raise CyclerFileError(path, f"no sheet {sheet!r} in the workbook (sheets: {names})")
    try:
        df = reader.load_sheet_by_name(sheet).to_polars()
    except Exception as exc:
        raise CyclerFileError(path, f"sheet {sheet!r} cannot be read: {exc}".splitlines()[0]) from exc
    where = f"{path}[{sheet}]"
    header = df.columns
    c_time = require(Path(where), header, 1, "test time", "Test_Time(s)", "Test_Time")
    c_cycle = require(Path(where), header, 1, "cycle", "Cycle_Index")
    c_i = require(Path(where), header, 1, "current", "Current(A)", "Current")
    c_v = require(Path(where), header, 1, "voltage", "Voltage(V)", "Voltage")
    c_qc = require(Path(where), header, 1, "charge capacity", "Charge_Capacity(Ah)", "Charge_Capacity")
    c_qd = require(Path(where), header, 1, "discharge capacity", "Discharge_Capacity(Ah)", "Discharge_Capacity")
    c_ec = find(header, "Charge_Energy(Wh)", "Charge_Energy")
    c_ed = find(header, "Discharge_Energy(Wh)", "Discharge_Energy")
    c_step = find(header, "Step_Index")
    c_date = find(header, "Date_Time", "DateTime")
    c_ir = find(header, "Internal_Resistance(Ohm)", "Internal_Resistance")
    c_temp = find(header, "Temperature(C)", "Aux_Temperature_1(C)", "Temperature (C)_1")
    if df.height == 0:
        raise CyclerFileError(where, "the sheet has a header but no data rows", line=2)

    def num(name: str, required: bool = True) -> np.ndarray:
        s = df.get_column(name)
        out = s.cast(pl.Float64, strict=False)
        bad = s.is_not_null() & out.is_null()
        missing = out.is_null() if required else bad
        if missing.any():
            i = int(missing.arg_max())  # type: ignore[arg-type]
            raise CyclerFileError(
                where, "not a number" if bad[i] else "missing value", line=i + 2, column=name, value=str(s[i])
            )
        return out.to_numpy().astype(np.float64, copy=False)

    time_s = num(c_time)
    ir = num(c_ir, required=False) if c_ir else None
    frame = pl.DataFrame(
        {
            "time_s": time_s - time_s[0],
            "cycle": num(c_cycle).astype(np.int64),
            "step": num(c_step).astype(np.int64) if c_step else None,
            "current_a": num(c_i),
            "voltage_v": num(c_v),
            **cumulative_columns(
                increments(num(c_qc)),
                increments(num(c_qd)),
                increments(num(c_ec)) if c_ec else np.zeros(df.height),
                increments(num(c_ed)) if c_ed else np.zeros(df.height),
            ),
            "temperature_c": num(c_temp, required=False) if c_temp else None,
            "internal_resistance_ohm": np.where(ir > 0, ir, np.nan) if ir is not None else None,
        }
    )
    if c_date:
        ts = df.get_column(c_date)
        if ts.dtype == pl.Datetime:
            stamp = ts.dt.cast_time_unit("us")
            stamp = stamp.dt.replace_time_zone(tz) if stamp.dtype.time_zone is None else stamp  # type: ignore[attr-defined]
            frame = frame.with_columns(timestamp=stamp.dt.convert_time_zone("UTC"))
    meta: dict[str, object] = {"sheet": sheet}
    if "Info" in names:
        try:
            info = reader.load_sheet_by_name("Info", header_row=None).to_polars()
            meta["info"] = {
                str(r[0]): str(r[1]) for r in info.rows() if len(r) > 1 and r[0] is not None and r[1] is not None
            }
        except Exception:  # the Info sheet is informative only
            pass
    return CyclerData(conform(frame), FORMAT, [str(path)], meta)


register(Reader(FORMAT, read, priority=20, sniff_bytes=sniff_zip, content_name="Excel workbook",
                suggest="an Arbin .xlsx workbook", suffixes=(".xlsx",), title="Arbin MITS Pro Excel export"))
