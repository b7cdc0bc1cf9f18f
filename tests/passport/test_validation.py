"""Each validation rule rejects a bad value with a message naming the field, and stores nothing."""

from __future__ import annotations

import copy
import datetime as dt
from typing import Any

import pytest

from batteryloop.errors import InvalidData
from batteryloop.passport.validators import cas_check_digit_ok, classify_participant_id, kr_brn_check_digit_ok
from batteryloop.sim import pilot

TOMORROW = (dt.date.today() + dt.timedelta(days=1)).isoformat()


def _battery() -> dict[str, Any]:
    return next(pilot.generate_batteries(1, seed=3))


def _model() -> dict[str, Any]:
    m = copy.deepcopy(pilot.battery_models()[0])
    m["model_id"] = "TEST-MODEL-1"
    return m


BATTERY_CASES = [
    ("manufacture_date", lambda b: b.update(manufacture_date=TOMORROW), "manufacture_date"),
    ("service before manufacture", lambda b: b.update(manufacture_date="2025-05-01", putting_into_service_date="2025-04-01"),
     "putting_into_service_date"),
    ("service in future", lambda b: b.update(putting_into_service_date=TOMORROW), "putting_into_service_date"),
    ("soh above 100", lambda b: b["state_of_health"].update(soh_capacity_pct=100.5), "state_of_health.soh_capacity_pct"),
    ("soh negative", lambda b: b["state_of_health"].update(soh_capacity_pct=-1), "state_of_health.soh_capacity_pct"),
    ("mass zero", lambda b: b.update(mass_kg=0), "mass_kg"),
    ("operator id", lambda b: b.update(economic_operator_id="BPNL123"), "economic_operator_id"),
    ("owner kr check digit", lambda b: b.update(owner_id="220-88-00016"), "owner_id"),
    ("country", lambda b: b.update(manufacture_country="Germany"), "manufacture_country"),
    ("status", lambda b: b.update(status="exploded"), "status"),
    ("unknown field", lambda b: b.update(colour="red"), "colour"),
    ("usage temps", lambda b: b["usage"].update(min_operating_temperature_c=50, max_operating_temperature_c=10),
     "usage.min_operating_temperature_c"),
]

MODEL_CASES = [
    ("chemistry", lambda m: m.update(chemistry="unobtainium"), "chemistry"),
    ("idle temps", lambda m: m.update(idle_temperature_lower_c=49, idle_temperature_upper_c=-19), "idle_temperature_lower_c"),
    ("cas check digit", lambda m: m["hazardous_substances"][0].update(cas_number="21324-40-4"),
     "hazardous_substances[0].cas_number"),
    ("cas form", lambda m: m["detailed_composition"]["cathode"][0].update(cas_number="12-3"),
     "detailed_composition.cathode[0].cas_number"),
    ("capacity", lambda m: m.update(rated_capacity_ah=-3), "rated_capacity_ah"),
    ("mass", lambda m: m.update(mass_kg=0), "mass_kg"),
    ("voltages", lambda m: m.update(min_voltage_v=500), "min_voltage_v"),
    ("percent", lambda m: m.update(renewable_content_pct=101), "renewable_content_pct"),
    ("recycled percent", lambda m: m["recycled_content"].update(cobalt_pct=140), "recycled_content.cobalt_pct"),
    ("footprint stages", lambda m: m["carbon_footprint"].update(total_kgco2e_per_kwh=9.0), "total_kgco2e_per_kwh"),
    ("manufacturer id", lambda m: m.update(manufacturer_id="ACME"), "manufacturer_id"),
]


@pytest.mark.parametrize("name,mutate,field", BATTERY_CASES, ids=[c[0] for c in BATTERY_CASES])
def test_bad_battery_rejected_and_nothing_stored(pilot_services: Any, name: str, mutate: Any, field: str) -> None:
    svc = pilot_services.passports
    operator = pilot_services.pilot["callers"][pilot.AUTOMAKER]
    good = _battery()
    bad = _battery()
    bad["serial_number"] = "BAD-0001"
    mutate(bad)
    with pytest.raises(InvalidData) as ei:
        svc.create_passport(bad, operator)
    assert field in ei.value.detail, ei.value.detail
    assert any(field in e["message"] for e in ei.value.errors) or field in ei.value.detail
    # the same bad record inside a batch: the whole batch is refused, the report names record and field
    report = svc.import_passports([good, bad], operator)
    assert report.stored == 0 and report.errors[0]["index"] == 1 and field in report.errors[0]["message"]
    assert svc.count()["passports"] == 0


@pytest.mark.parametrize("name,mutate,field", MODEL_CASES, ids=[c[0] for c in MODEL_CASES])
def test_bad_model_rejected_and_nothing_stored(pilot_services: Any, name: str, mutate: Any, field: str) -> None:
    svc = pilot_services.passports
    operator = pilot_services.pilot["callers"][pilot.AUTOMAKER]
    m = _model()
    mutate(m)
    with pytest.raises(InvalidData) as ei:
        svc.create_model(m, operator)
    assert field in ei.value.detail
    assert svc.count()["models"] == 3


def test_rules_on_identifiers() -> None:
    assert classify_participant_id("BPNL0123456789ZZ").value == "bpnl"
    assert classify_participant_id("9876543210987").value == "ouranos"
    assert classify_participant_id("124-81-00998").value == "kr_brn"
    for bad in ("BPNL0123456789Z", "bpnl0123456789ZZ", "12345", "124-81-00999"):
        with pytest.raises(ValueError):
            classify_participant_id(bad)
    assert cas_check_digit_ok("7439-93-2")  # lithium
    assert cas_check_digit_ok("7440-48-4")  # cobalt
    assert not cas_check_digit_ok("7440-48-5")
    assert kr_brn_check_digit_ok("1248100998") and not kr_brn_check_digit_ok("1248100997")
