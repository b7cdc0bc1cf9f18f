"""The official examples in ../shared/fixtures: each imports (strict or lenient as its defects demand)
and our validator reports each known defect (SOURCES.md "Known defects") with its path and rule."""

from __future__ import annotations

import json

import pytest

from batteryloop.errors import InvalidData
from batteryloop.formats import catenax, idta, import_passport, schemas

CX = "catenax/io.catenax.battery.battery_pass/6.1.0/BatteryPass.json"
IDTA_PARTS = {part: key for part, (key, _) in idta.PARTS.items()}


def _rules(errors):
    return {(e["field"], e["rule"]) for e in errors}


def test_schemas_are_read_in_place_with_draft4(fixtures_dir):
    assert schemas.schemas_dir().resolve() == fixtures_dir.resolve()
    assert schemas.validator_name("catenax.battery_pass") == "Draft4Validator"


def test_catenax_example_impossible_date_is_rejected_although_its_schema_accepts_it(fixtures_dir):
    raw = (fixtures_dir / CX).read_bytes()
    assert schemas.validate("catenax.battery_pass", json.loads(raw)) == []  # the schema lets it through
    with pytest.raises(InvalidData) as e:
        catenax.import_payload(raw)
    bad = {x["field"]: x for x in e.value.errors}
    assert bad["operation.intoServiceDate"]["rule"] == "date"
    assert bad["operation.intoServiceDate"]["value"] == "7172-75-08"
    assert "battery.putting_into_service_date" in bad["operation.intoServiceDate"]["message"]
    # and the other defects of the same example: a BPNL with lower-case letters, an NMC without ratio,
    # an EC number labelled as CAS
    assert bad["operation.manufacturer.manufacturer"]["value"] == "BPNLLJMv5rieVicu"
    assert bad["identification.chemistry"]["rule"] == "chemistry"
    assert any("201-004-7" in str(x["value"]) for x in e.value.errors)


def test_catenax_example_lenient_keeps_the_valid_part(fixtures_dir):
    raw = (fixtures_dir / CX).read_bytes()
    res = catenax.import_payload(raw, lenient=True, defaults={
        "manufacturer_name": "Example", "manufacturer_id": "BPNL0123456789ZZ", "chemistry": "NMC622",
        "manufacture_country": "DE"})
    assert res.complete
    assert res.battery.putting_into_service_date is None
    assert res.battery.manufacture_date.isoformat() == "2000-01-31"
    assert res.model.rated_capacity_ah == 4.0 and res.model.mass_kg == 0.02
    assert res.model.internal_resistance_pack_mohm == 550.0
    assert ("operation.intoServiceDate", "date") in _rules(res.report.dropped)
    assert res.report.unmapped  # e.g. physical dimensions, commercial


def test_idta_technical_data_reversed_idle_range_and_negative_c_rate(fixtures_dir):
    raw = schemas.example_path("idta.technical_data").read_bytes()
    assert schemas.validate("idta.technical_data", json.loads(raw)) == []  # schema-valid, yet wrong
    with pytest.raises(InvalidData) as e:
        idta.import_payload(raw)
    rules = _rules(e.value.errors)
    T = "technical_data:TechnicalPropertyAreas"
    assert (f"{T}.Temperature.TemperatureRangeIdleState_LowerBoundary", "range_order") in rules
    msg = next(x["message"] for x in e.value.errors if x["rule"] == "range_order")
    assert "49" in msg and "-19" in msg
    assert (f"{T}.Lifetime.CrateOfRelevantCycleLifeTest", "greater_than") in rules
    assert (f"{T}.PowerCapability.MaximumPermittedBatteryPower", "plausible_range") in rules
    res = idta.import_payload(raw, lenient=True)
    assert "idle_temperature_lower_c" not in res.model_fields and "idle_temperature_upper_c" not in res.model_fields
    assert res.model_fields["rated_capacity_ah"] == 210.0


@pytest.mark.parametrize("part", ["digital_nameplate", "circularity", "handover_documentation", "carbon_footprint"])
def test_idta_wrong_shapes_are_caught(part):
    raw = schemas.example_path(IDTA_PARTS[part]).read_bytes()
    with pytest.raises(InvalidData) as e:
        idta.import_payload(raw)
    rules = {r for _, r in _rules(e.value.errors)}
    assert "schema:type" in rules
    res = idta.import_payload(raw, lenient=True)
    assert res.report.schema_errors and res.report.dropped


def test_idta_multi_language_objects_are_named(fixtures_dir):
    raw = schemas.example_path("idta.circularity").read_bytes()
    res = idta.import_payload(raw, lenient=True)
    ml = [d for d in res.report.dropped if d["rule"] == "idta:multi_language_text"]
    assert any(d["field"] == "circularity:SparePartSources[0].NameOfSupplier" for d in ml)
    assert res.model_fields["spare_parts"][0]["supplier_name"] == "ABC Company"  # lenient keeps the text
    neg = [d for d in res.report.dropped if d["field"] == "circularity:RenewableContent"]
    assert neg and neg[0]["value"] == -12143.4


@pytest.mark.parametrize("part", sorted(IDTA_PARTS))
def test_every_idta_example_imports_strict_or_lenient(part):
    raw = schemas.example_path(IDTA_PARTS[part]).read_bytes()
    try:
        res = idta.import_payload(raw)
    except InvalidData as e:
        assert e.errors and all({"field", "rule", "message", "value"} <= set(x) for x in e.errors)
        res = idta.import_payload(raw, lenient=True)
        assert res.report.dropped
    # every value went somewhere: into our fields, or into the report (unmapped or dropped, with why)
    assert res.model_fields or res.battery_fields or (res.report.unmapped and res.report.dropped + res.report.unmapped)
    assert import_passport(raw, "auto", lenient=True).report.format == "idta"


def test_product_condition_example_is_clean():
    raw = schemas.example_path("idta.product_condition").read_bytes()
    res = idta.import_payload(raw)
    assert res.battery_fields["usage"]["full_equivalent_cycles"] == 600
    assert res.battery_fields["state_of_health"]["state_of_certified_energy_pct"] == 70.0
    assert any("time zone" in u["reason"] for u in res.report.unmapped)
