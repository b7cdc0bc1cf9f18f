"""Fixtures of the hub tests: a time-of-use day, a small hub, random days."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from batteryloop.hubs.dispatch import DayInputs

TOU = np.array([0.3] * 8 + [0.7] * 2 + [1.2] * 2 + [0.7] * 2 + [1.2] * 5 + [0.7] * 5)


def make_day(rng: np.random.Generator | None = None, *, units: int = 3, flat: bool = False, pv: bool = True,
             swap: bool = True, import_limit_kw: float = 400.0, steps_per_hour: int = 1, **over: Any) -> DayInputs:
    """A day with random PV, load and strings (or fixed ones without ``rng``)."""
    r = rng or np.random.default_rng(0)
    T = 24 * steps_per_hour
    h = (np.arange(T) + 0.5) / steps_per_hour
    price = np.full(T, 0.7) if flat else np.repeat(TOU, steps_per_hour) * r.uniform(0.8, 1.2)
    pv_kw = np.maximum(0.0, np.sin((h - 6) / 12 * np.pi)) * r.uniform(50, 300) if pv else np.zeros(T)
    load = r.uniform(10, 80, T)
    energy = r.uniform(60, 200, units)
    kw = dict(
        dt_h=1 / steps_per_hour, price_in=price, price_out=np.full(T, 0.2 if not flat else 0.3), pv_kw=pv_kw, load_kw=load,
        energy_kwh=energy, power_kw=energy * r.uniform(0.3, 0.8, units), eta=r.uniform(0.92, 0.97, units),
        deg_cost_per_kwh=r.uniform(0.02, 0.2, units), e_init_kwh=energy * r.uniform(0.2, 0.8, units),
        import_limit_kw=import_limit_kw, export_limit_kw=100.0,
    )
    if swap:
        kw.update(swap_cum_kwh=np.cumsum(r.uniform(5, 40, T) / steps_per_hour), swap_buffer_kwh=r.uniform(50, 200), swap_max_kw=120.0)
    kw.update(over)
    return DayInputs(**kw)


@pytest.fixture
def tou_day() -> DayInputs:
    return make_day()


@pytest.fixture
def small_hub() -> dict[str, Any]:
    return {
        "name": "test-hub",
        "pv_kwp": 300,
        "packs": [{"pack_id": f"P{i}", "nominal_energy_kwh": 70, "soh_fraction": 0.68 + 0.03 * i} for i in range(6)],
        "swap": {"swaps_per_day": 40, "simulated_days": 2},
        "ev_charging": {"sessions_per_day": 30},
    }
