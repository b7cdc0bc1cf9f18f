"""A pack's round-trip efficiency from its state (issue 18, referee's figures, 2; truth11b): one function for the
pilot's passports, the hubs that read them and the route decision that takes the hub's mean.

η = max(0.5, 1 − (1 − η₀)(1 + r/100)) is an assumption (every loss resistive), not a validated law: nothing in the
repository checks it independently. The catalogue's Annex IV mid-life figures are computed with it (they were
unsourced 93.0 / 94.5 before, and the old "check" assumed 15 % capacity lost at half the cycle life where the
project's own fade model gives more). By hand (docs/circular.md): the fade model's cycle loss reaches 30 % at the
declared cycle life with loss ∝ FEC^0.70, so at half of it 30 × 0.5^0.7 = 18.4672 %; r = 2.5 × 18.4672 = 46.168 %;
NMC/NCA η₀ 0.95 → 1 − 0.05 × 1.46168 = 0.926916 (92.69 %), LFP 0.96 → 1 − 0.04 × 1.46168 = 0.941533 (94.15 %).
"""

from __future__ import annotations

import math

import pytest

from batteryloop.circular.errors import CircularInputError
from batteryloop.circular.second_life import SecondLifeDegradation
from batteryloop.hubs.errors import HubInputError
from batteryloop.hubs.storage import Pack, pack_from_passport
from batteryloop.sim import pilot

rte = SecondLifeDegradation.round_trip_efficiency


def test_hand_values() -> None:
    assert float(rte(0.95, 37.5)) == pytest.approx(0.93125)
    assert float(rte(0.96, 37.5)) == pytest.approx(0.945)
    assert rte([0.95, 0.96], [37.5, 71.7]) == pytest.approx([0.93125, 1 - 0.04 * 1.717])


def test_the_catalogues_mid_life_figures_follow_the_fade_model() -> None:
    loss = 30 * 0.5 ** 0.7
    assert loss == pytest.approx(18.4672, abs=1e-4)
    assert 2.5 * loss == pytest.approx(46.168, abs=1e-3)
    want = {"EM-NMC811-82": (95.0, 92.69), "EM-NCA-75": (95.0, 92.69), "EM-LFP-60": (96.0, 94.15)}
    for m in pilot.battery_models():
        eta0, mid = want[m["model_id"]]
        assert m["initial_round_trip_efficiency_pct"] == eta0
        assert m["round_trip_efficiency_at_50pct_cycle_life_pct"] == mid, m["model_id"]
    assert pilot.mid_life_round_trip_efficiency_pct(95.0, 70.0) == 92.69
    assert pilot.mid_life_round_trip_efficiency_pct(96.0, 70.0) == 94.15
    assert pilot.mid_life_round_trip_efficiency_pct(96.0, 80.0) == round(100 * (1 - 0.04 * (1 + 2.5 * 20 * 0.5 ** 0.7 / 100)), 2)


def test_bounds() -> None:
    assert float(rte(0.96, 0.0)) == pytest.approx(0.96)  # a new pack: its initial efficiency
    assert float(rte(0.96, 5000.0)) == 0.5  # never below 0.5 (the hubs' floor)
    assert float(rte(1.0, 10.0)) == 1.0  # a lossless pack stays lossless


@pytest.mark.parametrize(("eta0", "r", "field"), [
    (0.4, 10.0, "initial_round_trip_efficiency_fraction"),
    (0.5, 10.0, "initial_round_trip_efficiency_fraction"),
    (1.2, 0.0, "initial_round_trip_efficiency_fraction"),
    (96.0, 0.0, "initial_round_trip_efficiency_fraction"),  # a percentage, not a fraction
    (math.nan, 0.0, "initial_round_trip_efficiency_fraction"),
    (0.96, -5.0, "resistance_increase_pct"),
    (0.96, math.nan, "resistance_increase_pct"),
    (0.96, math.inf, "resistance_increase_pct"),
])
def test_bad_inputs_are_refused_naming_the_field(eta0: float, r: float, field: str) -> None:
    with pytest.raises(CircularInputError) as exc:
        rte(eta0, r)
    assert exc.value.field == field


def _view(rte_pct: float | None, resistance_pct: float) -> dict:
    return {"battery": {"passport_id": "p-1", "state_of_health": {
        "soh_capacity_pct": 70.0, "ohmic_resistance_increase_pct": resistance_pct,
        "remaining_round_trip_efficiency_pct": rte_pct}},
        "model": {"chemistry": "LFP", "rated_energy_kwh": 60.0}}


def test_the_floor_is_a_valid_pack() -> None:
    """A pack whose resistance the passport schema allows (up to 10,000 %) gets the formula's floor, and the hubs'
    Pack accepts it — from the formula or from a passport stating 50.0 %."""
    floor = float(rte(0.96, 10_000.0))
    assert Pack(pack_id="x", nominal_energy_kwh=60, soh_fraction=0.7, resistance_increase_pct=10_000,
                round_trip_efficiency_fraction=floor).round_trip_efficiency_fraction == 0.5
    p = pack_from_passport(_view(100 * floor, 10_000.0))
    assert p.round_trip_efficiency_fraction == 0.5 and p.resistance_increase_pct == 10_000
    with pytest.raises(HubInputError) as exc:
        pack_from_passport(_view(40.0, 10_000.0))
    assert exc.value.field == "state_of_health.remaining_round_trip_efficiency_pct" and "p-1" in exc.value.rule
