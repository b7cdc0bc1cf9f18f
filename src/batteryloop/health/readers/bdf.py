"""Battery Data Format (BDF) CSV of the Battery Data Alliance.

The reference package ``batterydf`` (0.1.0, PyPI, Feb 2026, Apache-2.0) defines the columns in
``bdf/normalize/spec.py``: a header is a human label ``Quantity / unit`` or the machine-readable
name, e.g. ``Test Time / s`` or ``test_time_second``. Required: test time (s), voltage (V),
current (A); recommended: Unix time (s), cycle count, step count, charging/discharging capacity
(Ah) and energy (Wh), internal resistance (ohm), ambient and surface temperatures (°C). We do
not depend on ``batterydf`` itself (it pulls pandas, matplotlib, rdflib, pint and requests into
the runtime); this module implements those published column conventions. Current is taken
positive on charge, as in the BDF examples; capacities may be per-step or cumulative counters.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl

from batteryloop.health.errors import CyclerFileError
from batteryloop.health.readers._common import decode, read_table, split_header
from batteryloop.health.readers.registry import Reader, register
from batteryloop.health.timeseries import (
    CyclerData,
    conform,
    cumulative_columns,
    increments,
    integrate_charge,
    integrate_energy,
)

FORMAT = "bdf"

#: BDF machine-readable name -> (human label, canonical column or None)
COLUMNS: dict[str, tuple[str, str | None]] = {
    "test_time_second": ("Test Time / s", "time_s"),
    "voltage_volt": ("Voltage / V", "voltage_v"),
    "current_ampere": ("Current / A", "current_a"),
    "unix_time_second": ("Unix Time / s", None),
    "cycle_count": ("Cycle Count / 1", "cycle"),
    "step_count": ("Step Count / 1", "step"),
    "charging_capacity_ah": ("Charging Capacity / Ah", None),
    "discharging_capacity_ah": ("Discharging Capacity / Ah", None),
    "charging_energy_wh": ("Charging Energy / Wh", None),
    "discharging_energy_wh": ("Discharging Energy / Wh", None),
    "internal_resistance_ohm": ("Internal Resistance / ohm", "internal_resistance_ohm"),
    "temperature_t1_celsius": ("Surface Temperature T1 / degC", "temperature_c"),
    "ambient_temperature_celsius": ("Ambient Temperature / degC", None),
}
REQUIRED = ("test_time_second", "voltage_volt", "current_ampere")


def _key(name: str) -> str | None:
    """The BDF machine-readable name of a header cell, by label or by name (case-blind)."""
    n = name.strip().strip('"')
    low = n.lower()
    for key, (label, _) in COLUMNS.items():
        if low == key or low == label.lower():
            return key
        base = label.split(" / ")[0].lower()
        if " / " in n and n.split(" / ")[0].strip().lower() == base:
            return key
    return None


def sniff(head: str) -> bool:
    first = head.split("\n", 1)[0]
    keys = {_key(h) for h in split_header(first, ",")}
    return all(k in keys for k in REQUIRED)


def read(path: Path, data: bytes, tz: str = "UTC") -> CyclerData:
    text = decode(path, data)
    header = split_header(text.split("\n", 1)[0], ",")
    by_key: dict[str, str] = {}
    for h in header:
        k = _key(h)
        if k and k not in by_key:
            by_key[k] = h
    missing = [COLUMNS[k][0] for k in REQUIRED if k not in by_key]
    if missing:
        raise CyclerFileError(path, f"missing required BDF columns {missing}; header has {header[:20]}", line=1)
    t = read_table(path, text, header_index=0, separator=",", wanted=list(by_key.values()))

    def col(key: str, required: bool = False) -> np.ndarray | None:
        return t.number(by_key[key], required=required) if key in by_key else None

    time_s = col("test_time_second", True)
    current = col("current_ampere", True)
    voltage = col("voltage_volt", True)
    assert time_s is not None and current is not None and voltage is not None
    qc, qd = col("charging_capacity_ah"), col("discharging_capacity_ah")
    if qc is not None and qd is not None:
        dqc, dqd = increments(qc), increments(qd)
    else:
        dqc, dqd = integrate_charge(time_s, current)
    ec, ed = col("charging_energy_wh"), col("discharging_energy_wh")
    if ec is not None and ed is not None:
        dec, ded = increments(ec), increments(ed)
    else:
        dec, ded = integrate_energy(time_s, current, voltage)
    cycle = col("cycle_count")
    step = col("step_count")
    temp = col("temperature_t1_celsius")
    if temp is None:
        temp = col("ambient_temperature_celsius")
    frame = pl.DataFrame(
        {
            "time_s": time_s - time_s[0],
            "cycle": np.nan_to_num(cycle).astype(np.int64) if cycle is not None else np.zeros(t.height, np.int64),
            "step": np.nan_to_num(step).astype(np.int64) if step is not None else None,
            "current_a": current,
            "voltage_v": voltage,
            **cumulative_columns(dqc, dqd, dec, ded),
            "temperature_c": temp,
            "internal_resistance_ohm": col("internal_resistance_ohm"),
        }
    )
    unix = col("unix_time_second")
    if unix is not None:
        frame = frame.with_columns(
            timestamp=pl.Series((unix * 1e6).astype(np.int64)).cast(pl.Datetime("us", "UTC"))
        )
    return CyclerData(conform(frame), FORMAT, [str(path)], {})


def write(data: CyclerData, path: str | Path) -> None:
    """Write a canonical series as BDF CSV with human labels (cumulative capacity and energy)."""
    f = data.frame
    out = {
        "Test Time / s": f["time_s"],
        "Voltage / V": f["voltage_v"],
        "Current / A": f["current_a"],
        "Cycle Count / 1": f["cycle"],
        "Step Count / 1": f["step"],
        "Charging Capacity / Ah": f["charge_capacity_ah"],
        "Discharging Capacity / Ah": f["discharge_capacity_ah"],
        "Charging Energy / Wh": f["charge_energy_wh"],
        "Discharging Energy / Wh": f["discharge_energy_wh"],
    }
    if f["timestamp"].null_count() < f.height:
        out["Unix Time / s"] = f["timestamp"].dt.epoch("us") / 1e6
    if f["temperature_c"].null_count() < f.height:
        out["Surface Temperature T1 / degC"] = f["temperature_c"]
    if f["internal_resistance_ohm"].null_count() < f.height:
        out["Internal Resistance / ohm"] = f["internal_resistance_ohm"]
    pl.DataFrame(out).write_csv(str(path))


register(Reader(FORMAT, read, priority=150, sniff=sniff, header_name="Battery Data Format", suffixes=(".csv",),
                title="Battery Data Format CSV (Battery Data Alliance)"))
