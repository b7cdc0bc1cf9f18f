"""Maccor text exports (tab-separated, one title line then a header line ``Rec#  Cyc#  Step ...``).

``Amp-hr`` and ``Watt-hr`` count per step; the ``State`` column says whether the step charges
(``C``), discharges (``D``) or rests (``R``). Some exports give ``Amps`` unsigned: the sign is
taken from the state, so that current is positive on charge. ``DPt Time`` is local wall-clock
time without a zone (pass ``tz``); ``DCIR/Ohms`` is the resistance the cycler measured, 0 if none.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import polars as pl

from batteryloop.health.errors import CyclerFileError
from batteryloop.health.readers._common import decode, find, read_table, require, split_header
from batteryloop.health.readers.registry import Reader, register
from batteryloop.health.timeseries import CyclerData, conform, cumulative_columns, increments

FORMAT = "maccor"
_DATE_FORMATS = ("%m/%d/%Y %H:%M:%S", "%m/%d/%Y %H:%M:%S%.f", "%m/%d/%Y %I:%M:%S %p")


def _header_index(text: str) -> int | None:
    for i, line in enumerate(text.split("\n", 5)[:5]):
        if line.startswith("Rec#") and "\t" in line:
            return i
    return None


def sniff(head: str) -> bool:
    """A Maccor export has a tab-separated header starting ``Rec#`` with ``Cyc#`` in its first lines."""
    i = _header_index(head)
    return i is not None and "Cyc#" in head.split("\n", 5)[i]


def read(path: Path, data: bytes, tz: str = "UTC") -> CyclerData:
    text = decode(path, data)
    hi = _header_index(text)
    if hi is None:
        raise CyclerFileError(path, "no Maccor header line starting with 'Rec#' in the first 5 lines", line=1)
    lines = text.split("\n", hi + 1)
    header = split_header(lines[hi], "\t")
    hl = hi + 1
    c_time = require(path, header, hl, "test time", "Test (Sec)", "Test Time (sec)")
    c_cycle = require(path, header, hl, "cycle", "Cyc#")
    c_step = require(path, header, hl, "step", "Step")
    c_ah = require(path, header, hl, "capacity", "Amp-hr")
    c_wh = find(header, "Watt-hr")
    c_i = require(path, header, hl, "current", "Amps")
    c_v = require(path, header, hl, "voltage", "Volts")
    c_state = require(path, header, hl, "state", "State")
    c_date = find(header, "DPt Time")
    c_ir = find(header, "DCIR/Ohms")
    c_temp = find(header, "Temp 1", "Temperature")
    wanted = [c for c in (c_time, c_cycle, c_step, c_ah, c_wh, c_i, c_v, c_state, c_date, c_ir, c_temp) if c]
    t = read_table(path, text, header_index=hi, separator="\t", wanted=wanted)
    state = t.columns[c_state].str.strip_chars().fill_null("").to_numpy().astype(str)
    step = t.number(c_step)
    time_s = t.number(c_time)
    charging = state == "C"
    discharging = state == "D"
    amps = t.number(c_i)
    current = np.where(charging, np.abs(amps), np.where(discharging, -np.abs(amps), amps))
    # a counter restarts with every step, and when the state changes inside a step
    segment = step * 4 + charging + 2 * discharging
    dq = increments(t.number(c_ah), segment)
    de = increments(t.number(c_wh), segment) if c_wh else np.zeros(t.height)
    cols = cumulative_columns(
        np.where(charging, dq, 0.0), np.where(discharging, dq, 0.0), np.where(charging, de, 0.0), np.where(discharging, de, 0.0)
    )
    ir = t.number(c_ir, required=False) if c_ir else None
    frame = pl.DataFrame(
        {
            "time_s": time_s - time_s[0],
            "cycle": t.number(c_cycle).astype(np.int64),
            "step": step.astype(np.int64),
            "current_a": current,
            "voltage_v": t.number(c_v),
            **cols,
            "temperature_c": t.number(c_temp, required=False) if c_temp else None,
            "internal_resistance_ohm": np.where(ir > 0, ir, np.nan) if ir is not None else None,
        }
    )
    if c_date:
        frame = frame.with_columns(timestamp=t.datetime(c_date, _DATE_FORMATS, tz))
    meta: dict[str, str] = {}
    title = lines[0].strip() if hi > 0 else ""
    for key in ("Date of Test", "Filename", "Procedure", "Comment/Barcode"):
        m = re.search(re.escape(key) + r":\s*([^\t]+)", title)
        if m:
            meta[key] = m.group(1).strip()
    return CyclerData(conform(frame), FORMAT, [str(path)], meta)


register(Reader(FORMAT, read, priority=120, sniff=sniff, header_name="Maccor", suffixes=(".txt",),
                title="Maccor text export"))
