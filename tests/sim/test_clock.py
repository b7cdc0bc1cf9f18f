"""The simulator's event clock (sim/supply.py ``Clock``) gives the times an aware datetime stepped by 10–100 ms
and formatted by strftime would give — across seconds, midnight, a leap day and a new year — and draws the
same random numbers (the pilot's figures depend on the sequence)."""

from __future__ import annotations

import datetime as dt
import random

import pytest

from batteryloop.sim.supply import Clock


def _reference(t: dt.datetime, rng: random.Random, n: int) -> tuple[list[str], dt.datetime]:
    out = []
    for _ in range(n):
        t += dt.timedelta(milliseconds=rng.randint(10, 100))
        out.append(t.strftime("%Y-%m-%dT%H:%M:%S.%fZ"))
    return out, t


@pytest.mark.parametrize("start", [
    dt.datetime(2016, 12, 31, 23, 59, 59, 990_000, tzinfo=dt.UTC),  # a new year after the first step
    dt.datetime(2024, 2, 28, 23, 59, 58, tzinfo=dt.UTC),  # a leap day
    dt.datetime(2025, 12, 22, 6, tzinfo=dt.UTC),
    # a start in another zone: the times are UTC's, as their "Z" says
    dt.datetime(2019, 6, 30, 21, 0, 0, 123_456, tzinfo=dt.timezone(dt.timedelta(hours=-3))),
])
def test_clock_gives_the_strftime_times_and_the_same_draws(start: dt.datetime) -> None:
    clock = Clock(start, random.Random(7))
    got = [clock() for _ in range(30_000)]
    want, end = _reference(start.astimezone(dt.UTC), random.Random(7), 30_000)
    assert got == want
    assert clock.t == end and clock.t.utcoffset() == dt.timedelta(0)
    rng_a, rng_b = random.Random(7), random.Random(7)
    Clock(start, rng_a)()
    rng_b.randint(10, 100)
    assert rng_a.random() == rng_b.random()  # one draw a step, as before


def test_setting_the_time_moves_the_clock() -> None:
    clock = Clock(dt.datetime(2020, 1, 1, tzinfo=dt.UTC), random.Random(1))
    clock()
    clock.t = dt.datetime(2021, 3, 4, 5, 6, 7, tzinfo=dt.UTC)
    assert clock().startswith("2021-03-04T05:06:07.")
