"""Novonix HPC CSV exports: a ``[Summary]`` block, a ``[Protocol]`` block, then ``[Data]``.

Data lines may be wrapped whole in double quotes (as in TRI's test file). ``Run Time (h)`` is in
hours; ``Capacity (Ah)`` and ``Energy (Wh)`` count per step. The step type code says the
direction (Novonix HPC manual): 0 open circuit; 1, 7 constant-current charge; 8 constant-voltage
charge; 2, 9 constant-current discharge; 10 constant-voltage discharge. Current is signed from
the step type when it is known, else taken as reported.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl

from batteryloop.health.errors import CyclerFileError
from batteryloop.health.readers._common import decode, find, read_table, require, split_header
from batteryloop.health.readers.registry import Reader, register
from batteryloop.health.timeseries import CyclerData, conform, cumulative_columns, increments

FORMAT = "novonix"
CHARGE_STEP_TYPES = frozenset({1, 7, 8})
DISCHARGE_STEP_TYPES = frozenset({2, 9, 10})
_DATE_FORMATS = ("%Y-%m-%d %I:%M:%S %p", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %I:%M:%S%.f %p", "%Y-%m-%d %H:%M:%S%.f")


def sniff(head: str) -> bool:
    return head.lstrip().startswith("[Summary]") and "Novonix" in head[:2000]


def read(path: Path, data: bytes, tz: str = "UTC") -> CyclerData:
    text = decode(path, data)
    marker = text.find("[Data]")
    if marker < 0:
        raise CyclerFileError(path, "no [Data] section: the file is truncated or not a Novonix export")
    pre = text[:marker]
    data_line0 = pre.count("\n") + 1  # 0-based index of the header line after [Data]
    body = text[marker:].split("\n", 1)
    if len(body) < 2 or not body[1].strip():
        raise CyclerFileError(path, "the [Data] section is empty", line=data_line0)
    body_text = body[1].replace('"', "")
    header = split_header(body_text.split("\n", 1)[0], ",")
    hl = data_line0 + 1
    c_time = require(path, header, hl, "run time", "Run Time (h)")
    c_cycle = require(path, header, hl, "cycle", "Cycle Number")
    c_type = require(path, header, hl, "step type", "Step Type")
    c_i = require(path, header, hl, "current", "Current (A)")
    c_v = require(path, header, hl, "voltage", "Potential (V)")
    c_q = require(path, header, hl, "capacity", "Capacity (Ah)")
    c_e = find(header, "Energy (Wh)")
    c_step = find(header, "Step Number")
    c_temp = find(header, "Temperature (°C)", "Temperature (C)")
    c_date = find(header, "Date and Time")
    wanted = [c for c in (c_time, c_cycle, c_type, c_i, c_v, c_q, c_e, c_step, c_temp, c_date) if c]
    t = read_table(path, body_text, header_index=0, separator=",", wanted=wanted)
    t.first_data_line += data_line0
    hours = t.number(c_time)
    stype = t.number(c_type).astype(np.int64)
    amps = t.number(c_i)
    chg = np.isin(stype, list(CHARGE_STEP_TYPES))
    dis = np.isin(stype, list(DISCHARGE_STEP_TYPES))
    current = np.where(chg, np.abs(amps), np.where(dis, -np.abs(amps), amps))
    step = t.number(c_step).astype(np.int64) if c_step else stype
    segment = step * 64 + stype
    dq = increments(t.number(c_q), segment)
    de = increments(t.number(c_e), segment) if c_e else np.zeros(t.height)
    pos = current > 0
    neg = current < 0
    # a row's increment belongs to the direction of its step (the current sign when the type is unknown)
    up = chg | (~dis & pos)
    down = dis | (~chg & neg)
    cols = cumulative_columns(np.where(up, dq, 0.0), np.where(down, dq, 0.0), np.where(up, de, 0.0), np.where(down, de, 0.0))
    frame = pl.DataFrame(
        {
            "time_s": (hours - hours[0]) * 3600.0,
            "cycle": t.number(c_cycle).astype(np.int64),
            "step": step,
            "current_a": current,
            "voltage_v": t.number(c_v),
            **cols,
            "temperature_c": t.number(c_temp, required=False) if c_temp else None,
        }
    )
    if c_date:
        frame = frame.with_columns(timestamp=t.datetime(c_date, _DATE_FORMATS, tz))
    return CyclerData(conform(frame), FORMAT, [str(path)], _summary(pre))


def _summary(pre: str) -> dict[str, object]:
    """Facts of the ``[Summary]`` block (channel, cell, protocol, nominal capacity)."""
    meta: dict[str, object] = {}
    block = pre.split("[End Summary]", 1)[0]
    for line in block.splitlines()[1:]:
        if ":" in line:
            k, v = line.split(":", 1)
            meta[k.strip()] = v.strip()
    try:
        meta["nominal_capacity_ah"] = float(str(meta.get("Capacity (Ah)", "")))
    except ValueError:
        pass
    return meta


register(Reader(FORMAT, read, priority=110, sniff=sniff, header_name="Novonix", suffixes=(".csv",),
                title="Novonix HPC CSV export"))
