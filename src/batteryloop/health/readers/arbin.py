"""Arbin MITS Pro CSV exports (one row per data point; ``Cycle_Index``, ``Current``, ``Voltage``...).

Two header styles exist in the wild: bare names (``Current``, ``Charge_Capacity``, ``DateTime`` as
Unix seconds; the style of TRI's beep test files) and names with units (``Current(A)``,
``Test_Time(s)``, ``Date_Time`` as text). Arbin counts current positive on charge and keeps
separate charge and discharge capacity and energy counters, which reset per cycle or per test.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl

from batteryloop.health.readers._common import decode, find, read_table, require, split_header
from batteryloop.health.readers.registry import Reader, register
from batteryloop.health.timeseries import CyclerData, conform, cumulative_columns, increments

FORMAT = "arbin_csv"
_DATE_FORMATS = ("%m/%d/%Y %H:%M:%S%.f", "%m/%d/%Y %H:%M:%S", "%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%d %H:%M:%S")


def sniff(head: str) -> bool:
    """An Arbin CSV header has ``Data_Point`` (or ``Test_Time``), ``Cycle_Index`` and a current column."""
    first = head.split("\n", 1)[0]
    return "," in first and "Cycle_Index" in first and ("Data_Point" in first or "Test_Time" in first)


def read(path: Path, data: bytes, tz: str = "UTC") -> CyclerData:
    text = decode(path, data)
    header = split_header(text.split("\n", 1)[0], ",")
    c_time = require(path, header, 1, "test time", "Test_Time", "Test_Time(s)")
    c_cycle = require(path, header, 1, "cycle", "Cycle_Index")
    c_i = require(path, header, 1, "current", "Current", "Current(A)")
    c_v = require(path, header, 1, "voltage", "Voltage", "Voltage(V)")
    c_qc = require(path, header, 1, "charge capacity", "Charge_Capacity", "Charge_Capacity(Ah)")
    c_qd = require(path, header, 1, "discharge capacity", "Discharge_Capacity", "Discharge_Capacity(Ah)")
    c_ec = find(header, "Charge_Energy", "Charge_Energy(Wh)")
    c_ed = find(header, "Discharge_Energy", "Discharge_Energy(Wh)")
    c_step = find(header, "Step_Index")
    c_date = find(header, "DateTime", "Date_Time")
    c_temp = find(header, "Temperature", "Temperature(C)", "Aux_Temperature_1(C)", "Temperature (C)_1")
    c_ir = find(header, "Internal_Resistance", "Internal_Resistance(Ohm)")
    wanted = [c for c in (c_time, c_cycle, c_i, c_v, c_qc, c_qd, c_ec, c_ed, c_step, c_date, c_temp, c_ir) if c]
    t = read_table(path, text, header_index=0, separator=",", wanted=wanted)
    time_s = t.number(c_time)
    current = t.number(c_i)
    voltage = t.number(c_v)
    cols = cumulative_columns(
        increments(t.number(c_qc)),
        increments(t.number(c_qd)),
        increments(t.number(c_ec)) if c_ec else np.zeros(t.height),
        increments(t.number(c_ed)) if c_ed else np.zeros(t.height),
    )
    frame = pl.DataFrame(
        {
            "time_s": time_s - time_s[0],
            "cycle": t.number(c_cycle).astype(np.int64),
            "step": t.number(c_step).astype(np.int64) if c_step else None,
            "current_a": current,
            "voltage_v": voltage,
            **cols,
            "temperature_c": t.number(c_temp, required=False) if c_temp else None,
            "internal_resistance_ohm": _resistance(t.number(c_ir, required=False)) if c_ir else None,
        }
    )
    if c_date:
        frame = frame.with_columns(timestamp=_timestamps(t, c_date, tz))
    return CyclerData(conform(frame), FORMAT, [str(path)], {})


def _timestamps(t, column: str, tz: str) -> pl.Series:  # type: ignore[no-untyped-def]
    s = t.columns[column]
    numeric = s.str.strip_chars().cast(pl.Float64, strict=False)
    if numeric.null_count() == s.null_count():
        return (numeric * 1e6).cast(pl.Int64).cast(pl.Datetime("us", "UTC"))
    return t.datetime(column, _DATE_FORMATS, tz)


def _resistance(ohm: np.ndarray) -> np.ndarray:
    """Arbin writes 0 where it did not measure: that is 'no value', not zero ohms."""
    return np.where(ohm > 0, ohm, np.nan)


register(Reader(FORMAT, read, priority=130, sniff=sniff, header_name="Arbin", suffixes=(".csv",),
                title="Arbin MITS Pro CSV export"))
