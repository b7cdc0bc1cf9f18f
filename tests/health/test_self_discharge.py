"""Self-discharge (EU 2023/1542 Annex VII A, "evolution of self-discharge rates") on hand-built rests.

:func:`batteryloop.health.soh.self_discharge_mv_per_day` reports the rest-voltage decay in mV/day over
the second half of the longest zero-current rest (the first half is relaxation), **positive when the
voltage falls** — a cell that loses charge at rest has a positive self-discharge. The intake grade
reads self-discharge in % of capacity per month (UL 1974 bands, :mod:`batteryloop.reference.ul_1974`:
A ≤ 3, B ≤ 5, C ≤ 10, above: recycle), where more self-discharge is worse.

Every rest below is sampled hourly; its second half is a straight line, so the expected rate is the
voltage drop over that half divided by its length in days — computed by hand in each docstring.
"""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from batteryloop.health.grading import IntakeRecord, grade
from batteryloop.health.soh import estimate_soh, self_discharge_mv_per_day
from batteryloop.health.timeseries import CyclerData, conform, cumulative_columns, integrate_charge, integrate_energy


def rest_frame(first_half_v: list[float], second_half_v: list[float], *, lead_in: int = 3) -> pl.DataFrame:
    """``lead_in`` hourly samples at −1 A (a discharge), then a rest sampled hourly: the first-half
    voltages (relaxation), then the second-half voltages. The function splits the rest at
    a + (b − a) // 2, so both halves are given with the same number of samples."""
    assert len(first_half_v) == len(second_half_v)
    v = [3.70] * lead_in + first_half_v + second_half_v
    i = [-1.0] * lead_in + [0.0] * (len(first_half_v) + len(second_half_v))
    t = [3600.0 * k for k in range(len(v))]
    return pl.DataFrame({"time_s": t, "current_a": i, "voltage_v": v, "cycle": [1] * len(v)})


def line(v0: float, drop_mv: float, hours: int) -> list[float]:
    """``hours`` + 1 hourly samples falling linearly by ``drop_mv`` from ``v0`` (V)."""
    return [v0 - drop_mv / 1000 * k / hours for k in range(hours + 1)]


@pytest.mark.parametrize(
    ("drop_mv", "half_hours", "expected_mv_per_day"),
    [
        (0.0, 48, 0.0),     # flat: 0 mV over 2 days = 0 mV/day
        (10.0, 48, 5.0),    # 10 mV over 48 h = 10 / 2 days = 5 mV/day
        (3.0, 24, 3.0),     # 3 mV over 24 h = 3 mV/day
        (60.0, 72, 20.0),   # 60 mV over 72 h = 60 / 3 days = 20 mV/day
        (1.0, 96, 0.25),    # 1 mV over 96 h = 1 / 4 days = 0.25 mV/day
    ],
)
def test_rate_is_the_second_half_drop_per_day(drop_mv: float, half_hours: int, expected_mv_per_day: float) -> None:
    """Second half: ``half_hours`` + 1 samples spanning ``half_hours`` hours, falling ``drop_mv``:
    rate = drop_mv / (half_hours / 24) mV/day, positive because the voltage falls. The first half
    is a flat relaxation at the second half's starting voltage, so the split point lands on the line."""
    second = line(4.100, drop_mv, half_hours)
    first = [4.100] * len(second)
    got = self_discharge_mv_per_day(rest_frame(first, second))
    assert got == pytest.approx(expected_mv_per_day, abs=1e-6)


def test_relaxation_in_the_first_half_is_not_self_discharge() -> None:
    """After a discharge the rest voltage first rises (relaxation): here +50 mV over the first 48 h,
    then falls 8 mV over the last 48 h. Only the second half counts: 8 mV / 2 days = 4 mV/day — not the
    −21 mV/day of a fit over the whole rest and not negative."""
    first = [4.050 + 0.050 * k / 48 for k in range(49)]
    second = line(4.100, 8.0, 48)
    assert self_discharge_mv_per_day(rest_frame(first, second)) == pytest.approx(4.0, abs=1e-6)


def test_more_loss_ranks_above_less() -> None:
    """Three 2-day second halves dropping 2, 6 and 20 mV: 1 < 3 < 10 mV/day, in that order."""
    rates = [self_discharge_mv_per_day(rest_frame([4.1] * 49, line(4.1, d, 48))) for d in (2.0, 6.0, 20.0)]
    assert rates == pytest.approx([1.0, 3.0, 10.0], abs=1e-6)
    assert rates[0] < rates[1] < rates[2]


def test_rising_rest_voltage_is_negative_and_soh_reports_zero() -> None:
    """A rest whose second half rises 4 mV over 2 days: the raw decay is −4 / 2 = −2 mV/day (voltage
    up, no charge lost); the state of health reports 0 mV/day with a note, never a negative rate."""
    first = [4.096] * 49
    second = [4.096 + 0.004 * k / 48 for k in range(49)]
    frame = rest_frame(first, second)
    assert self_discharge_mv_per_day(frame) == pytest.approx(-2.0, abs=1e-6)
    soh = estimate_soh(_cycler(frame), rated_capacity_ah=1.0)
    assert soh.self_discharge_mv_per_day == 0.0
    assert any("relaxation" in n for n in soh.notes)


def test_soh_carries_the_positive_rate() -> None:
    """The same 10 mV over 2 days as the table (5 mV/day) goes into the state of health unchanged."""
    soh = estimate_soh(_cycler(rest_frame([4.1] * 49, line(4.1, 10.0, 48))), rated_capacity_ah=1.0)
    assert soh.self_discharge_mv_per_day == pytest.approx(5.0, abs=1e-6)


def test_longest_rest_wins_and_short_rests_give_none() -> None:
    """Two rests split by a 1-hour discharge pulse: a 12-hour rest falling 50 mV (its second half:
    25 mV over 6 h = 100 mV/day) and then a 96-hour rest whose second half falls 6 mV over 48 h
    (3 mV/day). The longest rest is used: 3 mV/day. A rest of 20 min (< min_rest_h = 1 h) gives None."""
    short = [4.10 - 0.050 * k / 12 for k in range(13)]          # 13 hourly samples = 12 h
    long_first = [4.05] * 49
    long_second = line(4.05, 6.0, 48)
    v = [3.7] + short + [3.6] + long_first + long_second
    i = [-1.0] + [0.0] * len(short) + [-1.0] + [0.0] * (len(long_first) + len(long_second))
    t = [3600.0 * k for k in range(len(v))]
    frame = pl.DataFrame({"time_s": t, "current_a": i, "voltage_v": v, "cycle": [1] * len(v)})
    assert self_discharge_mv_per_day(frame) == pytest.approx(3.0, abs=1e-6)
    # one discharge sample, then 7 rest samples 200 s apart: the rest lasts 6 × 200 s = 1200 s = 20 min
    tiny = pl.DataFrame({"time_s": [200.0 * k for k in range(8)], "current_a": [-1.0] + [0.0] * 7,
                         "voltage_v": [3.7, 3.8, 3.8, 3.8, 3.8, 3.79, 3.78, 3.77], "cycle": [1] * 8})
    assert self_discharge_mv_per_day(tiny) is None  # 20 min < 1 h
    assert self_discharge_mv_per_day(tiny, min_rest_h=0.25) is not None  # 20 min ≥ 15 min
    no_rest = tiny.with_columns(pl.lit(-1.0).alias("current_a"))
    assert self_discharge_mv_per_day(no_rest) is None


@pytest.mark.parametrize(
    ("pct_per_month", "expected_grade", "flag"),
    [
        (0.0, "A", None),        # 0 ≤ 3
        (3.0, "A", None),        # 3 ≤ 3 (limit inclusive)
        (3.5, "B", None),        # 3 < 3.5 ≤ 5
        (5.0, "B", None),        # 5 ≤ 5
        (7.0, "C", False),       # 5 < 7 ≤ 10: flagged (above grade B), not blocking
        (12.0, "recycle", True),  # 12 > 10: recycle, blocking flag (possible internal short)
    ],
)
def test_grade_bands_by_self_discharge(pct_per_month: float, expected_grade: str, flag: bool | None) -> None:
    """UL 1974 self-discharge bands (A ≤ 3, B ≤ 5, C ≤ 10 %/month) on an otherwise grade-A battery
    (SoH 95 % ≥ the A limit): more self-discharge never gives a better grade."""
    r = grade(IntakeRecord(battery_id="b", soh_capacity_pct=95.0, self_discharge_pct_per_month=pct_per_month))
    assert r.grade == expected_grade
    flags = [f for f in r.safety_flags if f.code == "high_self_discharge"]
    assert (flags[0].blocking if flags else None) == flag


def test_grade_never_improves_with_more_self_discharge() -> None:
    """Monotone: over 0, 0.5, …, 15 %/month the grade index (A=0 … recycle=3) never decreases."""
    order = {"A": 0, "B": 1, "C": 2, "recycle": 3}
    seq = [order[grade(IntakeRecord(battery_id="b", soh_capacity_pct=95.0, self_discharge_pct_per_month=x)).grade]
           for x in np.arange(0, 15.01, 0.5)]
    assert seq == sorted(seq) and seq[0] == 0 and seq[-1] == 3


def _cycler(frame: pl.DataFrame) -> CyclerData:
    """The hand-built series as a canonical one (running totals by coulomb counting), for estimate_soh."""
    t, i, v = (frame[c].to_numpy() for c in ("time_s", "current_a", "voltage_v"))
    qc, qd = integrate_charge(t, i)
    ec, ed = integrate_energy(t, i, v)
    return CyclerData(conform(frame.with_columns(**{k: pl.Series(x) for k, x in cumulative_columns(qc, qd, ec, ed).items()})),
                      "test")
