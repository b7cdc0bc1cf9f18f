"""Battery-as-a-service: subscription annuity, NIO buyout and swap rules, warranty provision, swap station."""

from __future__ import annotations

import math

import pytest

from batteryloop.circular.baas import (
    buyout_schedule,
    implied_annual_rate,
    nio_buyout_price,
    subscription_price,
    swap_price,
    warranty_provision,
)
from batteryloop.circular.errors import CircularInputError
from batteryloop.circular.swap_station import SwapStationConfig, simulate_swap_station
from batteryloop.reference import References


def test_subscription_annuity_by_hand():
    q = subscription_price(70_000, 96, 14_000, 0.08, margin_fraction=0.10, operating_cost_per_month=50)
    i = 1.08 ** (1 / 12) - 1  # monthly rate 0.6434 %
    v = (1 + i) ** -96  # 1.08^-8 = 0.54027
    capital = (70_000 - 14_000 * v) * i / (1 - v)
    assert q.capital_recovery_per_month == pytest.approx(capital)
    assert q.monthly_price == pytest.approx(capital * 1.10 + 50)
    zero = subscription_price(9_600, 96, 0, 0.0)
    assert zero.monthly_price == pytest.approx(100.0)  # no discounting: 9,600 / 96


def test_implied_rate_of_nio_2020_fee():
    # NIO 2020: the car is RMB 70,000 cheaper and the 70 kWh pack costs RMB 980/month
    r = implied_annual_rate(980, 70_000, 96, 0)
    assert subscription_price(70_000, 96, 0, r).monthly_price == pytest.approx(980, abs=1e-6)
    assert 0.07 < r < 0.09
    assert implied_annual_rate(980, 70_000, 60, 0) is None  # 60 × 980 < 70,000: no positive return


def test_subscription_errors_name_the_field():
    with pytest.raises(CircularInputError) as e:
        subscription_price(70_000, 0, 0, 0.08)
    assert e.value.field == "term_months"
    with pytest.raises(CircularInputError) as e:
        subscription_price(70_000, 96, 0, 8)
    assert e.value.field == "annual_discount_rate_fraction"
    with pytest.raises(CircularInputError) as e:
        subscription_price(10_000, 12, 20_000, 0.0)
    assert e.value.field == "residual_value"


def test_nio_buyout_rule():
    # RMB 70,000 − 460 per monthly payment made in months 13–60
    assert nio_buyout_price(0).price == 70_000
    assert nio_buyout_price(12).price == 70_000  # year 1 payments do not count
    assert nio_buyout_price(13).price == 70_000 - 460
    assert nio_buyout_price(60).price == 70_000 - 48 * 460  # 47,920
    assert nio_buyout_price(80).price == 47_920  # nothing after year 5
    sched = buyout_schedule(72)
    assert len(sched) == 73 and all(a.price >= b.price for a, b in zip(sched, sched[1:]))
    with pytest.raises(CircularInputError) as e:
        nio_buyout_price(-1)
    assert e.value.field == "payments_made"
    refs = References.default().override({"nio_baas": {"buyout": {"reduction_rmb_per_payment": 500}}})
    assert nio_buyout_price(24, refs).price == 70_000 - 12 * 500


def test_swap_price_minimum_20_kwh():
    assert swap_price(12, 0.8, 0.6).price == pytest.approx((0.8 + 0.6) * 20)
    assert swap_price(45, 0.8, 0.6).price == pytest.approx((0.8 + 0.6) * 45)
    with pytest.raises(CircularInputError) as e:
        swap_price(-3, 0.8, 0.6)
    assert e.value.field == "kwh_swapped"


def test_warranty_provision_by_hand():
    w = warranty_provision([0.75, 0.69, 0.80], [0.03, 0.0, 0.05], threshold_soh_fraction=0.70, cost_per_claim=5_000)
    # Φ((0.70 − 0.75)/0.03) = Φ(−1.667) = 0.04779; the sd-0 pack below threshold claims for sure; Φ(−2) = 0.02275
    p = 0.5 * (1 + math.erf(-5 / 3 / math.sqrt(2))) + 1.0 + 0.5 * (1 + math.erf(-2 / math.sqrt(2)))
    assert w.expected_claims == pytest.approx(p)
    assert w.expected_cost == pytest.approx(p * 5_000)
    disc = warranty_provision([0.5], 0.0, cost_per_claim=1_000, years_to_warranty_end=2, annual_discount_rate_fraction=0.1)
    assert disc.present_value == pytest.approx(1_000 / 1.1**2)
    with pytest.raises(CircularInputError) as e:
        warranty_provision([1.5], 0.0, cost_per_claim=1)
    assert e.value.field == "soh_at_warranty_end_mean"


SMALL = dict(days=5, vehicles=120, swaps_per_day=80, seed=3)


def test_swap_station_is_deterministic_and_consistent():
    a = simulate_swap_station(SwapStationConfig(**SMALL))
    b = simulate_swap_station(SwapStationConfig(**SMALL))
    assert a == b
    assert 0 < a.swaps_served <= a.swaps_requested
    # energy is bought between the cheapest (0.3) and dearest (1.0) hourly tariff
    assert 0.3 * a.energy_charged_kwh - 1e-6 <= a.energy_cost <= 1.0 * a.energy_charged_kwh + 1e-6
    assert a.energy_charged_kwh > 0
    # every billed swap is at least 20 kWh at the cheapest tariff + fee
    assert a.swap_revenue >= a.swaps_served * 20 * (0.3 + 0.8) - 1e-6


def test_soh_aware_allocation_gives_premium_the_healthier_packs():
    aware = simulate_swap_station(SwapStationConfig(**SMALL, premium_share_fraction=0.3))
    fifo = simulate_swap_station(SwapStationConfig(**SMALL, premium_share_fraction=0.3, allocation="fifo"))
    assert aware.mean_soh_delivered["premium"] > aware.mean_soh_delivered["standard"]
    gap_fifo = abs(fifo.mean_soh_delivered["premium"] - fifo.mean_soh_delivered["standard"])
    assert aware.mean_soh_delivered["premium"] - aware.mean_soh_delivered["standard"] > gap_fifo


def test_tariff_aware_charging_shifts_energy_off_peak():
    aware = simulate_swap_station(SwapStationConfig(**SMALL))
    immediate = simulate_swap_station(SwapStationConfig(**SMALL, charging="immediate"))
    assert aware.peak_charging_share_fraction < immediate.peak_charging_share_fraction


def test_worn_packs_leave_the_fleet_with_a_route():
    k = simulate_swap_station(SwapStationConfig(**SMALL, fade_per_full_cycle=0.003, initial_soh_range=(0.80, 0.82)))
    assert k.packs_retired > 0 and sum(k.retired_routes.values()) == k.packs_retired


def test_swap_station_config_errors():
    with pytest.raises(ValueError, match="initial_soh_range"):
        SwapStationConfig(initial_soh_range=(0.9, 0.8))
    with pytest.raises(ValueError, match="charging"):
        SwapStationConfig(charging="whenever")


def test_subscription_for_pack_residual_is_what_the_books_pay_the_seller():
    """The fee's residual value is the figure the pilot's books pay a retired pack's seller (issue 18: the fee
    assumed the full route value while the books paid 40 %): the seller's share (0.4,
    batteryloop_assumptions.pilot.seller_share_of_route_value_fraction) of the route's value at the term's end, the
    recycling at the end of a remanufactured pack's new life (6 years at 8 %) taken out. By hand, from the route
    decision's own figures (NMC622, 75 kWh, SoH 0.78 at the term's end: remanufacture 5,608.53 $, best recycling
    direct 2,678.49 $): value = 5,608.53 − 2,678.49 / 1.08⁶ = 3,920.62 $; residual 0.4 × 3,920.62 = 1,568.25 $.
    (truth11b: direct recycling's CO2 and electricity are charged on the cells only, 75 × (5.15 − 3.19) kg less:
    R rises by 147 kg × (0.2956667 − 0.015) $/kg = 41.258 $ from 2,637.23 $, the remanufacture's NPV by
    41.258 / 1.08⁶ = 26.00 $ from 5,582.53 $ — and the value, which takes R out, is the same.)"""
    from batteryloop.circular.baas import retired_pack_price_usd, retired_pack_value_usd, subscription_for_pack
    from batteryloop.circular.routes import decide_route

    q = subscription_for_pack("NMC622", 75, 96, 0.78, 0.08, margin_fraction=0.1)
    d = decide_route("NMC622", 75, 0.78, sensitivity=False)
    assert q.residual_route == d.recommended == "remanufacture"
    npv = d.option("remanufacture").npv_usd
    best_recycle = max(d.option(r).npv_usd for r in ("recycle_pyro", "recycle_hydro", "recycle_direct"))
    extra = 75 * (5.15 - 3.19) * (2.2 * 0.10 + 2.73 / 3.6 * 0.08)  # the housing's CO2 and electricity, no longer charged
    assert best_recycle == pytest.approx(2637.23 + extra, abs=0.01) == pytest.approx(2678.49, abs=0.01)
    assert npv == pytest.approx(5582.53 + extra / 1.08 ** 6, abs=0.01) == pytest.approx(5608.53, abs=0.01)
    value = npv - best_recycle / 1.08 ** 6
    assert value == pytest.approx(3920.62, abs=0.01)
    assert q.route_value_usd == pytest.approx(value)
    assert q.residual_share_fraction == 0.4
    assert q.quote.residual_value == pytest.approx(0.4 * value) == pytest.approx(1568.25, abs=0.01)
    # the books' functions give the same figure (sim/loop.py pays the seller with them)
    assert retired_pack_price_usd(retired_pack_value_usd("remanufacture", npv, best_recycle, d.economics), 0.4) == (
        pytest.approx(q.quote.residual_value))
    assert q.quote.pack_cost == pytest.approx(75 * 115.0)  # capacity × new-pack price (second_life_literature)
    i = 1.08 ** (1 / 12) - 1
    v = (1 + i) ** -96
    assert q.quote.monthly_price == pytest.approx((75 * 115.0 - 0.4 * value * v) * i / (1 - v) * 1.1)
    full = subscription_for_pack("NMC622", 75, 96, 0.78, 0.08, margin_fraction=0.1, residual_share_fraction=1.0)
    assert full.quote.residual_value == pytest.approx(value)  # the whole value, if the operator kept it all
    assert full.quote.monthly_price < q.quote.monthly_price
    worn = subscription_for_pack("NMC622", 75, 96, 0.5, 0.08, margin_fraction=0.1)
    assert worn.quote.monthly_price > q.quote.monthly_price  # less residual value, higher fee


def test_a_worthless_pack_is_sold_for_nothing():
    from batteryloop.circular.baas import retired_pack_price_usd

    assert retired_pack_price_usd(-120.0, 0.4) == 0.0
    assert retired_pack_price_usd(1000.0, 0.4) == pytest.approx(400.0)
    with pytest.raises(CircularInputError) as e:
        retired_pack_price_usd(1000.0, 40)
    assert e.value.field == "seller_share_fraction"
