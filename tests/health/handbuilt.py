"""Hand-built canonical series for the health tests whose figures are computed by hand.

Values are chosen binary-exact (multiples of 1/8, 1/4...) wherever a test sits on a boundary, so that
an inclusive limit can be told from an exclusive one without float noise.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import polars as pl

from batteryloop.health.timeseries import CyclerData, conform

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def series(rows: list[dict[str, Any]], *, timestamps: bool = True) -> CyclerData:
    """``rows``: dicts with at least cycle, time_s and the four running totals (missing totals: 0);
    current, voltage, temperature default to 0 A, 3.7 V, 25 °C; timestamp = T0 + time_s."""
    full = []
    for r in rows:
        x = {"current_a": 0.0, "voltage_v": 3.7, "temperature_c": 25.0, "charge_capacity_ah": 0.0,
             "discharge_capacity_ah": 0.0, "charge_energy_wh": 0.0, "discharge_energy_wh": 0.0,
             "internal_resistance_ohm": None, **r}
        if timestamps:
            x["timestamp"] = T0 + timedelta(seconds=x["time_s"])
        full.append(x)
    return CyclerData(conform(pl.DataFrame(full, infer_schema_length=None)), "hand")


def cycles(table: list[tuple[float, float]], *, volts: tuple[float, float] = (4.0, 3.5),
           resistance: list[float | None] | None = None, first_cycle: int = 1) -> CyclerData:
    """One cycle per (Ah charged, Ah discharged): an end-of-charge row then an end-of-discharge row,
    an hour apart; energy = Ah × the charge / discharge voltage of ``volts``."""
    rows, qc, qd = [], 0.0, 0.0
    for n, (c, d) in enumerate(table):
        qc += c
        rows.append({"cycle": first_cycle + n, "time_s": 7200.0 * n + 3600, "current_a": 1.0, "voltage_v": volts[0],
                     "charge_capacity_ah": qc, "discharge_capacity_ah": qd,
                     "charge_energy_wh": qc * volts[0], "discharge_energy_wh": qd * volts[1],
                     "internal_resistance_ohm": None if resistance is None else resistance[n]})
        qd += d
        rows.append({"cycle": first_cycle + n, "time_s": 7200.0 * n + 7200, "current_a": -1.0, "voltage_v": volts[1],
                     "charge_capacity_ah": qc, "discharge_capacity_ah": qd,
                     "charge_energy_wh": qc * volts[0], "discharge_energy_wh": qd * volts[1],
                     "internal_resistance_ohm": None if resistance is None else resistance[n]})
    return series(rows)
