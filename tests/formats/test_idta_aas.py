"""IDTA 02035 SAMM payloads and the AAS (JSON, AASX): valid exports, basyx read-back, round trips."""

from __future__ import annotations

import io
import json

from basyx.aas import model
from basyx.aas.adapter import aasx
from basyx.aas.adapter import json as aas_json

from batteryloop.formats import aas, idta, schemas
from batteryloop.formats.base import PassportParts
from batteryloop.passport.tiers import PUBLIC_ONLY

#: fields both our model and IDTA 02035 have
SHARED_MODEL = ["manufacturer_id", "manufacturer_name", "manufacturer_address", "category", "chemistry", "mass_kg",
                "rated_capacity_ah", "rated_energy_kwh", "nominal_voltage_v", "min_voltage_v", "max_voltage_v",
                "original_power_capability_w", "max_permitted_power_w", "expected_lifetime_cycles",
                "cycle_life_test_reference", "cycle_life_c_rate", "capacity_threshold_exhaustion_pct",
                "idle_temperature_lower_c", "idle_temperature_upper_c", "warranty_years",
                "initial_round_trip_efficiency_pct", "round_trip_efficiency_at_50pct_cycle_life_pct",
                "internal_resistance_cell_mohm", "internal_resistance_pack_mohm", "extinguishing_agent",
                "hazardous_substances", "carbon_footprint", "due_diligence_report_url", "renewable_content_pct",
                "labels", "collection_information", "declaration_of_conformity_url", "spare_parts",
                "safety_measures", "test_reports"]
SHARED_BATTERY = ["passport_id", "serial_number", "economic_operator_id", "manufacture_date", "manufacture_site",
                  "status", "putting_into_service_date"]


def _same(a, b, fields):
    for f in fields:
        assert getattr(a, f) == getattr(b, f), f


def test_every_part_validates_against_its_official_schema(models, batteries):
    for b in batteries[:3]:
        res = idta.export(PassportParts.from_data(models[b.model_id], b))
        assert set(res.payload) == set(idta.PARTS) | {idta.EXTENSION_KEY}
        for part, payload in res.payload.items():
            if part == idta.EXTENSION_KEY:
                continue
            assert schemas.validate(idta.PARTS[part][0], payload) == [], part


def test_samm_round_trip_keeps_shared_fields(models, batteries):
    for b in batteries[:3]:
        m = models[b.model_id]
        res = idta.export(PassportParts.from_data(m, b))
        back = idta.import_payload(json.dumps(res.payload), ignore=[p["path"] for p in res.report.placeholders],
                                   defaults={"model_id": m.model_id, "model_name": m.model_name,
                                             "manufacture_country": b.manufacture_country})
        _same(back.model, m, SHARED_MODEL)
        _same(back.battery, b, SHARED_BATTERY)
        for f in ("remaining_capacity_ah", "state_of_certified_energy_pct", "remaining_power_capability_pct",
                  "ohmic_resistance_increase_pct", "measured_at"):
            assert getattr(back.battery.state_of_health, f) == getattr(b.state_of_health, f), f


def test_samm_import_without_the_model_id_reports_it_missing(models, batteries):
    b = batteries[0]
    res = idta.export(PassportParts.from_data(models[b.model_id], b), include_extension=False)  # another system's
    back = idta.import_payload(res.payload)
    assert back.model is None and "model.model_id" in back.report.missing
    assert back.battery is None and "battery.manufacture_country" in back.report.missing


def test_public_export_has_no_product_condition(models, batteries):
    b = batteries[0]
    res = idta.export(PassportParts.from_data(models[b.model_id], b, PUBLIC_ONLY))
    assert "product_condition" not in res.payload
    assert res.payload["circularity"]["SparePartSources"] == []
    assert "DateOfPuttingIntoService" not in res.payload["digital_nameplate"]


def test_aas_json_reads_back_with_basyx_and_round_trips(models, batteries):
    for b in batteries[:3]:
        m = models[b.model_id]
        res = aas.export_json(PassportParts.from_data(m, b))
        store = aas_json.read_aas_json_file(io.StringIO(json.dumps(res.payload)), failsafe=False)
        shells = [o for o in store if isinstance(o, model.AssetAdministrationShell)]
        subs = [o for o in store if isinstance(o, model.Submodel)]
        assert len(shells) == 1 and len(subs) == 8
        assert {s.semantic_id.key[0].value for s in subs} == {urn for _, urn in idta.PARTS.values()}
        back = aas.import_payload(res.payload)
        assert back.model is not None and back.battery is not None, back.report.missing
        _same(back.model, m, SHARED_MODEL + ["model_id", "model_name"])
        _same(back.battery, b, SHARED_BATTERY + ["manufacture_country"])


def _lifetime(m, b, tiers=None):  # type: ignore[no-untyped-def]
    from batteryloop.passport.tiers import ALL_TIERS

    res = aas.export_json(PassportParts.from_data(m, b, tiers or ALL_TIERS))
    store = aas_json.read_aas_json_file(io.StringIO(json.dumps(res.payload)), failsafe=False)
    sm = next(o for o in store if isinstance(o, model.Submodel) and o.id_short == "TechnicalData")
    return sm.get_referable("TechnicalPropertyAreas").get_referable("Lifetime")


def test_aas_placeholders_are_empty_properties(models, batteries):
    from batteryloop.passport.tiers import Tier

    b = batteries[0]
    m = models[b.model_id]
    # the calendar lifetime (issue 16) fills its IDTA property; withheld (legitimate interest) or absent, it is empty
    assert _lifetime(m, b).get_referable("ExpectedLifetimeInCalendarYears").value == m.expected_lifetime_years == 12
    assert _lifetime(m, b, {Tier.PUBLIC}).get_referable("ExpectedLifetimeInCalendarYears").value is None
    lifetime = _lifetime(m.model_copy(update={"expected_lifetime_years": None}), b)
    assert lifetime.get_referable("ExpectedLifetimeInCalendarYears").value is None
    assert lifetime.get_referable("ExpectedNumberOfCycles").value == models[b.model_id].expected_lifetime_cycles


def test_aasx_package_reads_back_with_basyx(models, batteries):
    b = batteries[2]
    m = models[b.model_id]
    res = aas.export_aasx(PassportParts.from_data(m, b))
    assert res.payload[:2] == b"PK" and len(res.payload) < 50_000
    store: model.DictIdentifiableStore = model.DictIdentifiableStore()
    with aasx.AASXReader(io.BytesIO(res.payload)) as reader:
        ids = reader.read_into(store, aasx.DictSupplementaryFileContainer())
    assert len(ids) == 9
    back = aas.import_payload(res.payload)
    _same(back.model, m, SHARED_MODEL)
    _same(back.battery, b, SHARED_BATTERY)
