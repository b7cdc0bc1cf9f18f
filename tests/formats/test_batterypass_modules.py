"""Battery Pass 1.2 circularity, material composition, supply-chain due diligence and labelling: strict
errors name field, value and rule; lenient keeps the valid rest and lists every dropped value; our
passports round-trip through the module payloads (hypothesis) for every field both models hold.

No official Battery Pass payload is in ../shared: the payloads here follow the published SAMM models
(batterypass/BatteryPassDataModel, ``io.BatteryPass.<Module>/1.2.0/*.ttl``), including the shapes its
SAMM generator writes (multi-language text as ``{"en": …}``, masses in grams)."""

from __future__ import annotations

import codecs
import copy
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from batteryloop import formats
from batteryloop.errors import InvalidData
from batteryloop.formats import batterypass
from batteryloop.formats.base import PassportParts
from batteryloop.passport.model import BatteryData, BatteryModelData
from batteryloop.passport.tiers import Tier
from batteryloop.sim.pilot import battery_models, generate_batteries
from tests.formats.test_batterypass import CIRCULARITY, DUE_DILIGENCE, LABELING, MATERIALS

MODULES = {"circularity": CIRCULARITY, "materialComposition": MATERIALS, "supplyChainDueDiligence": DUE_DILIGENCE,
           "labels": LABELING}


def _bad() -> dict:
    d = copy.deepcopy(MODULES)
    c, mc, lab = d["circularity"], d["materialComposition"], d["labels"]
    c["dismantlingAndRemovalInformation"][0]["documentType"] = "Brochure"
    c["sparePartSources"][0]["emailAddressOfSupplier"] = "parts at nordzelle"
    c["recycledContent"][0]["postConsumerShare"] = 120.0
    c["recycledContent"][1]["recycledMaterial"] = "Copper"
    c["renewableContent"] = -3.0
    mc["batteryMaterials"][0]["batteryMaterialIdentifier"] = "7440-48-5"  # wrong CAS check digit
    mc["batteryMaterials"][1]["isCriticalRawMaterial"] = "yes"
    mc["hazardousSubstances"][0]["hazardousSubstanceClass"] = "Carcinogenic"
    d["supplyChainDueDiligence"]["supplyChainDueDiligenceReport"] = "telnet://192.0.2.16:80/"
    lab["labels"][1]["labelingSubject"] = "CE"
    lab["labels"][0]["labelingMeaning"] = ["Separate collection"]
    return d


EXPECTED = {  # (field in the payload, rule, value)
    ("circularity.dismantlingAndRemovalInformation[0].documentType", "enum", "Brochure"),
    ("circularity.sparePartSources[0].emailAddressOfSupplier", "email", "parts at nordzelle"),
    ("circularity.recycledContent[0].postConsumerShare", "percent", 120.0),
    ("circularity.recycledContent[1].recycledMaterial", "enum", "Copper"),
    ("circularity.renewableContent", "percent", -3.0),
    ("material_composition.batteryMaterials[1].isCriticalRawMaterial", "boolean", "yes"),
    ("material_composition.hazardousSubstances[0].hazardousSubstanceClass", "enum", "Carcinogenic"),
    ("supply_chain_due_diligence.supplyChainDueDiligenceReport", "string_pattern_mismatch", "telnet://192.0.2.16:80/"),
    ("labels_and_certification.labels[1].labelingSubject", "enum", "CE"),
    ("labels_and_certification.labels[0].labelingMeaning", "batterypass:multi_language_text", "['Separate collection']"),
}


def test_strict_names_field_value_and_rule_for_each_defect() -> None:
    with pytest.raises(InvalidData) as exc:
        formats.import_passport(json.dumps(_bad()), "batterypass")
    got = {(e["field"], e["rule"], e["value"]) for e in exc.value.errors}
    assert EXPECTED <= got
    # a wrong CAS number is a warning, not a refusal (issue 16): it is not among the errors
    assert not any("batteryMaterials[0]" in e["field"] for e in exc.value.errors)
    assert all(e["message"].startswith(e["field"]) for e in exc.value.errors)


def test_lenient_keeps_the_valid_part_and_reports_every_drop() -> None:
    res = formats.import_passport(codecs.BOM_UTF16_BE + json.dumps(_bad()).encode("utf-16-be"), "auto", lenient=True)
    assert res.report.format == "batterypass"
    dropped = {(d["field"], d["rule"]) for d in res.report.dropped}
    assert {(f, r) for f, r, _ in EXPECTED} <= dropped
    f = res.model_fields
    assert "due_diligence_report_url" not in f and "renewable_content_pct" not in f
    assert "recycled_content" not in f  # cobalt's post share is invalid: its pre share alone would understate it
    assert f["dismantling_information"]["manual_url"] == "https://nordzelle.example/dismantling.pdf"
    assert [p["part_number"] for p in f["spare_parts"]] == ["NZ-MOD-12", "NZ-BMS-3"]
    assert all("supplier_contact" not in p or p["supplier_contact"] == "https://nordzelle.example/parts"
               for p in f["spare_parts"])
    assert [x["material"] for x in f["detailed_composition"]["anode"]] == ["Graphite"]
    # the bad CAS number is left out with a warning; the material stays
    assert f["detailed_composition"]["cathode"] == [{"material": "Cobalt", "mass_kg": 4.1}]
    (w,) = [d for d in res.report.dropped if d["rule"] == "batterypass:cas"]
    assert w["field"] == "material_composition.batteryMaterials[0].batteryMaterialIdentifier"
    assert w["severity"] == "warning" and "check digit" in w["message"] and w["value"] == "7440-48-5"
    assert f["hazardous_substances"][0]["name"] == "lithium hexafluorophosphate"
    # the first meaning is malformed: the label's subject stands in; the second keeps its meaning (subject "CE" dropped)
    assert f["labels"] == ["SeparateCollection", "Extinguishing agent: water"]
    assert f["declaration_of_conformity_url"] == "https://nordzelle.example/doc.pdf"
    assert f["chemistry"] == "NMC811"


def test_generator_shaped_payload_extremes_are_caught() -> None:
    """The SAMM generator fills examples with float extremes and non-web URIs: each is an error, not data."""
    doc = {"circularity": {"renewableContent": -2.894541e38,
                           "recycledContent": [{"preConsumerShare": 30.78, "recycledMaterial": "Cobalt",
                                                "postConsumerShare": 26.27}],
                           "safetyMeasures": {"safetyInstructions": "http://www.ietf.org/rfc/rfc2396.txt",
                                              "extinguishingAgent": ["RYtGKbgicZaHCBRQDSx"]}},
           "materialComposition": {"batteryMaterials": [{
               "batteryMaterialIdentifier": "7439-93-2", "batteryMaterialMass": 1.6111172e38,
               "batteryMaterialName": "Lithium", "batteryMaterialLocation": {"componentName": "Anode"},
               "isCriticalRawMaterial": True}]}}
    with pytest.raises(InvalidData) as exc:
        batterypass.import_payload(doc)
    assert ("circularity.renewableContent", "percent") in {(e["field"], e["rule"]) for e in exc.value.errors}
    res = batterypass.import_payload(doc, lenient=True)
    assert res.model_fields["recycled_content"] == {"cobalt_pct": 57.05, "cobalt_pre_consumer_pct": 30.78,
                                                    "cobalt_post_consumer_pct": 26.27}
    assert res.model_fields["critical_raw_materials"] == ["Lithium"]


def test_public_export_carries_public_fields_only() -> None:
    m = BatteryModelData.model_validate(battery_models()[0])
    raw = next(generate_batteries(1, seed=5))
    b = BatteryData.model_validate({**raw, "model_id": m.model_id, "passport_id": "BL.X." + raw["serial_number"]})
    pub = batterypass.export(PassportParts.from_data(m, b, {Tier.PUBLIC})).payload
    assert "sparePartSources" not in pub["circularity"] and "dismantlingAndRemovalInformation" not in pub["circularity"]
    assert "safetyInstructions" not in pub["circularity"].get("safetyMeasures", {})
    assert "batteryMaterials" not in pub["materialComposition"]
    # of the battery condition only the model's public rating (round-trip efficiency at 50 % life) remains
    assert pub["performance"]["batteryCondition"] == {"roundTripEfficiencyat50PerCentCycleLife":
                                                      m.round_trip_efficiency_at_50pct_cycle_life_pct}
    assert pub["circularity"]["renewableContent"] == m.renewable_content_pct
    full = batterypass.export(PassportParts.from_data(m, b)).payload
    assert full["circularity"]["sparePartSources"] and full["materialComposition"]["batteryMaterials"]
    assert full["performance"]["batteryCondition"]["stateOfCertifiedEnergy"]["stateOfCertifiedEnergyValue"] == \
        b.state_of_health.state_of_certified_energy_pct


# ------------------------------------------------------------------------------ round trip (hypothesis)
MODEL_BASE = battery_models()
text = st.text(st.characters(min_codepoint=0x21, max_codepoint=0x2FF, blacklist_categories=("Cs",)), min_size=1,
               max_size=30).map(str.strip).filter(bool)
url = st.from_regex(r"https://[a-z]{3,12}\.example/[a-z0-9]{1,12}\.pdf", fullmatch=True)
pct = st.floats(0, 100, allow_nan=False).map(lambda x: round(x, 3))
CAS = ["7440-48-4", "7782-42-5", "7429-90-5", "21324-40-3", "96-49-1", "7439-93-2", "7440-02-0"]


@st.composite
def model_variants(draw):
    raw = copy.deepcopy(MODEL_BASE[draw(st.integers(0, len(MODEL_BASE) - 1))])
    raw["due_diligence_report_url"] = draw(url)
    raw["declaration_of_conformity_url"] = draw(url)
    raw["renewable_content_pct"] = draw(pct)
    rc: dict = {}
    for k in ("cobalt", "lithium", "nickel", "lead"):
        if draw(st.booleans()):
            pre, post = draw(st.floats(0, 50).map(lambda x: round(x, 2))), draw(st.floats(0, 50).map(lambda x: round(x, 2)))
            rc[f"{k}_pct"] = round(pre + post, 2)
            if draw(st.booleans()):  # the pre-/post-consumer split, when known, adds up to the share
                rc[f"{k}_pre_consumer_pct"], rc[f"{k}_post_consumer_pct"] = pre, round(rc[f"{k}_pct"] - pre, 2)
    raw["recycled_content"] = rc or None  # an empty declaration is no declaration
    raw["labels"] = draw(st.lists(text, max_size=4))
    raw["label_symbols"] = [{"label": lab, "subject": draw(st.sampled_from(
        ["separate_collection", "hazardous_substance", "carbon_footprint", "extinguishing_agent"])), "symbol_url": draw(url)}
        for lab in dict.fromkeys(raw["labels"]) if draw(st.booleans())]
    raw["extinguishing_agent"] = draw(st.lists(text, max_size=3))
    raw["safety_measures"] = []  # texts: Battery Pass links the safety instructions only
    for key in ("safety_instructions_url", "collection_information_url", "waste_prevention_url",
                "separate_collection_url", "cycle_life_test_url"):
        raw[key] = draw(st.one_of(st.none(), url))
    raw.pop("collection_information")  # a text: not carried
    raw.pop("cycle_life_test_reference")  # a text: not carried
    raw["expected_lifetime_years"] = draw(st.one_of(st.none(), st.integers(1, 40)))
    raw["initial_self_discharge_pct_per_month"] = draw(st.one_of(st.none(), pct))
    raw["power_energy_ratio_per_h"] = draw(st.one_of(st.none(), st.floats(0.1, 20).map(lambda x: round(x, 3))))
    socs = draw(st.lists(st.sampled_from([10.0, 20.0, 50.0, 80.0, 95.0]), unique=True, max_size=3))
    raw["original_power_capability_at_soc"] = [
        {"state_of_charge_pct": s, "power_w": draw(st.floats(1000, 400000).map(lambda x: round(x, 1)))} for s in socs]
    raw["dismantling_information"] = {"manual_url": draw(url)} if draw(st.booleans()) else None
    raw["spare_parts"] = [{"part_number": draw(st.from_regex(r"[A-Z]{2}-[0-9]{1,4}", fullmatch=True)),
                           "name": draw(text), "supplier_name": draw(text),
                           "supplier_address": draw(st.sampled_from(["Am Hafen 9, 38100 Salzgitter, DE",
                                                                     "1-2-3 Moriguchi, 570-8511 Osaka, JP"])),
                           "supplier_email": draw(st.sampled_from(["parts@cells.example", "service@x.example"])),
                           "supplier_web_url": draw(st.sampled_from(["https://cells.example/p", "https://x.example/"]))}
                          for _ in range(draw(st.integers(0, 3)))]
    comp: dict = {"cathode": [], "anode": [], "electrolyte": [], "other": []}
    crm = []
    for i, cas in enumerate(draw(st.lists(st.sampled_from(CAS), unique=True, max_size=5))):
        loc = draw(st.sampled_from(list(comp)))
        name = f"material {i} {draw(text)}"
        comp[loc].append({"material": name, "cas_number": cas,
                          "mass_kg": draw(st.floats(0.001, 500, allow_nan=False).map(lambda x: round(x, 3)))})
        if draw(st.booleans()):
            crm.append(name)
    raw["detailed_composition"] = comp if any(comp.values()) else None
    raw["critical_raw_materials"] = sorted(crm)
    raw["hazardous_substances"] = [
        {"name": draw(text), "cas_number": draw(st.sampled_from(CAS)), "concentration_pct": draw(pct),
         "location": draw(st.sampled_from(["Cathode", "Electrolyte", "cell housing"])),
         "hazard_class": draw(st.sampled_from(["AcuteToxicity", "EyeDamageOrIrritation", "Carc. 1B", "Acute Tox. 3"]))}
        for _ in range(draw(st.integers(0, 3)))]
    raw["chemistry"] = draw(st.sampled_from(["NMC811", "NMC622", "LFP", "NCA", "LMFP"]))
    raw["test_reports"] = []
    return BatteryModelData.model_validate({k: v for k, v in raw.items() if v is not None})


ROUND_TRIP = ("due_diligence_report_url", "declaration_of_conformity_url", "renewable_content_pct", "recycled_content",
              "labels", "extinguishing_agent", "safety_measures", "dismantling_information",
              "spare_parts", "detailed_composition", "critical_raw_materials", "hazardous_substances", "chemistry",
              # the Annex XIII values issue 16 added to the passport
              "label_symbols", "safety_instructions_url", "collection_information_url", "waste_prevention_url",
              "separate_collection_url", "cycle_life_test_url", "expected_lifetime_years",
              "initial_self_discharge_pct_per_month", "power_energy_ratio_per_h", "original_power_capability_at_soc")


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(model_variants(), st.sampled_from(["utf-8", "utf-8-sig", "utf-16"]))
def test_round_trip_keeps_every_field_both_models_hold(m, enc) -> None:  # type: ignore[no-untyped-def]
    raw = next(generate_batteries(1, seed=11))
    b = BatteryData.model_validate({**raw, "model_id": m.model_id, "passport_id": "BL.X." + raw["serial_number"]})
    out = batterypass.export(PassportParts.from_data(m, b))
    back = formats.import_passport(json.dumps(out.payload).encode(enc), "auto", lenient=True,
                                   defaults={"model_id": m.model_id, "model_name": m.model_name,
                                             "serial_number": b.serial_number})
    assert back.report.dropped == []
    # strict refuses it: the schemas require properties batteryloop does not hold, each named
    with pytest.raises(InvalidData) as exc:
        formats.import_passport(json.dumps(out.payload).encode(enc), "batterypass")
    assert {e["field"] for e in exc.value.errors if e["rule"] == "schema:required"} >= \
        {"performance_and_durability.batteryTechicalProperties.temperatureRangeIdleState"}
    model, battery = back.require()
    for f in ROUND_TRIP:
        assert getattr(model, f) == getattr(m, f), f
    for f in ("passport_id", "economic_operator_id", "economic_operator_name", "economic_operator_address",
              "manufacture_date", "manufacture_country", "manufacture_postal_code", "status",
              "putting_into_service_date", "state_of_health"):
        assert getattr(battery, f) == getattr(b, f), f
    for f in ("time_above_extreme_temperature_h", "time_below_extreme_temperature_h",
              "time_above_extreme_temperature_charging_h", "time_below_extreme_temperature_charging_h"):
        assert getattr(battery.usage, f) == getattr(b.usage, f), f
    for f in ("rated_capacity_ah", "rated_energy_kwh", "nominal_voltage_v", "min_voltage_v", "max_voltage_v",
              "expected_lifetime_cycles", "internal_resistance_pack_mohm", "internal_resistance_cell_mohm",
              "mass_kg", "manufacturer_id", "manufacturer_name", "manufacturer_address",
              "carbon_footprint", "category"):
        assert getattr(model, f) == getattr(m, f), f
    # warrentyPeriod is xsd:gMonth (--01 … --12): a warranty of more than a year does not travel
    assert model.warranty_years == (m.warranty_years if m.warranty_years and m.warranty_years * 12 <= 12 else None)


def test_spare_parts_of_interleaved_suppliers_come_back_in_their_order() -> None:
    """Battery Pass lists spare parts per supplier (sparePartSources[].components[]). Parts from suppliers
    A, B, A are written as three sources (one per run of the same supplier), so the import gives A, B, A
    back in that order — grouping all of A's parts first would return A, A, B (hypothesis found this
    with suppliers "0", "00", "0")."""
    m = battery_models()[0]
    parts = [{"part_number": "AA-1", "name": "cell module", "supplier_name": "A", "supplier_contact": "a@x.example"},
             {"part_number": "BB-2", "name": "BMS board", "supplier_name": "B", "supplier_contact": "b@x.example"},
             {"part_number": "AA-3", "name": "busbar", "supplier_name": "A", "supplier_contact": "a@x.example"}]
    m = BatteryModelData.model_validate({**m, "spare_parts": parts})
    raw = next(generate_batteries(1, seed=11))
    b = BatteryData.model_validate({**raw, "model_id": m.model_id, "passport_id": "BL.X." + raw["serial_number"]})
    out = batterypass.export(PassportParts.from_data(m, b))
    sources = out.payload["circularity"]["sparePartSources"]
    back = formats.import_passport(json.dumps(out.payload).encode(), "auto", lenient=True,
                                   defaults={"model_id": m.model_id, "model_name": m.model_name,
                                             "serial_number": b.serial_number})
    model, _ = back.require()
    assert [p.part_number for p in model.spare_parts] == ["AA-1", "BB-2", "AA-3"]
    assert [p.supplier_name for p in model.spare_parts] == ["A", "B", "A"]
    assert [s["nameOfSupplier"] for s in sources] == ["A", "B", "A"]
