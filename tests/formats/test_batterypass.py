"""Battery Pass consortium data model 1.2 importer: our own payloads, written from the published SAMM property
names with realistic values and complete to the consortium's 1.2 schemas (the official examples are generator
output, tested in test_batterypass_schemas.py), in UTF-8, UTF-8 with BOM and UTF-16 LE/BE with BOM."""

from __future__ import annotations

import codecs
import json

import pytest

from batteryloop import formats
from batteryloop.errors import InvalidData
from batteryloop.formats import batterypass

GENERAL = {
    "productIdentifier": "BL.BPNL000000000EM1.NMC811-PB-0000042",
    "batteryPassportIdentifier": "urn:bl:0000042",
    "batteryCategory": "ev",
    "manufacturerInformation": {"contactName": "Nordzelle Batteriewerk GmbH", "identifier": "BPNL000000000EM1",
                                "postalAddress": {"streetAddress": "Am Hafen 7", "postalCode": "38100",
                                                  "addressCountry": "Germany"}},
    "manufacturingDate": "2025-06-03T08:30:00Z",
    "batteryStatus": "Original",
    "batteryMass": 455.5,
    "manufacturingPlace": {"streetAddress": "Werkring 2", "postalCode": "04109", "addressCountry": "Germany"},
    "operatorInformation": {"contactName": "Nordzelle", "identifier": "BPNL000000000EM1",
                            "postalAddress": {"streetAddress": "Am Hafen 7", "postalCode": "38100",
                                              "addressCountry": "Germany"}},
    "puttingIntoService": "2025-09-01T00:00:00Z",
    "warrentyPeriod": "--06",  # xsd:gMonth with the unit month in the 1.2 schema: six months
}
FOOTPRINT = {
    "batteryCarbonFootprint": 71.0,
    "carbonFootprintPerLifecycleStage": [
        {"lifecycleStage": "RawMaterialExtraction", "carbonFootprint": 44.0},
        {"lifecycleStage": "MainProduction", "carbonFootprint": 21.5},
        {"lifecycleStage": "Distribution", "carbonFootprint": 1.5},
        {"lifecycleStage": "Recycling", "carbonFootprint": 4.0}],
    "carbonFootprintPerformanceClass": "B",
    "carbonFootprintStudy": "https://nordzelle.example/cf-study.pdf",
    "absoluteCarbonFootprint": 5200.0,
}
PERFORMANCE = {
    "batteryTechicalProperties": {
        "ratedMaximumPower": 210.0, "ratedEnergy": 78.0, "ratedCapacity": 219.5, "expectedNumberOfCycles": 1800,
        "roundtripEfficiency": 94.0, "nominalVoltage": 355.0, "minimumVoltage": 270.0, "maximumVoltage": 410.0,
        "capacityThresholdForExhaustion": 70.0, "lifetimeReferenceTest": "https://nordzelle.example/iec62660.pdf",
        "cRateLifeCycleTest": 0.5, "expectedLifetime": 10, "initialSelfDischarge": 2.0,
        # power at a SoC in percent of ratedMaximumPower (the model's unit): 95 % of 210 kW
        "originalPowerCapability": [{"atSoC": 80.0, "powerCapabilityAt": 95.0}], "powerCapabilityRatio": 270.0,
        "temperatureRangeIdleState": 25.0,
        "initialInternalResistance": [{"ohmicResistance": 0.085, "batteryComponent": "pack"},
                                      {"ohmicResistance": 0.0011, "batteryComponent": "cell"}],
    },
    "batteryCondition": {
        "energyThroughput": 5400.0,
        "capacityThroughput": {"capacityThroughputValue": 15300.0, "lastUpdate": "2026-10-01T10:00:00Z"},
        "numberOfFullCycles": {"numberOfFullCyclesValue": 70, "lastUpdate": "2026-10-01T10:00:00Z"},
        "stateOfCertifiedEnergy": {"stateOfCertifiedEnergyValue": 97.5, "lastUpdate": "2026-10-01T10:00:00Z"},
        "capacityFade": {"capacityFadeValue": 2.5, "lastUpdate": "2026-10-01T10:00:00Z"},
        "remainingEnergy": {"remainingEnergyalue": 76.0, "lastUpdate": "2026-10-02T10:00:00Z"},
        "powerFade": 1.0,
        "currentSelfDischargingRate": {"currentSelfDischargingRateEntity": 1.2, "lastUpdate": "2026-10-01T10:00:00Z"},
        "internalResistanceIncrease": [{"internalResistanceIncreaseValue": 4.0, "batteryComponent": "pack",
                                        "lastUpdate": "2026-10-01T10:00:00Z"}],
        "roundTripEfficiencyat50PerCentCycleLife": 92.0,
        "remainingRoundTripEnergyEfficiency": {"remainingRoundTripEnergyEfficiencyValue": 93.5,
                                               "lastUpdate": "2026-10-01T10:00:00Z"},
        "stateOfCharge": {"stateOfChargeValue": 55.0, "lastUpdate": "2026-10-01T10:00:00Z"},
        "temperatureInformation": {"timeExtremeHighTemp": 90.0, "timeExtremeLowTemp": 30.0,
                                   "timeExtremeHighTempCharging": 5.0, "timeExtremeLowTempCharging": 0.0,
                                   "lastUpdate": "2026-10-01T10:00:00Z"},
        "remainingPowerCapability": [{"remainingPowerCapabilityValue": {"atSoC": 80.0, "powerCapabilityAt": 90.0,
                                                                        "rPCLastUpdated": "2026-10-01T10:00:00Z"},
                                      "lastUpdate": "2026-10-01T10:00:00Z"}],
        "roundTripEfficiencyFade": 0.5,
        "evolutionOfSelfDischarge": {"evolutionOfSelfDischargeEntityValue": 0.1},
        "negativeEvents": [{"negativeEvent": "minor collision, housing inspected", "lastUpdate": "2026-03-14T16:20:00Z"}],
        # declared in kWh by the 1.2 model: 213.0 Ah at the nominal 355 V
        "remainingCapacity": {"remainingCapacityValue": 75.615, "lastUpdate": "2026-10-01T10:00:00Z"},
    },
}
CIRCULARITY = {  # io.BatteryPass.Circularity 1.2.0
    "dismantlingAndRemovalInformation": [
        {"documentType": "BillOfMaterial", "mimeType": "text/csv", "documentURL": "https://nordzelle.example/bom.csv"},
        {"documentType": "DismantlingManual", "mimeType": "application/pdf",
         "documentURL": "https://nordzelle.example/dismantling.pdf"}],
    "sparePartSources": [{
        "nameOfSupplier": "Nordzelle Service GmbH",
        "addressOfSupplier": {"addressCountry": "Germany", "streetAddress": "Am Hafen 9", "postalCode": "38100"},
        "emailAddressOfSupplier": "parts@nordzelle.example", "supplierWebAddress": "https://nordzelle.example/parts",
        "components": [{"partName": "Cell module", "partNumber": "NZ-MOD-12"},
                       {"partName": "BMS", "partNumber": "NZ-BMS-3"}]}],
    "recycledContent": [{"preConsumerShare": 2.5, "recycledMaterial": "Cobalt", "postConsumerShare": 9.0},
                        {"preConsumerShare": 0.0, "recycledMaterial": "Lithium", "postConsumerShare": 4.0}],
    "safetyMeasures": {"safetyInstructions": "https://nordzelle.example/safety.pdf",
                       "extinguishingAgent": ["water", "class D powder"]},
    "endOfLifeInformation": {"wastePrevention": "https://nordzelle.example/reuse",
                             "separateCollection": "https://nordzelle.example/collection",
                             "informationOnCollection": "https://nordzelle.example/take-back"},
    "renewableContent": 3.0,
}
MATERIALS = {  # io.BatteryPass.MaterialComposition 1.2.0 (masses in grams)
    "batteryChemistry": {"shortName": "NMC811", "clearName": "Lithium nickel manganese cobalt oxides"},
    "batteryMaterials": [
        {"batteryMaterialLocation": {"componentName": "Cathode", "componentId": "CAT-1"},
         "batteryMaterialIdentifier": "7440-48-4", "batteryMaterialName": "Cobalt", "batteryMaterialMass": 4100.0,
         "isCriticalRawMaterial": True},
        {"batteryMaterialLocation": {"componentName": "Anode"}, "batteryMaterialIdentifier": "7782-42-5",
         "batteryMaterialName": "Graphite", "batteryMaterialMass": 61500.0, "isCriticalRawMaterial": True},
        {"batteryMaterialLocation": {"componentName": "Housing"}, "batteryMaterialIdentifier": "7429-90-5",
         "batteryMaterialName": "Aluminium", "batteryMaterialMass": 52000.0, "isCriticalRawMaterial": False}],
    "hazardousSubstances": [
        {"hazardousSubstanceClass": "AcuteToxicity", "hazardousSubstanceName": "lithium hexafluorophosphate",
         "hazardousSubstanceConcentration": 1.2, "hazardousSubstanceImpact": ["H301 toxic if swallowed"],
         "hazardousSubstanceLocation": {"componentName": "Electrolyte"}, "hazardousSubstanceIdentifier": "21324-40-3"}],
}
DUE_DILIGENCE = {"supplyChainDueDiligenceReport": "https://nordzelle.example/due-diligence-2025.pdf",
                 "thirdPartyAussurances": "https://audit.example/nordzelle", "supplyChainIndicies": 82.0}
LABELING = {"declarationOfConformity": "https://nordzelle.example/doc.pdf",
            "resultOfTestReport": "https://nordzelle.example/tests.pdf",
            "labels": [{"labelingSubject": "SeparateCollection", "labelingSymbol": "https://nordzelle.example/bin.svg",
                        "labelingMeaning": {"en": "Separate collection", "de": "Getrennte Sammlung"}},
                       {"labelingSubject": "ExtinguishingAgent", "labelingSymbol": "https://nordzelle.example/fire.svg",
                        "labelingMeaning": {"en": "Extinguishing agent: water"}}]}
PASSPORT = {"GeneralProductInformation": GENERAL, "CarbonFootprintForBatteries": FOOTPRINT,
            "PerformanceAndDurability": PERFORMANCE, "Circularity": CIRCULARITY, "MaterialComposition": MATERIALS,
            "SupplyChainDueDiligence": DUE_DILIGENCE, "Labeling": LABELING}
DEFAULTS = {"model_id": "NZ-78", "model_name": "Nordzelle 78", "serial_number": "NMC811-PB-0000042"}


def encodings(obj: dict) -> dict[str, bytes]:
    text = json.dumps(obj, ensure_ascii=False)
    return {"utf-8": text.encode("utf-8"), "utf-8-bom": codecs.BOM_UTF8 + text.encode("utf-8"),
            "utf-16-le-bom": codecs.BOM_UTF16_LE + text.encode("utf-16-le"),
            "utf-16-be-bom": codecs.BOM_UTF16_BE + text.encode("utf-16-be")}


@pytest.mark.parametrize("enc", ["utf-8", "utf-8-bom", "utf-16-le-bom", "utf-16-be-bom"])
def test_full_passport_in_every_encoding(enc: str) -> None:
    """A payload complete to the consortium's 1.2 schemas is taken by the strict import."""
    raw = encodings(PASSPORT)[enc]
    assert formats.detect(raw).name == "batterypass"
    res = formats.import_passport(raw, "auto", defaults=DEFAULTS)
    model, battery = res.require()
    assert model.manufacturer_name == "Nordzelle Batteriewerk GmbH" and model.manufacturer_id == "BPNL000000000EM1"
    assert model.manufacturer_address == "Am Hafen 7, 38100, Germany"
    assert model.category.value == "ev" and model.mass_kg == 455.5 and model.warranty_years == 0.5
    assert battery.passport_id == GENERAL["productIdentifier"]
    assert battery.manufacture_date.isoformat() == "2025-06-03"
    assert battery.putting_into_service_date.isoformat() == "2025-09-01"
    assert battery.manufacture_country == "DE" and battery.manufacture_site == "Werkring 2"
    assert battery.manufacture_postal_code == "04109"
    assert battery.economic_operator_id == "BPNL000000000EM1" and battery.status.value == "original"
    assert (battery.economic_operator_name, battery.economic_operator_address) == ("Nordzelle", "Am Hafen 7, 38100, Germany")
    cf = model.carbon_footprint
    assert (cf.total_kgco2e_per_kwh, cf.raw_material_kgco2e_per_kwh, cf.main_production_kgco2e_per_kwh,
            cf.distribution_kgco2e_per_kwh, cf.end_of_life_kgco2e_per_kwh) == (71.0, 44.0, 21.5, 1.5, 4.0)
    assert cf.performance_class == "B" and cf.study_url == FOOTPRINT["carbonFootprintStudy"]
    assert model.max_permitted_power_w == 210000.0 and model.rated_energy_kwh == 78.0
    assert model.internal_resistance_pack_mohm == pytest.approx(85.0)
    assert model.internal_resistance_cell_mohm == pytest.approx(1.1)
    assert model.expected_lifetime_cycles == 1800 and model.cycle_life_c_rate == 0.5
    # the Annex XIII values issue 16 added: years, initial self-discharge, power at a SoC (percent of the rated
    # maximum power → W), the power/energy ratio (percent → per hour), the test's link
    assert (model.expected_lifetime_years, model.initial_self_discharge_pct_per_month) == (10, 2.0)
    assert [(p.state_of_charge_pct, p.power_w) for p in model.original_power_capability_at_soc] == [(80.0, 199500.0)]
    assert model.power_energy_ratio_per_h == 2.7 and model.cycle_life_test_url == "https://nordzelle.example/iec62660.pdf"
    assert model.round_trip_efficiency_at_50pct_cycle_life_pct == 92.0
    soh = battery.state_of_health
    assert soh.soh_capacity_pct == 97.5 and soh.remaining_power_capability_pct == 99.0
    assert soh.remaining_energy_kwh == 76.0 and soh.ohmic_resistance_increase_pct == 4.0
    assert soh.measured_at.isoformat() == "2026-10-02T10:00:00+00:00"
    assert soh.remaining_capacity_ah == 213.0
    assert [(p.state_of_charge_pct, p.power_w) for p in soh.remaining_power_capability_at_soc] == [(80.0, 189000.0)]
    u = battery.usage
    assert u.time_above_extreme_temperature_h == 1.5 and u.time_below_extreme_temperature_h == 0.5
    assert (u.time_above_extreme_temperature_charging_h, u.time_below_extreme_temperature_charging_h) == (
        pytest.approx(5 / 60), 0.0)
    assert u.full_equivalent_cycles == 70 and u.energy_throughput_kwh == 5400.0
    assert [e.kind for e in u.negative_events] == ["minor collision, housing inspected"]
    # the four modules mapped in 1.2: circularity, material composition, due diligence, labels
    assert model.dismantling_information.manual_url == "https://nordzelle.example/dismantling.pdf"
    source = ("Nordzelle Service GmbH", "Am Hafen 9, 38100, Germany", "parts@nordzelle.example",
              "https://nordzelle.example/parts")
    assert [(p.part_number, p.name, p.supplier_name, p.supplier_address, p.supplier_email, p.supplier_web_url)
            for p in model.spare_parts] == [("NZ-MOD-12", "Cell module", *source), ("NZ-BMS-3", "BMS", *source)]
    rc = model.recycled_content
    assert (rc.cobalt_pct, rc.cobalt_pre_consumer_pct, rc.cobalt_post_consumer_pct) == (11.5, 2.5, 9.0)
    assert (rc.lithium_pct, rc.lithium_pre_consumer_pct, rc.lithium_post_consumer_pct) == (4.0, 0.0, 4.0)
    assert model.recycled_content.nickel_pct is None and model.renewable_content_pct == 3.0
    assert model.safety_measures == [] and model.safety_instructions_url == "https://nordzelle.example/safety.pdf"
    assert model.extinguishing_agent == ["water", "class D powder"]
    assert model.collection_information is None
    assert (model.waste_prevention_url, model.separate_collection_url, model.collection_information_url) == (
        "https://nordzelle.example/reuse", "https://nordzelle.example/collection", "https://nordzelle.example/take-back")
    assert model.chemistry.value == "NMC811"
    dc = model.detailed_composition
    assert [(x.material, x.cas_number, x.mass_kg) for x in dc.cathode] == [("Cobalt", "7440-48-4", 4.1)]
    assert [(x.material, x.mass_kg) for x in dc.anode] == [("Graphite", 61.5)]
    assert [(x.material, x.mass_kg) for x in dc.other] == [("Aluminium", 52.0)] and dc.electrolyte == []
    assert model.critical_raw_materials == ["Cobalt", "Graphite"]
    (h,) = model.hazardous_substances
    assert (h.name, h.cas_number, h.concentration_pct, h.location, h.hazard_class) == (
        "lithium hexafluorophosphate", "21324-40-3", 1.2, "Electrolyte", "AcuteToxicity")
    assert model.due_diligence_report_url == DUE_DILIGENCE["supplyChainDueDiligenceReport"]
    assert model.declaration_of_conformity_url == "https://nordzelle.example/doc.pdf"
    assert [(t.title, t.url) for t in model.test_reports] == [("result of test report", "https://nordzelle.example/tests.pdf")]
    assert model.labels == ["Separate collection", "Extinguishing agent: water"]
    assert [(x.label, x.subject.value, x.symbol_url) for x in model.label_symbols] == [
        ("Separate collection", "separate_collection", "https://nordzelle.example/bin.svg"),
        ("Extinguishing agent: water", "extinguishing_agent", "https://nordzelle.example/fire.svg")]
    unmapped = {x["path"]: x["reason"] for x in res.report.unmapped}
    assert {"general_product_information.batteryPassportIdentifier", "carbon_footprint.absoluteCarbonFootprint",
            "performance_and_durability.batteryTechicalProperties.temperatureRangeIdleState",
            "performance_and_durability.batteryCondition.roundTripEfficiencyFade",
            "performance_and_durability.batteryCondition.evolutionOfSelfDischarge",
            # what the four modules hold and batteryloop does not: each listed with its reason
            "circularity.dismantlingAndRemovalInformation[0]", "circularity.dismantlingAndRemovalInformation[1].mimeType",
            "material_composition.batteryChemistry.clearName",
            "material_composition.batteryMaterials[0].batteryMaterialLocation.componentId",
            "material_composition.batteryMaterials[2].batteryMaterialLocation.componentName",
            "material_composition.hazardousSubstances[0].hazardousSubstanceImpact[0]",
            "supply_chain_due_diligence.thirdPartyAussurances", "supply_chain_due_diligence.supplyChainIndicies",
            "labels_and_certification.labels[0].labelingMeaning.de",
            "labels_and_certification.resultOfTestReport"} <= set(unmapped)
    assert all(unmapped.values())
    assert res.report.dropped == [] and res.report.missing == []


def test_single_module_and_missing_fields() -> None:
    res = formats.import_passport(codecs.BOM_UTF16_LE + json.dumps(FOOTPRINT).encode("utf-16-le"), "batterypass",
                                  lenient=True)
    assert res.model is None and res.model_fields["carbon_footprint"]["total_kgco2e_per_kwh"] == 71.0
    assert "model.model_id" in res.report.missing
    with pytest.raises(InvalidData) as exc:
        res.require()
    assert exc.value.errors[0]["rule"] == "required"


def test_strict_errors_name_path_rule_value() -> None:
    bad = json.loads(json.dumps(PASSPORT))
    bad["GeneralProductInformation"]["manufacturingDate"] = "2025-13-03T00:00:00Z"
    bad["GeneralProductInformation"]["batteryCategory"] = "portable-ish"
    bad["CarbonFootprintForBatteries"]["carbonFootprintPerLifecycleStage"][3]["lifecycleStage"] = "Use"
    bad["PerformanceAndDurability"]["batteryTechicalProperties"]["ratedEnergy"] = "78 kWh"
    with pytest.raises(InvalidData) as exc:
        formats.import_passport(json.dumps(bad), "batterypass", defaults=DEFAULTS)
    got = {(e["field"], e["rule"], e["value"]) for e in exc.value.errors}
    assert ("general_product_information.manufacturingDate", "datetime", "2025-13-03T00:00:00Z") in got
    assert ("general_product_information.batteryCategory", "enum", "portable-ish") in got
    assert ("carbon_footprint.carbonFootprintPerLifecycleStage[3].lifecycleStage", "enum", "Use") in got
    assert ("performance_and_durability.batteryTechicalProperties.ratedEnergy", "number", "78 kWh") in got
    # lenient: the valid rest is kept, each bad value is reported
    res = formats.import_passport(json.dumps(bad), "batterypass", lenient=True, defaults=DEFAULTS)
    assert {d["field"] for d in res.report.dropped} >= {"general_product_information.batteryCategory",
                                                        "performance_and_durability.batteryTechicalProperties.ratedEnergy"}
    assert res.model_fields["mass_kg"] == 455.5


def test_stages_that_do_not_add_up_are_refused() -> None:
    bad = json.loads(json.dumps(PASSPORT))
    bad["CarbonFootprintForBatteries"]["batteryCarbonFootprint"] = 90.0
    with pytest.raises(InvalidData) as exc:
        formats.import_passport(bad, "batterypass", defaults=DEFAULTS)
    assert any("sum of the four" in e["message"] for e in exc.value.errors)


def test_bad_encodings_and_not_batterypass() -> None:
    text = json.dumps(GENERAL)
    with pytest.raises(InvalidData) as exc:
        formats.import_passport(text.encode("utf-16-le"), "batterypass")  # UTF-16 without BOM
    assert exc.value.errors[0]["rule"] == "encoding"
    with pytest.raises(InvalidData) as exc:
        formats.import_passport({"hello": 1}, "batterypass")
    assert exc.value.errors[0]["rule"] == "format:batterypass"
    # an IDTA {part: payload} document is not taken for a Battery Pass one
    assert not batterypass.detect({"carbon_footprint": {}, "circularity": {}})
    # nor a Catena-X battery_pass (whose ``performance`` is no Battery Pass module)
    assert not batterypass.detect({"specVersion": "urn:io.catenax.battery.battery_pass:6.1.0", "performance": {}})


def test_a_remaining_capacity_in_ah_where_kwh_is_declared_is_caught() -> None:
    """remainingCapacity is declared in kWh by the 1.2 model; 214 (the ampere-hours of a 78 kWh pack) is refused
    by name, not read as 602.8 Ah."""
    bad = json.loads(json.dumps(PASSPORT))
    bad["PerformanceAndDurability"]["batteryCondition"]["remainingCapacity"]["remainingCapacityValue"] = 214.0
    res = formats.import_passport(json.dumps(bad), "batterypass", lenient=True, defaults=DEFAULTS)
    (d,) = [d for d in res.report.dropped if d["rule"] == "plausible_range"]
    assert d["field"].endswith("remainingCapacity.remainingCapacityValue") and "Ah?" in d["message"]
    assert res.battery.state_of_health.remaining_capacity_ah is None
