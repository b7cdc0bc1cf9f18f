"""The day-ahead optimiser against the limits, the energy balance and the rule-based fallback."""

from __future__ import annotations

import numpy as np
import pytest

from batteryloop.hubs.dispatch import DayOptimiser, check_schedule, optimise_day, rule_based_day
from batteryloop.hubs.errors import HubInputError

from .conftest import make_day


def bus_balance(inp, s) -> np.ndarray:
    """PV + import + discharge + unserved − (load + swap + charge + export), per step."""
    return (s.pv_used_kw + s.grid_import_kw + s.discharge_kw.sum(0) + s.unserved_kw
            - inp.load_kw - s.swap_kw - s.charge_kw.sum(0) - s.grid_export_kw)


@pytest.mark.parametrize("seed", range(12))
def test_every_limit_holds_at_every_step_and_beats_the_fallback(seed: int) -> None:
    inp = make_day(np.random.default_rng(seed), units=1 + seed % 4, steps_per_hour=(1, 4)[seed % 2])
    opt, rule = optimise_day(inp), rule_based_day(inp)
    assert check_schedule(inp, opt) == []
    assert check_schedule(inp, rule) == []
    # the same objective, the same inputs: the optimiser is never worse
    assert opt.cost["total_cost"] <= rule.cost["total_cost"] + 1e-6 * abs(rule.cost["total_cost"])
    # explicit: import limit, SoC window, power
    assert opt.grid_import_kw.max() <= inp.import_limit_kw + 1e-6
    assert np.all(opt.soc_kwh >= inp.e_min[:, None] - 1e-6) and np.all(opt.soc_kwh <= inp.e_max[:, None] + 1e-6)
    assert np.all(opt.charge_kw <= inp.power_kw[:, None] + 1e-6) and np.all(opt.discharge_kw <= inp.power_kw[:, None] + 1e-6)
    # the day ends no emptier than it began
    assert np.all(opt.soc_kwh[:, -1] >= inp.e_init_kwh - 1e-6)


def test_energy_balance_with_losses_at_every_step(tou_day) -> None:
    s = optimise_day(tou_day)
    assert np.max(np.abs(bus_balance(tou_day, s))) < 1e-6
    # PV + import + discharge = load + charge + export + losses, with losses and the change of stored energy
    dt = tou_day.dt_h
    prev = np.concatenate([tou_day.e_init_kwh[:, None], s.soc_kwh[:, :-1]], axis=1)
    stored_change_kw = (s.soc_kwh - prev).sum(0) / dt
    lhs = s.pv_used_kw + s.grid_import_kw + s.unserved_kw
    rhs = tou_day.load_kw + s.swap_kw + s.grid_export_kw + stored_change_kw + s.losses_kw(tou_day)
    assert np.max(np.abs(lhs - rhs)) < 1e-6


def test_flat_tariff_without_pv_does_not_cycle_storage() -> None:
    inp = make_day(np.random.default_rng(3), flat=True, pv=False, swap=False)
    s = optimise_day(inp)
    assert s.throughput_kwh(inp.dt_h).sum() < 1e-6
    # and the fallback does not either
    assert rule_based_day(inp).throughput_kwh(inp.dt_h).sum() < 1e-6


def test_large_peak_offpeak_spread_arbitrages() -> None:
    T = 24
    price = np.array([0.2] * 8 + [2.0] * 16)
    inp = make_day(np.random.default_rng(4), pv=False, swap=False, price_in=price, price_out=np.full(T, 0.1),
                   deg_cost_per_kwh=np.full(3, 0.05))
    s = optimise_day(inp)
    charged_offpeak = s.charge_kw[:, :8].sum() * inp.dt_h
    discharged_peak = s.discharge_kw[:, 8:].sum() * inp.dt_h
    usable = (inp.e_max - inp.e_min).sum()
    assert charged_offpeak > 0.5 * usable  # fills up in the valley
    assert discharged_peak > 0.5 * usable * 0.9  # and serves the peak
    assert s.cost["total_cost"] < rule_based_day(inp).cost["total_cost"] + 1e-9


def test_weak_strings_get_less_throughput() -> None:
    """Two equal strings but for wear cost and efficiency; the peak needs only part of the storage."""
    T = 24
    price = np.array([0.3] * 8 + [0.7] * 10 + [1.2] * 2 + [0.7] * 4)
    inp = make_day(np.random.default_rng(5), units=2, pv=False, swap=False, price_in=price, price_out=np.full(T, 0.1),
                   load_kw=np.r_[np.zeros(18), [20.0, 20.0], np.zeros(4)], energy_kwh=np.array([100.0, 100.0]), power_kw=np.array([50.0, 50.0]),
                   eta=np.array([0.96, 0.93]), deg_cost_per_kwh=np.array([0.05, 0.20]), e_init_kwh=np.array([30.0, 30.0]))
    s = optimise_day(inp)
    thr = s.throughput_kwh(inp.dt_h)
    assert thr[0] > 30  # the healthy string serves the peak
    assert thr[1] < 0.1 * thr[0]  # the weak one is spared


def test_import_limit_binds_and_storage_covers_it() -> None:
    inp = make_day(np.random.default_rng(6), import_limit_kw=60.0, pv=False, swap=False,
                   load_kw=np.array([40.0] * 10 + [90.0] * 6 + [40.0] * 8), energy_kwh=np.array([300.0]), power_kw=np.array([60.0]),
                   eta=np.array([0.95]), deg_cost_per_kwh=np.array([0.05]), e_init_kwh=np.array([150.0]), units=1)
    s = optimise_day(inp)
    assert s.grid_import_kw.max() <= 60.0 + 1e-6
    assert s.unserved_kw.sum() < 1e-6
    assert s.discharge_kw[0, 10:16].sum() >= 6 * 30.0 - 1e-6
    assert check_schedule(inp, s) == []


def test_unmeetable_limit_shows_as_unserved_energy_not_a_crash() -> None:
    inp = make_day(np.random.default_rng(7), import_limit_kw=10.0, pv=False, swap=False)
    s = optimise_day(inp)
    assert s.unserved_kw.sum() > 0
    assert s.grid_import_kw.max() <= 10.0 + 1e-6


def test_reused_optimiser_gives_the_same_schedule_as_a_fresh_one() -> None:
    rng = np.random.default_rng(8)
    first = make_day(rng)
    opt = DayOptimiser(first.units, first.steps, first.dt_h, first.eta)
    opt.solve(first)
    second = make_day(np.random.default_rng(9), energy_kwh=first.energy_kwh, eta=first.eta * 0.99,
                      e_init_kwh=first.e_init_kwh, power_kw=first.power_kw)
    a, b = opt.solve(second), optimise_day(second)
    assert a.cost["total_cost"] == pytest.approx(b.cost["total_cost"], rel=1e-7, abs=1e-7)
    assert check_schedule(second, a) == []


def test_a_broken_schedule_is_reported(tou_day) -> None:
    s = optimise_day(tou_day)
    s.grid_import_kw = s.grid_import_kw + tou_day.import_limit_kw
    problems = check_schedule(tou_day, s)
    assert any("import limit" in p for p in problems)
    assert any("balance" in p for p in problems)


@pytest.mark.parametrize(("over", "field", "rule"), [
    ({"price_out": np.full(24, 5.0)}, "price_out[0]", "export price above the import price"),
    ({"eta": np.array([0.95, 1.3, 0.95])}, "eta[1]", "one-way efficiency"),
    ({"pv_kw": np.r_[np.zeros(23), -1.0]}, "pv_kw[23]", "must be 0 or more"),
    ({"load_kw": np.r_[np.zeros(5), np.nan, np.zeros(18)]}, "load_kw[5]", "finite"),
    ({"price_in": np.zeros(23)}, "price_out", "exactly 23 values"),
    ({"e_init_kwh": np.array([1e6, 1.0, 1.0])}, "e_init_kwh[0]", "state-of-charge window"),
])
def test_bad_input_names_field_value_and_rule(over, field, rule) -> None:
    with pytest.raises(HubInputError) as exc:
        make_day(np.random.default_rng(1), **over)
    assert exc.value.field == field
    assert rule in exc.value.rule


def test_swap_demand_beyond_the_chargers_is_carried_not_infeasible() -> None:
    T = 24
    inp = make_day(np.random.default_rng(10), swap_cum_kwh=np.cumsum(np.full(T, 200.0)), swap_buffer_kwh=50.0,
                   swap_max_kw=100.0, swap_backlog_kwh=300.0)
    s = optimise_day(inp)
    assert check_schedule(inp, s) == []
    assert s.swap_kw.sum() == pytest.approx(100.0 * T)  # flat out all day
    # the swap load is never shifted ahead of the returned packs
    assert np.all(np.cumsum(s.swap_kw) <= inp.swap_due_kwh + 1e-6)


def test_swap_charging_is_deferred_to_cheap_hours_within_the_stock() -> None:
    T = 24
    price = np.array([0.3] * 8 + [1.2] * 16)
    due = np.cumsum(np.r_[np.zeros(8), np.full(16, 20.0)])
    inp = make_day(np.random.default_rng(11), units=1, pv=False, price_in=price, price_out=np.full(T, 0.1),
                   swap_cum_kwh=due, swap_buffer_kwh=1000.0, swap_max_kw=200.0, swap_backlog_kwh=150.0)
    s = optimise_day(inp)
    # the backlog is re-charged in the cheap hours; the day's returns must wait for the evening
    assert s.swap_kw[:8].sum() == pytest.approx(150.0)
    assert s.swap_kw.sum() == pytest.approx(150.0 + due[-1])
    assert check_schedule(inp, s) == []


def test_swap_returns_faster_than_the_chargers_stay_feasible() -> None:
    """Regression (bench hub 6): returns outpace the chargers late in the day while the stock is at its reserve."""
    T = 24
    returns = np.r_[np.full(12, 20.0), np.full(12, 700.0)]
    inp = make_day(np.random.default_rng(12), swap_cum_kwh=np.cumsum(returns), swap_buffer_kwh=600.0,
                   swap_max_kw=480.0, swap_backlog_kwh=600.0)
    s = optimise_day(inp)
    assert check_schedule(inp, s) == []
    assert s.swap_kw[12:].min() == pytest.approx(480.0)  # flat out once the returns pour in
