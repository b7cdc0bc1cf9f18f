"""Property-based round trips over generated passports (variants of the pilot's packs)."""

from __future__ import annotations

import datetime as dt

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from batteryloop.formats import aas, catenax
from batteryloop.formats.base import PassportParts
from batteryloop.passport.model import BatteryData, BatteryModelData
from batteryloop.sim.pilot import battery_models, generate_batteries

MODELS = battery_models()


@st.composite
def passports(draw):
    raw_m = dict(MODELS[draw(st.integers(0, len(MODELS) - 1))])
    raw_m["rated_capacity_ah"] = draw(st.floats(1, 1000, allow_nan=False).map(lambda x: round(x, 3)))
    raw_m["internal_resistance_cell_mohm"] = draw(st.floats(0.01, 50).map(lambda x: round(x, 4)))
    raw_m["idle_temperature_lower_c"] = draw(st.floats(-60, 0).map(lambda x: round(x, 1)))
    raw_m["warranty_years"] = draw(st.sampled_from([1, 2, 5, 8, 10, 12.5]))
    for key in ("expected_lifetime_cycles", "carbon_footprint", "recycled_content", "due_diligence_report_url"):
        if draw(st.booleans()):
            raw_m.pop(key)
    m = BatteryModelData.model_validate(raw_m)
    raw_b = next(generate_batteries(1, seed=draw(st.integers(0, 10_000)), today=dt.date(2026, 6, 1)))
    raw_b["model_id"] = m.model_id
    raw_b["passport_id"] = f"BL.{raw_b['economic_operator_id']}.{raw_b['serial_number']}"
    raw_b["status"] = draw(st.sampled_from(["original", "repurposed", "reused", "remanufactured", "waste"]))
    if draw(st.booleans()):
        raw_b.pop("state_of_health")
    return m, BatteryData.model_validate(raw_b)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(passports())
def test_catenax_round_trip(p):
    m, b = p
    back = catenax.import_payload(catenax.export(PassportParts.from_data(m, b)).payload)
    assert back.model == m
    assert back.battery == b


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(passports())
def test_aas_round_trip_keeps_shared_fields(p):
    m, b = p
    back = aas.import_payload(aas.export_json(PassportParts.from_data(m, b)).payload)
    for f in catenax.MAPPED_MODEL - {"dismantling_information"}:
        assert getattr(back.model, f) == getattr(m, f), f
    for f in ("passport_id", "serial_number", "model_id", "economic_operator_id", "manufacture_date", "status",
              "putting_into_service_date", "manufacture_country"):
        assert getattr(back.battery, f) == getattr(b, f), f
