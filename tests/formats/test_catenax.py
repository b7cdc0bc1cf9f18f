"""Catena-X battery pass 6.1.0: exports validate, round trips keep every shared field, errors are clear."""

from __future__ import annotations

import json

import pytest

from batteryloop.errors import InvalidData
from batteryloop.formats import catenax, schemas
from batteryloop.formats.base import PassportParts
from batteryloop.passport.tiers import ALL_TIERS, PUBLIC_ONLY, Tier

#: fields both models have (docs/formats.md): they must survive ours → Catena-X → ours without the extension
SHARED_MODEL = sorted(catenax.MAPPED_MODEL)
SHARED_BATTERY = sorted(catenax.MAPPED_BATTERY)


def test_full_export_validates_and_round_trips_exactly(models, batteries):
    for b in batteries:
        m = models[b.model_id]
        res = catenax.export(PassportParts.from_data(m, b))
        assert schemas.validate("catenax.battery_pass", res.payload) == []
        back = catenax.import_payload(json.dumps(res.payload).encode())
        assert back.model == m
        assert back.battery == b


def test_shared_fields_survive_without_the_extension(models, batteries):
    b = batteries[0]
    m = models[b.model_id]
    res = catenax.export(PassportParts.from_data(m, b), include_extension=False)
    assert not any(s["header"] == catenax.EXTENSION_HEADER for s in res.payload.get("sources", []))
    back = catenax.import_payload(res.payload, defaults={"manufacturer_name": m.manufacturer_name,
                                                         "manufacture_country": b.manufacture_country})
    for f in SHARED_MODEL:
        assert getattr(back.model, f) == getattr(m, f), f
    for f in SHARED_BATTERY:
        assert getattr(back.battery, f) == getattr(b, f), f
    # state of health values Catena-X carries come back too
    for f in ("soh_capacity_pct", "remaining_capacity_ah", "state_of_certified_energy_pct", "measured_at"):
        assert getattr(back.battery.state_of_health, f) == getattr(b.state_of_health, f), f
    # and what it lacks is reported, not silently lost
    unmapped = {u["path"] for u in res.report.unmapped}
    assert {"model.warranty_km", "battery.manufacture_country"} <= unmapped


def test_public_export_carries_only_public_data(models, batteries):
    b = next(x for x in batteries if x.owner_id)
    m = models[b.model_id]
    res = catenax.export(PassportParts.from_data(m, b, PUBLIC_ONLY))
    text = json.dumps(res.payload)
    assert b.owner_id not in text
    assert m.safety_measures[0] not in text and m.spare_parts[0].part_number not in text
    assert m.test_reports[0].url not in text
    assert str(b.state_of_health.soh_capacity_pct) not in json.dumps(res.payload["performance"]["dynamic"])
    withheld = [p for p in res.report.placeholders if p["reason"].startswith("withheld")]
    assert any(p["path"].startswith("performance.dynamic") for p in withheld)
    bare = catenax.import_payload(res.payload, lenient=True)
    assert bare.battery is None and bare.report.missing == ["battery.status"]  # withheld, never read as 'original'
    back = catenax.import_payload(res.payload, defaults={"status": "original"})
    assert back.battery.state_of_health is None and back.battery.putting_into_service_date is None


def test_legitimate_interest_sees_dynamic_data_but_not_test_reports(models, batteries):
    b = batteries[1]
    m = models[b.model_id]
    res = catenax.export(PassportParts.from_data(m, b, {Tier.PUBLIC, Tier.LEGITIMATE_INTEREST}))
    assert res.payload["performance"]["dynamic"]["stateOfCharge"]["value"] == b.usage.state_of_charge_pct
    assert res.payload["conformity"]["resultOfTestReport"] == []


def test_non_bpnl_operator_needs_a_bpnl_alias_and_round_trips_with_one(models, batteries, tmp_path, monkeypatch):
    monkeypatch.setenv("BATTERYLOOP_BPNL_ALIASES", str(tmp_path / "aliases.json"))
    b = batteries[0].model_copy(update={"economic_operator_id": "211-86-00017"})
    with pytest.raises(InvalidData) as e:  # no alias: the error names the participant and the fix
        catenax.export(PassportParts.from_data(models[b.model_id], b, ALL_TIERS))
    assert e.value.errors[0]["rule"] == "catenax:bpnl" and e.value.errors[0]["field"] == "battery.economic_operator_id"
    assert "211-86-00017" in e.value.detail and "bpnl-alias" in e.value.detail
    from batteryloop.formats.bpnl import BpnlAliases

    table = BpnlAliases.load(tmp_path / "aliases.json")
    table.add("211-86-00017", "BPNL00000003KR9Z")
    table.save(tmp_path / "aliases.json")
    res = catenax.export(PassportParts.from_data(models[b.model_id], b, ALL_TIERS))  # validates against the schema
    assert res.payload["metadata"]["economicOperatorId"] == "BPNL00000003KR9Z"
    back = catenax.import_payload(res.payload)  # our own id comes back from the extension
    assert back.battery.economic_operator_id == "211-86-00017"


def test_invalid_values_are_named_with_path_value_and_rule(models, batteries):
    b = batteries[0]
    doc = catenax.export(PassportParts.from_data(models[b.model_id], b)).payload
    doc["performance"]["rated"]["voltage"]["min"] = 9999.0
    doc["operation"]["manufacturer"]["manufacturingDate"] = "2024-02-30"
    with pytest.raises(InvalidData) as e:
        catenax.import_payload(doc)
    by_field = {x["field"]: x for x in e.value.errors}
    assert by_field["operation.manufacturer.manufacturingDate"]["rule"] == "date"
    assert by_field["operation.manufacturer.manufacturingDate"]["value"] == "2024-02-30"
    assert any("voltages out of order" in x["message"] for x in e.value.errors)


def test_chemistry_texts():
    assert catenax.parse_chemistry("Lithium Iron Phosphate (LFP)")[0] == "LFP"
    assert catenax.parse_chemistry("NCM811")[0] == "NMC811"
    code, why = catenax.parse_chemistry("Nickel Cobalt Manganese (NCM)")
    assert code is None and "ratio" in why
