"""Biologic EC-Lab / BT-Lab text exports (``.mpt`` or a ``;``/tab-separated ``.csv``), with the
``.mpl`` settings log that the software writes beside the data.

Biologic counts current positive on oxidation of the working electrode, i.e. on charge of a
full cell. ``time/s`` is either seconds since the acquisition start or, with the export option
"Time format: Absolute MMDDYYYY", a wall-clock time ``05/05/2021 15:36:22.757`` (local, no zone).
Capacity comes in mA·h from the ``Q charge`` / ``Q discharge`` counters (they restart every half
cycle), energy in W·h from ``Energy charge`` / ``Energy discharge``; ``cycle number`` counts from 0.
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

import numpy as np
import polars as pl

from batteryloop.health.errors import CyclerFileError
from batteryloop.health.readers._common import decode, find, read_table, require, split_header
from batteryloop.health.readers.registry import Reader, register
from batteryloop.health.timeseries import (
    CyclerData,
    conform,
    cumulative_columns,
    increments,
    integrate_charge,
    integrate_energy,
)

FORMAT = "biologic"
_ABS_FORMATS = ("%m/%d/%Y %H:%M:%S%.f", "%m/%d/%Y %H:%M:%S", "%d/%m/%Y %H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f")
_NB_HEADER = re.compile(r"Nb header lines\s*:\s*(\d+)")


def _layout(head: str) -> tuple[int, str] | None:
    """(0-based header line index, separator) of a Biologic text export, or None."""
    if head.startswith(("EC-Lab ASCII FILE", "BT-Lab ASCII FILE")):
        m = _NB_HEADER.search(head[:500])
        if not m:
            return None
        return int(m.group(1)) - 1, "\t"
    first = head.split("\n", 1)[0]
    for sep in (";", "\t"):
        names = split_header(first, sep)
        if any(n.startswith(("Ecell/", "Ewe/")) for n in names) and any(
            n in ("I/mA", "<I>/mA", "control/V/mA") for n in names
        ):
            return 0, sep
    return None


def sniff(head: str) -> bool:
    return _layout(head) is not None


def read(path: Path, data: bytes, tz: str = "UTC", settings_path: Path | None = None) -> CyclerData:
    text = decode(path, data)
    layout = _layout(text[:65536])
    if layout is None:
        raise CyclerFileError(path, "not a Biologic text export (no Ecell/V and I/mA header)", line=1)
    hi, sep = layout
    lines = text.split("\n", hi + 2)
    if len(lines) <= hi:
        raise CyclerFileError(path, f"the header says {hi + 1} header lines but the file ends before", line=len(lines))
    header = split_header(lines[hi], sep)
    hl = hi + 1
    if len(lines) > hi + 1 and "," in lines[hi + 1] and sep != ",":
        text = text.replace(",", ".")  # decimal commas (European locale)
    c_time = require(path, header, hl, "time", "time/s")
    c_v = require(path, header, hl, "voltage", "Ecell/V", "Ewe/V")
    c_i = require(path, header, hl, "current", "I/mA", "<I>/mA")
    c_cycle = require(path, header, hl, "cycle", "cycle number")
    c_qc = find(header, "Q charge/mA.h")
    c_qd = find(header, "Q discharge/mA.h")
    c_ec = find(header, "Energy charge/W.h")
    c_ed = find(header, "Energy discharge/W.h")
    c_ns = find(header, "Ns")
    c_temp = find(header, "Temperature/°C", "T/°C", "Temperature/°C/°c")
    wanted = [c for c in (c_time, c_v, c_i, c_cycle, c_qc, c_qd, c_ec, c_ed, c_ns, c_temp) if c]
    t = read_table(path, text, header_index=hi, separator=sep, wanted=wanted)
    current = t.number(c_i) / 1000.0
    voltage = t.number(c_v)
    settings = read_settings(settings_path or path.with_suffix(".mpl"))
    raw_time = t.columns[c_time].str.strip_chars()
    timestamp: pl.Series | None = None
    if raw_time.cast(pl.Float64, strict=False).null_count() == raw_time.null_count():
        time_s = t.number(c_time)
        start = settings.get("acquisition_started")
        if isinstance(start, datetime):
            timestamp = (
                pl.Series([start]).dt.cast_time_unit("us").dt.replace_time_zone(tz).dt.convert_time_zone("UTC")
                + pl.Series((time_s * 1e6).astype(np.int64)).cast(pl.Duration("us"))
            )
    else:
        timestamp = t.datetime(c_time, _ABS_FORMATS, tz)
        time_s = ((timestamp - timestamp[0]).dt.total_microseconds() / 1e6).to_numpy()
    if c_qc and c_qd:
        qc = increments(t.number(c_qc)) / 1000.0
        qd = increments(t.number(c_qd)) / 1000.0
    else:
        qc, qd = integrate_charge(time_s, current)
    if c_ec and c_ed:
        ec, ed = increments(t.number(c_ec)), increments(t.number(c_ed))
    else:
        ec, ed = integrate_energy(time_s, current, voltage)
    frame = pl.DataFrame(
        {
            "time_s": time_s - time_s[0],
            "cycle": t.number(c_cycle).astype(np.int64),
            "step": t.number(c_ns).astype(np.int64) if c_ns else None,
            "current_a": current,
            "voltage_v": voltage,
            **cumulative_columns(qc, qd, ec, ed),
            "temperature_c": t.number(c_temp, required=False) if c_temp else None,
        }
    )
    if timestamp is not None:
        frame = frame.with_columns(timestamp=timestamp)
    return CyclerData(conform(frame), FORMAT, [str(path)], {"settings": settings} if settings else {})


def read_settings(path: Path) -> dict[str, object]:
    """Facts of a Biologic ``.mpl`` settings log: device, channel, acquisition start, safety limits,
    battery capacity and the technique table's step types. Empty if the file is absent."""
    if not path.is_file():
        return {}
    raw = path.read_bytes()
    text = raw.decode("latin-1")
    out: dict[str, object] = {"file": str(path)}
    pairs = {
        "device": r"^Device\s*:\s*(.+)$",
        "channel": r"^Run on channel\s*:\s*(.+)$",
        "software": r"^(BT-Lab|EC-Lab) for windows\s*(\S+)",
        "time_format": r"Time format\s*:\s*(.+)$",
        "cycle_definition": r"^Cycle Definition\s*:\s*(.+)$",
        "battery_capacity": r"^Battery capacity\s*:\s*(.+)$",
        "ecell_min": r"Ecell min\s*=\s*([-\d.]+)\s*V",
        "ecell_max": r"Ecell max\s*=\s*([-\d.]+)\s*V",
    }
    for key, pattern in pairs.items():
        m = re.search(pattern, text, re.MULTILINE)
        if m:
            out[key] = m.group(m.lastindex or 1).strip()
    for key in ("ecell_min", "ecell_max"):
        if key in out:
            out[key + "_v"] = float(str(out.pop(key)))
    m = re.search(r"Acquisition started on\s*:\s*(\d\d/\d\d/\d{4} \d\d:\d\d:\d\d(?:\.\d+)?)", text)
    if m:
        stamp = m.group(1)
        fmt = "%m/%d/%Y %H:%M:%S.%f" if "." in stamp else "%m/%d/%Y %H:%M:%S"
        out["acquisition_started"] = datetime.strptime(stamp, fmt)
    m = re.search(r"^ctrl_type\s+(.+)$", text, re.MULTILINE)
    if m:
        out["technique_steps"] = m.group(1).split()
    return out


register(Reader(FORMAT, read, priority=140, sniff=sniff, header_name="Biologic", suffixes=(".mpt", ".csv"),
                options=("settings_path",), title="Biologic EC-Lab / BT-Lab text export (with its .mpl settings)"))
