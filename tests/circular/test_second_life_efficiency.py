"""A pack's round-trip efficiency from its state (issue 18, referee's figures, 2): one function for the pilot's
passports, the hubs that read them and the route decision that takes the hub's mean.

η = 1 − (1 − η₀)(1 + r/100): the losses of a cycle at a given current are resistive, so the lost fraction grows
with the resistance. Independent check (docs/circular.md): the pilot catalogue's Annex IV figures. At half its
cycle life a pack has lost about 15 % of its capacity (linear to 70 % at the end), i.e. r = 15 × 2.5 = 37.5 %
(first_life_fade: 2.5 % resistance per % capacity); NMC η₀ 95 % → 1 − 0.05 × 1.375 = 0.93125, the model declares
93.0 %; LFP η₀ 96 % → 1 − 0.04 × 1.375 = 0.945, declared 94.5 %.
"""

from __future__ import annotations

import pytest

from batteryloop.circular.second_life import SecondLifeDegradation
from batteryloop.sim import pilot

rte = SecondLifeDegradation.round_trip_efficiency


def test_hand_values_and_the_catalogues_mid_life_figures():
    assert float(rte(0.95, 37.5)) == pytest.approx(0.93125)
    assert float(rte(0.96, 37.5)) == pytest.approx(0.945)
    for m in pilot.battery_models():
        eta0 = m["initial_round_trip_efficiency_pct"] / 100
        assert 100 * float(rte(eta0, 15 * 2.5)) == pytest.approx(m["round_trip_efficiency_at_50pct_cycle_life_pct"], abs=0.15)


def test_bounds():
    assert float(rte(0.96, 0.0)) == pytest.approx(0.96)  # a new pack: its initial efficiency
    assert float(rte(0.96, -5.0)) == pytest.approx(0.96)  # never above it
    assert float(rte(0.96, 5000.0)) == pytest.approx(0.5)  # and never below 0.5 (the hubs' floor)
    assert rte([0.95, 0.96], [37.5, 71.7]) == pytest.approx([0.93125, 1 - 0.04 * 1.717])
