"""Round-trip efficiency fade in each export follows its standard (issue 18, second referee; truth11b).

Catena-X BatteryPass 6.1.0 (fixtures/catenax, ``roundTripEfficiencyFade``): "a reduction in the round trip
efficiency of the battery system over time expressed as a percentage in reference to the initial value" — relative;
Battery Pass 1.2 (``batteryCondition.roundTripEfficiencyFade``) after DIN DKE SPEC 99100 6.7.4.5: (1 − RTE / RTE_BOL)
× 100 % — relative too. The Catena-X export wrote the difference in percentage points. By hand for an LFP pack
(initial 96 %) at 93.13 %: (1 − 93.13 / 96) × 100 = 2.9895833 % (not 2.87).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from batteryloop.formats.registry import export_passport
from batteryloop.sim import pilot

WANT = (1 - 93.13 / 96) * 100  # 2.9895833 %


def _parts() -> tuple[dict[str, Any], dict[str, Any]]:
    model = next(m for m in pilot.battery_models() if m["chemistry"] == "LFP")
    battery = {**next(pilot.generate_batteries(1, seed=7)), "model_id": model["model_id"]}
    battery["state_of_health"] = {**(battery.get("state_of_health") or {}), "soh_capacity_pct": 71.32,
                                  "remaining_round_trip_efficiency_pct": 93.13,
                                  "measured_at": "2025-12-01T03:00:00+00:00"}
    return model, battery


def _find(doc: Any, key: str) -> list[Any]:
    out = []
    if isinstance(doc, dict):
        for k, v in doc.items():
            if k == key:
                out.append(v)
            out += _find(v, key)
    elif isinstance(doc, list):
        for v in doc:
            out += _find(v, key)
    return out


def test_the_hand_figure() -> None:
    assert WANT == pytest.approx(2.9895833, abs=1e-7)


def test_catenax_fade_is_relative_to_the_initial_value() -> None:
    model, battery = _parts()
    res = export_passport("catenax", model, battery, validate=False)
    doc = json.loads(json.dumps(res.payload, default=str))
    rte = _find(doc, "roundTripEfficiency")
    fades = [r["fade"] for r in rte if isinstance(r, dict) and isinstance(r.get("fade"), dict)]
    values = [f.get("value") for f in fades if f.get("value") is not None]
    assert values and all(v == pytest.approx(WANT, abs=1e-6) for v in values), fades


def test_batterypass_fade_is_relative_to_the_initial_value() -> None:
    model, battery = _parts()
    res = export_passport("batterypass", model, battery, validate=False)
    doc = json.loads(json.dumps(res.payload, default=str))
    values = _find(doc, "roundTripEfficiencyFade")
    assert values and all(v == pytest.approx(WANT, abs=1e-6) for v in values)
