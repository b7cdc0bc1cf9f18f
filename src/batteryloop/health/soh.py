"""State of health per EU Regulation 2023/1542, Annex VII Part A (performance and durability),
with the Part B lifetime counters, from a canonical cycler or BMS series.

Annex VII A lists: remaining capacity, remaining power capability, remaining round-trip
efficiency, evolution of self-discharge rates, ohmic resistance. Part B: energy throughput,
capacity throughput, number of full cycles. How each is computed here:

- remaining capacity (Ah): median discharge capacity of the last ``window`` full cycles;
  ``soh_capacity_pct`` = 100 × remaining / rated (IEC 62660-1 capacity ratio);
- ohmic resistance (Ω): the cycler's measured values when present, else the DC resistance at
  current steps (ΔV/ΔI within one sample, :func:`step_resistance_ohm`); initial = the first
  ``window`` cycles that have one;
- remaining power capability (%) = 100 × R₀ / R: at fixed voltage limits the maximum power
  P = V_min (OCV − V_min) / R scales as 1/R (the approximation Annex VII's "power fade" rests on);
- round-trip efficiency (%) = discharge energy / charge energy of full cycles, initial and now;
- self-discharge: the voltage decay (mV/day) over the second half of the longest rest of at
  least ``min_rest_h`` hours — the first half is relaxation, not self-discharge. None when no
  rest is long enough: the data then does not allow it.

The result is a typed record whose field names carry their units, ready to be written into the
passport's dynamic data (Annex XIII 4: legitimate-interest tier).
"""

from __future__ import annotations

from datetime import datetime

import numpy as np
import polars as pl
from pydantic import BaseModel, ConfigDict, Field

from batteryloop.health.errors import InsufficientDataError
from batteryloop.health.summary import MIN_MEANINGFUL_AH, cycle_summary, estimate_rated_capacity_ah
from batteryloop.health.timeseries import CyclerData

#: a step counts for DC resistance when |ΔI| exceeds this fraction of the largest |I| of the series
STEP_CURRENT_FRACTION = 0.2
#: and happens within this many seconds (one sample, so that diffusion does not enter)
STEP_MAX_DT_S = 2.0
#: a cycle counts for round-trip efficiency only if it ends near the charge it started from
CLOSED_CYCLE_CE = (0.95, 1.02)


class StateOfHealth(BaseModel):
    """State of health of one battery (cell, module or pack) at ``measured_at``."""

    model_config = ConfigDict(frozen=True)

    measured_at: datetime | None = Field(description="time of the last data point used (UTC)")
    cycle: int | None = Field(description="last cycle used")
    rated_capacity_ah: float | None
    rated_capacity_estimated: bool = Field(description="True when no rated capacity was given")
    remaining_capacity_ah: float | None
    soh_capacity_pct: float | None
    initial_internal_resistance_ohm: float | None
    internal_resistance_ohm: float | None
    resistance_increase_pct: float | None
    remaining_power_capability_pct: float | None
    initial_round_trip_efficiency_pct: float | None
    round_trip_efficiency_pct: float | None
    round_trip_efficiency_fade_pct: float | None = Field(description="initial minus current, percentage points")
    self_discharge_mv_per_day: float | None = Field(description="rest-voltage decay after relaxation")
    full_equivalent_cycles: float | None
    energy_throughput_kwh: float
    capacity_throughput_ah: float
    cycles_counted: int
    method: str = "batteryloop.health.soh/1 (EU 2023/1542 Annex VII)"
    notes: tuple[str, ...] = ()


def step_resistance_ohm(frame: pl.DataFrame) -> pl.DataFrame:
    """DC resistance at current steps: (cycle, resistance_ohm) for each |ΔV/ΔI| where the current
    jumps by more than :data:`STEP_CURRENT_FRACTION` of its range within :data:`STEP_MAX_DT_S`."""
    i = frame.get_column("current_a").to_numpy()
    if i.size < 2:
        return pl.DataFrame({"cycle": [], "resistance_ohm": []}, schema={"cycle": pl.Int64, "resistance_ohm": pl.Float64})
    v = frame.get_column("voltage_v").to_numpy()
    t = frame.get_column("time_s").to_numpy()
    di, dv, dt = np.diff(i), np.diff(v), np.diff(t)
    scale = np.nanmax(np.abs(i))
    ok = (np.abs(di) > STEP_CURRENT_FRACTION * scale) & (dt > 0) & (dt <= STEP_MAX_DT_S) if scale > 0 else np.zeros(di.size, bool)
    r = np.abs(dv[ok] / di[ok])
    cyc = frame.get_column("cycle").to_numpy()[1:][ok]
    return pl.DataFrame({"cycle": cyc, "resistance_ohm": r})


def _median(x: pl.Series) -> float | None:
    x = x.drop_nulls()
    return float(x.median()) if x.len() else None  # type: ignore[arg-type]


def self_discharge_mv_per_day(frame: pl.DataFrame, min_rest_h: float = 1.0) -> float | None:
    """Voltage decay (mV/day, positive when voltage falls) over the second half of the longest
    zero-current period lasting at least ``min_rest_h`` hours; None if there is none."""
    rest = (frame.get_column("current_a").abs() < 1e-6).to_numpy()
    if not rest.any():
        return None
    t = frame.get_column("time_s").to_numpy()
    v = frame.get_column("voltage_v").to_numpy()
    edges = np.flatnonzero(np.diff(np.concatenate(([0], rest.astype(np.int8), [0]))))
    best = None
    for a, b in zip(edges[::2], edges[1::2], strict=True):
        dur = t[b - 1] - t[a]
        if dur >= min_rest_h * 3600 and (best is None or dur > best[2]):
            best = (a, b, dur)
    if best is None:
        return None
    a, b, _ = best
    mid = a + (b - a) // 2
    tt, vv = t[mid:b], v[mid:b]
    if tt.size < 3 or tt[-1] <= tt[0]:
        return None
    slope_v_per_s = np.polyfit(tt - tt[0], vv, 1)[0]
    return float(-slope_v_per_s * 86400 * 1000)


def estimate_soh(
    data: CyclerData,
    *,
    rated_capacity_ah: float | None = None,
    initial_resistance_ohm: float | None = None,
    initial_round_trip_efficiency_pct: float | None = None,
    window: int = 3,
    min_rest_h: float = 1.0,
    upto_cycle: int | None = None,
) -> StateOfHealth:
    """State of health from a canonical series (optionally only cycles ≤ ``upto_cycle``).

    Give ``rated_capacity_ah`` (the passport's rated capacity) whenever it is known; otherwise the
    largest early discharge capacity stands in for it and the result says so. Likewise give the
    initial resistance and round-trip efficiency from the passport when the series does not start
    at the beginning of life.
    """
    frame = data.frame if upto_cycle is None else data.frame.filter(pl.col("cycle") <= upto_cycle)
    if frame.height == 0:
        raise InsufficientDataError("no data points (check upto_cycle)")
    s = cycle_summary(frame, rated_capacity_ah)
    notes: list[str] = []
    estimated = rated_capacity_ah is None
    rated = rated_capacity_ah if rated_capacity_ah is not None else estimate_rated_capacity_ah(s)
    if estimated:
        notes.append("rated capacity estimated as the largest early discharge capacity")
    lo = 0.5 * rated if rated else MIN_MEANINGFUL_AH
    full = s.filter((pl.col("discharge_capacity_ah") >= lo) & pl.col("coulombic_efficiency").is_not_null())
    remaining = _median(full.tail(window).get_column("discharge_capacity_ah")) if full.height else None
    if remaining is None:
        notes.append("no full discharge in the data: remaining capacity unknown")
    # resistance
    ir = s.select("cycle", "internal_resistance_ohm").drop_nulls()
    if ir.height == 0:
        steps = step_resistance_ohm(frame)
        ir = steps.group_by("cycle", maintain_order=True).agg(pl.col("resistance_ohm").median().alias("internal_resistance_ohm"))
        if ir.height:
            notes.append("resistance from current steps (ΔV/ΔI), not measured by the cycler")
    r_now = _median(ir.tail(window).get_column("internal_resistance_ohm")) if ir.height else None
    r0 = initial_resistance_ohm if initial_resistance_ohm is not None else (
        _median(ir.head(window).get_column("internal_resistance_ohm")) if ir.height else None
    )
    # round-trip efficiency
    closed = full.filter(pl.col("coulombic_efficiency").is_between(*CLOSED_CYCLE_CE))
    if closed.height < full.height:
        notes.append(f"{full.height - closed.height} cycle(s) not back to their starting charge: left out of round-trip efficiency")
    ee = closed.get_column("energy_efficiency").drop_nulls() if closed.height else pl.Series([], dtype=pl.Float64)
    rte_now = 100 * float(ee.tail(window).median()) if ee.len() else None  # type: ignore[arg-type]
    rte0 = initial_round_trip_efficiency_pct if initial_round_trip_efficiency_pct is not None else (
        100 * float(ee.head(window).median()) if ee.len() else None  # type: ignore[arg-type]
    )
    sd = self_discharge_mv_per_day(frame, min_rest_h)
    if sd is not None and sd < 0:
        notes.append("rest voltage still rising (relaxation): no measurable self-discharge")
        sd = 0.0
    last = frame.tail(1).row(0, named=True)
    q_through = float(last["charge_capacity_ah"] + last["discharge_capacity_ah"])
    e_through = float(last["charge_energy_wh"] + last["discharge_energy_wh"]) / 1000.0
    return StateOfHealth(
        measured_at=last["timestamp"],
        cycle=int(last["cycle"]),
        rated_capacity_ah=rated,
        rated_capacity_estimated=estimated,
        remaining_capacity_ah=remaining,
        soh_capacity_pct=100 * remaining / rated if remaining is not None and rated else None,
        initial_internal_resistance_ohm=r0,
        internal_resistance_ohm=r_now,
        resistance_increase_pct=100 * (r_now / r0 - 1) if r_now and r0 else None,
        remaining_power_capability_pct=100 * r0 / r_now if r_now and r0 else None,
        initial_round_trip_efficiency_pct=rte0,
        round_trip_efficiency_pct=rte_now,
        round_trip_efficiency_fade_pct=rte0 - rte_now if rte0 is not None and rte_now is not None else None,
        self_discharge_mv_per_day=sd,
        full_equivalent_cycles=q_through / (2 * rated) if rated else None,
        energy_throughput_kwh=e_through,
        capacity_throughput_ah=q_through,
        cycles_counted=s.height,
        notes=tuple(notes),
    )
