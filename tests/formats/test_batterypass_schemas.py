"""Battery Pass 1.2 against the consortium's own JSON schemas and example payloads (issue 16).

The schemas and examples are the consortium's files, vendored byte for byte (batterypass/BatteryPassDataModel
@ 4c96de2, CC-BY-4.0): the schemas in ``src/batteryloop/formats/batterypass_1_2/``, the examples in
``tests/fixtures/batterypass-1.2/``. The validation here uses jsonschema directly on the schema files, with the
validator class of the draft the schema names (draft-04) and its format checker, not our own module.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from jsonschema import validators

from batteryloop import formats
from batteryloop.errors import InvalidData
from batteryloop.formats import batterypass
from batteryloop.formats.base import PassportParts
from batteryloop.passport.model import BatteryData, BatteryModelData
from batteryloop.passport.tiers import Tier
from batteryloop.sim import pilot

ROOT = Path(__file__).resolve().parents[2]
SCHEMAS = ROOT / "src" / "batteryloop" / "formats" / "batterypass_1_2"
EXAMPLES = ROOT / "tests" / "fixtures" / "batterypass-1.2"
FILES = {"generalProductInformation": "GeneralProductInformation", "carbonFootprint": "CarbonFootprintForBatteries",
         "performance": "PerformanceAndDurability", "circularity": "Circularity",
         "materialComposition": "MaterialComposition", "supplyChainDueDiligence": "SupplyChainDueDiligence",
         "labels": "Labeling"}
TIERS = {"public": {Tier.PUBLIC}, "legitimate_interest": {Tier.PUBLIC, Tier.LEGITIMATE_INTEREST},
         "authority": {Tier.PUBLIC, Tier.AUTHORITY}, "all": set(Tier)}
KINDS = ("original", "original-no-soh", "repurposed", "reused", "remanufactured", "waste", "recycled",
         "not-in-service", "original-owned")


def read(path: Path) -> object:
    raw = path.read_bytes()
    return json.loads(raw.decode("utf-16") if raw.startswith((b"\xff\xfe", b"\xfe\xff")) else raw.decode("utf-8-sig"))


def _validator(name: str):  # type: ignore[no-untyped-def]
    text = json.dumps(read(SCHEMAS / f"{name}-schema.json"))
    # the one upstream slip (SOURCES.md): the e-mail pattern lost its backslashes
    text = text.replace(json.dumps("^[w.-]+@[w.-]+.[A-Za-z]{2,}$"), json.dumps(r"^[\w.-]+@[\w.-]+\.[A-Za-z]{2,}$"))
    schema = json.loads(text)
    cls = validators.validator_for(schema)
    assert cls.__name__ == "Draft4Validator"  # "$schema": draft-04
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


VALIDATORS = {key: _validator(name) for key, name in FILES.items()}


def demo_passports() -> list[tuple[str, BatteryModelData, BatteryData, bool]]:
    """The format tests' nine pilot packs (tests/formats/conftest.py: generate_batteries(9, seed=7)), one per
    passport kind: (kind, model, battery, archived)."""
    models = {m["model_id"]: m for m in pilot.battery_models()}
    out = []
    for kind, raw in zip(KINDS, pilot.generate_batteries(9, seed=7, today=datetime(2026, 6, 1).date()), strict=True):
        raw = {**raw, "passport_id": f"BL.{raw['economic_operator_id']}.{raw['serial_number']}"}
        status = kind.split("-")[0] if kind.split("-")[0] in {s for s in KINDS} else "original"
        raw["status"] = status if status not in ("not", "original") else "original"
        if kind == "original-no-soh":
            raw.pop("state_of_health")
        if kind == "not-in-service":
            raw.pop("putting_into_service_date", None)
        if kind in ("repurposed", "remanufactured"):
            raw["predecessor_ids"] = [f"BL.{raw['economic_operator_id']}.PREV-{raw['serial_number']}"]
        if kind == "original-owned":
            raw["owner_id"] = pilot.BAAS
        m = BatteryModelData.model_validate(models[raw["model_id"]])
        out.append((kind, m, BatteryData.model_validate(raw), kind == "recycled"))
    return out


DEMO = demo_passports()


def test_the_vendored_schemas_are_the_consortiums(shared_dir: Path) -> None:
    for name in FILES.values():
        ours = (SCHEMAS / f"{name}-schema.json").read_bytes()
        assert ours == (shared_dir / "fixtures" / "batterypass-schemas-1.2" / f"{name}-schema.json").read_bytes()
    assert len(list(EXAMPLES.glob("*.json"))) == 7
    assert "CC-BY-4.0" in (SCHEMAS / "README.md").read_text() and "CC-BY-4.0" in (EXAMPLES / "README.md").read_text()


@pytest.mark.parametrize("tier", list(TIERS))
def test_every_module_of_every_demo_passport_conforms(tier: str) -> None:
    """Every value written passes the consortium's schema (types, patterns, formats, enumerations); every
    required property left out is one batteryloop does not hold or the tier withholds, listed in the report."""
    valid = 0
    for kind, m, b, archived in DEMO:
        res = batterypass.export(PassportParts.from_data(m, b, TIERS[tier], archived=archived))
        holes = {p["path"] for p in res.report.placeholders}
        assert all(p["reason"].startswith(("not declared (", "withheld (access tier)", "module left out"))
                   for p in res.report.placeholders)
        for key, v in VALIDATORS.items():
            if key not in res.payload:
                assert key in holes, (kind, key)
                continue
            errors = list(v.iter_errors(res.payload[key]))
            valid += not errors
            for e in errors:
                assert e.validator == "required", (kind, key, list(e.absolute_path), e.message)
                missing = e.message.split("'")[1]
                path = key + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in e.absolute_path)
                assert f"{path}.{missing}" in holes, (kind, path, missing)
    # measured (docs/formats.md): below legitimate interest the tier withholds what the schemas require (the status,
    # the battery condition, spare parts, dismantling documents); at every tier three schema defects fail
    # GeneralProductInformation, PerformanceAndDurability and, for NMC/NCA, MaterialComposition (see the next test)
    # (the catalogue declared performance class "C" while no class limits are adopted; now it declares none, and
    # the CarbonFootprint module, which requires one, is not valid whole at any tier: 9 modules fewer)
    assert valid == {"public": 9, "legitimate_interest": 21, "authority": 18, "all": 30}[tier]


#: the consortium's 1.2 schemas cannot hold these values of ours at all (docs/formats.md "schema defects"): the
#: required property that would carry one is left out, and its module is counted as not valid whole for it
SCHEMA_DEFECTS = {
    # xsd:gMonth --01…--12: an 8-year warranty has no encoding
    ("generalProductInformation", "warrentyPeriod"),
    # one temperature where Annex XIII and the property's own description ask for a range
    ("performance.batteryTechicalProperties", "temperatureRangeIdleState"),
    # three classes only: a carcinogenic cathode (Carc. 1A) has none
    ("materialComposition.hazardousSubstances[]", "hazardousSubstanceClass"),
    # required, but no performance-class limits are adopted yet (Art. 7(2)): no class can be declared honestly
    ("carbonFootprint", "carbonFootprintPerformanceClass"),
}


def test_the_consortium_schemas_on_the_demo_passports_at_the_full_tier() -> None:
    """Issue 16's figure, counted with the consortium's own schemas (jsonschema on the vendored files): of the 63
    module payloads of the nine demo passports at the full tier, 30 are valid whole; every other one misses only
    required properties that a schema defect (or the performance class no limits exist for yet) leaves no honest
    encoding for, except two modules of the two kinds built without the data (no state of health measured yet; not
    yet put into service). Set those four aside, and 61 of 63 pass."""
    whole, but_for_defects = 0, 0
    failing: dict[str, set[tuple[str, str]]] = {}
    for kind, m, b, archived in DEMO:
        payload = batterypass.export(PassportParts.from_data(m, b, TIERS["all"], archived=archived)).payload
        for key, v in VALIDATORS.items():
            missing = set()
            for e in v.iter_errors(payload[key]):
                assert e.validator == "required", (kind, key, e.message)
                path = key + "".join("[]" if isinstance(p, int) else f".{p}" for p in e.absolute_path)
                missing.add((path, e.message.split("'")[1]))
            whole += not missing
            but_for_defects += not (missing - SCHEMA_DEFECTS)
            if missing - SCHEMA_DEFECTS:
                failing[f"{kind}:{key}"] = missing - SCHEMA_DEFECTS
    assert (whole, but_for_defects) == (30, 61)
    assert set(failing) == {"original-no-soh:performance", "not-in-service:generalProductInformation"}
    assert failing["not-in-service:generalProductInformation"] == {("generalProductInformation", "puttingIntoService")}
    assert {p for _, p in failing["original-no-soh:performance"]} >= {"capacityFade", "stateOfCertifiedEnergy"}
    # the defects are named in the export's report, with the one wording of batterypass.NOT_CARRIED
    kind, m, b, archived = DEMO[0]
    res = batterypass.export(PassportParts.from_data(m, b, TIERS["all"], archived=archived))
    reasons = {p["path"]: p["reason"] for p in res.report.placeholders}
    assert batterypass.NOT_CARRIED["model.warranty_years"] in reasons["generalProductInformation.warrentyPeriod"]
    assert "schema defect" in reasons["performance.batteryTechicalProperties.temperatureRangeIdleState"]


def test_no_placeholder_looks_like_a_value() -> None:
    far = datetime(2099, 1, 1, tzinfo=UTC)
    for kind, m, b, archived in DEMO:
        for tier, ts in TIERS.items():
            p = PassportParts.from_data(m, b, ts, archived=archived)
            p.now = far
            out = batterypass.export(p).payload
            text = json.dumps(out)
            assert "2099" not in text  # the export time never stands in for a measurement time
            g = out["generalProductInformation"]
            if Tier.LEGITIMATE_INTEREST in ts:
                assert g["batteryStatus"] == {"recycled": "Waste"}.get(b.status.value, b.status.value.capitalize())
            else:
                assert "batteryStatus" not in g  # withheld: left out, never 'Original'
            for rc in out.get("circularity", {}).get("recycledContent", []):
                metal = rc["recycledMaterial"].lower()
                split = m.recycled_content.model_dump() if m.recycled_content else {}
                if split.get(f"{metal}_pre_consumer_pct") is None:
                    assert "preConsumerShare" not in rc  # batteryloop does not know the split: no 0 %
                else:
                    assert rc["preConsumerShare"] == split[f"{metal}_pre_consumer_pct"]
            cond = out.get("performance", {}).get("batteryCondition", {})
            if b.state_of_health is None or Tier.LEGITIMATE_INTEREST not in ts:
                assert "stateOfCharge" not in cond and "capacityFade" not in cond
            assert g["warrentyPeriod"] if "warrentyPeriod" in g else m.warranty_years * 12 > 12


def test_gmonth_warranty_and_passport_urn() -> None:
    kind, m, b, _ = DEMO[0]
    m6 = m.model_copy(update={"warranty_years": 0.5})
    g = batterypass.export(PassportParts.from_data(m6, b)).payload["generalProductInformation"]
    assert g["warrentyPeriod"] == "--06"
    assert g["batteryPassportIdentifier"].startswith("urn:batteryloop:")
    back = batterypass.import_payload({"generalProductInformation": g}, lenient=True)
    assert back.model_fields["warranty_years"] == 0.5
    assert batterypass.import_payload({"generalProductInformation": {**g, "warrentyPeriod": "--12+01:00"}},
                                      lenient=True).model_fields["warranty_years"] == 1.0


def test_strict_import_names_every_schema_error() -> None:
    doc = read(EXAMPLES / "GeneralProductInformation-payload.json")
    assert isinstance(doc, dict)
    bad = {**doc, "warrentyPeriod": 96, "batteryStatus": "Recycled", "manufacturingDate": "yesterday",
           "batteryPassportIdentifier": "URN:BMWK:1-2"}
    del bad["productIdentifier"]
    with pytest.raises(InvalidData) as exc:
        batterypass.import_payload(bad)
    got = {(e["field"], e["rule"]) for e in exc.value.errors}
    p = "general_product_information"
    assert {(f"{p}.warrentyPeriod", "schema:type"), (f"{p}.batteryStatus", "schema:enum"),
            (f"{p}.manufacturingDate", "schema:format"), (f"{p}.batteryPassportIdentifier", "schema:pattern"),
            (f"{p}.productIdentifier", "schema:required"),
            # the upstream e-mail pattern, corrected, refuses the generator's junk address ("…w%mKozizk…")
            (f"{p}.operatorInformation.emailAddress", "schema:pattern")} <= got
    assert all(e["message"].startswith(e["field"]) for e in exc.value.errors)
    assert "(and " in str(exc.value.detail if hasattr(exc.value, "detail") else exc.value)


# (example file, fields dropped by the lenient import and why, values imported)
EXPECTED = {
    "CarbonFootprintForBatteries-payload.json": (
        {("carbon_footprint.batteryCarbonFootprint", "greater_than")}, {}, {}),
    "Circularity.json": (
        {("circularity.recycledContent[0].postConsumerShare", "percent"), ("circularity.renewableContent", "percent")},
        {"extinguishing_agent": ["RYtGKbgicZaHCBRQDSx"], "safety_instructions_url": "http://www.ietf.org/rfc/rfc2396.txt",
         "collection_information": "telnet://192.0.2.16:80/"}, {}),
    "GeneralProductInformation-payload.json": (
        {("general_product_information.manufacturerInformation.identifier", "value_error"),
         ("general_product_information.operatorInformation.identifier", "value_error"),
         ("general_product_information.productIdentifier", "identifier")},
        {"category": "lmt", "mass_kg": 699.0, "warranty_years": 0.5, "manufacturer_name": "yedUsFwdkelQbxeTeQOvaScfqIOOmaa",
         "manufacturer_address": "Hindenburgstr. 10, 10719, Germany"},
        {"status": "original", "manufacture_country": "DE",
         "manufacture_site": "Hindenburgstr. 10", "manufacture_postal_code": "10719", "manufacture_date": "2025-06-17"}),
    "Labeling-payload.json": (
        {("labels_and_certification.declarationOfConformity", "string_pattern_mismatch"),
         ("labels_and_certification.resultOfTestReport", "string_pattern_mismatch")},
        {"labels": ["Separate Collection"]}, {}),
    "MaterialComposition-payload.json": (
        {("material_composition.batteryChemistry.shortName", "chemistry"),
         ("material_composition.hazardousSubstances[0].hazardousSubstanceIdentifier", "batterypass:cas"),
         ("material_composition.hazardousSubstances[0]", "greater_than_equal")},
        {"critical_raw_materials": ["Lithium"]}, {}),
    "PerformanceAndDurability-payload.json": (
        {("performance_and_durability.batteryTechicalProperties.ratedEnergy", "plausible_range"),
         ("performance_and_durability.batteryTechicalProperties.ratedCapacity", "plausible_range"),
         ("performance_and_durability.batteryTechicalProperties.minimumVoltage", "plausible_range"),
         ("performance_and_durability.batteryTechicalProperties.roundtripEfficiency", "less_than_equal"),
         ("performance_and_durability.batteryCondition.numberOfFullCycles.numberOfFullCyclesValue", "greater_than_equal")},
        {"cycle_life_test_reference": "telnet://192.0.2.16:80/"}, {}),
    "SupplyChainDueDiligence-payload.json": (
        {("supply_chain_due_diligence.supplyChainDueDiligenceReport", "string_pattern_mismatch")}, {}, {}),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_official_example_strict_refuses_lenient_imports_with_its_report(name: str) -> None:
    raw = (EXAMPLES / name).read_bytes()
    with pytest.raises(InvalidData) as exc:
        batterypass.import_payload(raw)
    assert exc.value.errors and all(e["message"] and e["field"] for e in exc.value.errors)
    res = formats.import_passport(raw, "batterypass", lenient=True)
    assert res.report.format == "batterypass"
    dropped, model_fields, battery_fields = EXPECTED[name]
    assert dropped <= {(d["field"], d["rule"]) for d in res.report.dropped}
    assert all(d["message"].startswith(d["field"]) for d in res.report.dropped)
    for k, v in model_fields.items():
        got = res.model_fields[k]
        assert (got == v) if not isinstance(v, float) else got == pytest.approx(v), k
    for k, v in battery_fields.items():
        assert res.battery_fields[k] == v, k
    # what the format holds and batteryloop does not is listed with a reason
    assert all(u["reason"] for u in res.report.unmapped)


def test_the_cas_warning_keeps_the_substance() -> None:
    res = batterypass.import_payload((EXAMPLES / "MaterialComposition-payload.json").read_bytes(), lenient=True)
    (w,) = [d for d in res.report.dropped if d["rule"] == "batterypass:cas"]
    assert w["value"] == "37-70-2" and w["severity"] == "warning" and "check digit" in w["message"]
    # the material with the trailing blank in its CAS number: a schema warning, the number kept without it
    assert res.model_fields["detailed_composition"]["anode"][0]["cas_number"] == "7439-93-2"
    assert ("material_composition.batteryMaterials[0].batteryMaterialIdentifier", "schema:pattern") in {
        (e["field"], e["rule"]) for e in res.report.schema_errors}
    # an EC number where a CAS number belongs: named as such, a warning, not a refusal
    doc = {"materialComposition": {"hazardousSubstances": [{"hazardousSubstanceName": "lithium hexafluorophosphate",
                                                            "hazardousSubstanceIdentifier": "244-334-7"}]}}
    res = batterypass.import_payload(doc, lenient=True)
    (w,) = [d for d in res.report.dropped if d["rule"] == "batterypass:cas"]
    assert "EC number" in w["message"]
    assert res.model_fields["hazardous_substances"] == [{"name": "lithium hexafluorophosphate"}]


# ------------------------------------------------------------------------------ round trip through a store
CARRIED_BATTERY = ("passport_id", "economic_operator_id", "economic_operator_name", "economic_operator_address",
                   "manufacture_date", "manufacture_site", "manufacture_postal_code", "manufacture_country",
                   "putting_into_service_date", "state_of_health", "usage")


def _store_export(services, caller, payload: dict, ts: set[Tier], b: BatteryData, m: BatteryModelData) -> dict:  # type: ignore[no-untyped-def]
    from batteryloop.passport.service import import_standard_payload

    res = import_standard_payload(services.passports, caller, json.dumps(payload).encode(), fmt="batterypass",
                                  lenient=True, defaults={"model_id": m.model_id, "model_name": m.model_name,
                                                          "serial_number": b.serial_number})
    assert res["report"]["dropped"] == []
    # the report says what the format cannot carry
    (nc,) = [u for u in res["report"]["unmapped"] if u["path"] == batterypass.NOT_CARRIED_PATH]
    assert "battery.predecessor_ids" in nc["reason"] and "the archive state" in nc["reason"]
    view = services.passports.export(b.passport_id, frozenset(ts))
    return formats.export_view("batterypass", view).payload


@pytest.mark.parametrize("tier", ["public", "authority"])
def test_a_tier_without_the_status_builds_no_battery(tier: str) -> None:
    """The status is legitimate-interest data (Annex XIII 4): a public or authority export leaves it out, and
    its import names battery.status as missing instead of reading an absent status as 'original'."""
    for kind, m, b, archived in DEMO:
        first = batterypass.export(PassportParts.from_data(m, b, TIERS[tier], archived=archived))
        res = batterypass.import_payload(first.payload, lenient=True,
                                         defaults={"model_id": m.model_id, "model_name": m.model_name,
                                                   "serial_number": b.serial_number})
        assert res.battery is None and "battery.status" in res.report.missing, kind
        assert res.battery_fields["passport_id"] == b.passport_id
        with pytest.raises(InvalidData, match="battery.status"):
            res.require()


@pytest.mark.parametrize("tier", ["legitimate_interest", "all"])
def test_round_trip_through_a_fresh_store_keeps_what_the_format_carries(tier: str, services) -> None:  # type: ignore[no-untyped-def]
    """Every passport kind at the tiers that carry the status: export → import into a fresh store (lenient; the
    defaults give what the format lacks: model id and name, serial number) → export again gives the same
    modules; the status never turns active; the manufacturing site comes back without the country."""
    from batteryloop.access import Caller
    from batteryloop.participants import Role

    for p in pilot.PARTICIPANTS:
        services.participants.create(p)
    op = Caller(pilot.AUTOMAKER, frozenset(Role(r) for r in next(
        x for x in pilot.PARTICIPANTS if x["id"] == pilot.AUTOMAKER)["roles"]))
    ts = TIERS[tier]
    for kind, m, b, archived in DEMO:
        if True:
            first = batterypass.export(PassportParts.from_data(m, b, ts, archived=archived))
            again = _store_export(services, op, first.payload, ts, b, m)
            assert again == first.payload, (kind, tier)
            rec = services.passports.get_record(b.passport_id)
            assert rec.status == ("waste" if b.status.value == "recycled" else b.status.value)
            assert rec.status not in ("original", "reused", "repurposed", "remanufactured") or not archived
            got = services.passports.export(b.passport_id, frozenset(ts))["battery"]
            want = b.model_dump(mode="json", exclude_none=True)
            for f in CARRIED_BATTERY:
                if f == "usage" and f in want:
                    for k in ("deep_discharge_events", "min_operating_temperature_c", "max_operating_temperature_c"):
                        want[f].pop(k)
                    if "state_of_health" not in want:  # no measurement time for lastUpdate: timed values stay home
                        want[f] = {k: v for k, v in want[f].items() if k in ("energy_throughput_kwh", "negative_events")}
                assert got.get(f) == want.get(f), (kind, tier, f)
            assert not got["manufacture_site"].endswith(", " + b.manufacture_country)


def test_import_standard_help_lists_batterypass() -> None:
    from typer.testing import CliRunner

    from batteryloop.cli import app

    res = CliRunner().invoke(app, ["passport", "import-standard", "--help"], env={"COLUMNS": "200"})
    assert res.exit_code == 0
    assert "auto, catenax, idta-samm, batterypass, aas-json or aasx" in " ".join(res.output.split())


MODULE_OF_EXAMPLE = {"GeneralProductInformation-payload.json": "generalProductInformation",
                     "CarbonFootprintForBatteries-payload.json": "carbonFootprint",
                     "PerformanceAndDurability-payload.json": "performance", "Circularity.json": "circularity",
                     "MaterialComposition-payload.json": "materialComposition",
                     "SupplyChainDueDiligence-payload.json": "supplyChainDueDiligence", "Labeling-payload.json": "labels"}


def test_the_seven_examples_together_import_leniently_through_import_standard(services) -> None:  # type: ignore[no-untyped-def]
    """All seven official examples as one passport, through the import-standard path: strict refuses, naming
    every problem; lenient stores a passport of what is valid, with the defaults standing in for what the
    examples lack or give as junk, and reports every value dropped."""
    from batteryloop.access import Caller
    from batteryloop.participants import Role
    from batteryloop.passport.service import import_standard_payload

    for p in pilot.PARTICIPANTS:
        services.participants.create(p)
    op = Caller(pilot.AUTOMAKER, frozenset(Role(r) for r in next(
        x for x in pilot.PARTICIPANTS if x["id"] == pilot.AUTOMAKER)["roles"]))
    doc = json.dumps({key: read(EXAMPLES / name) for name, key in MODULE_OF_EXAMPLE.items()}).encode()
    defaults = {"model_id": "BP-EXAMPLE", "model_name": "Battery Pass example", "serial_number": "EX-1",
                "passport_id": f"BL.{pilot.AUTOMAKER}.EX-1",  # the example's productIdentifier is no ISO/IEC 15459 id
                "manufacturer_id": pilot.AUTOMAKER, "economic_operator_id": pilot.AUTOMAKER, "chemistry": "NMC811",
                "nominal_voltage_v": 355.0, "max_voltage_v": 410.0, "min_voltage_v": 270.0, "rated_capacity_ah": 219.5}
    with pytest.raises(InvalidData) as exc:  # as bytes, the JSON reader's guard refuses the 309-digit integer first
        import_standard_payload(services.passports, op, doc, fmt="batterypass", defaults=defaults)
    assert [e["rule"] for e in exc.value.errors] == ["json:int_digits"]
    with pytest.raises(InvalidData) as exc:  # as an object, every problem is named at once
        import_standard_payload(services.passports, op, json.loads(doc), fmt="batterypass", defaults=defaults)
    assert len(exc.value.errors) >= 20 and all(e["message"].startswith(e["field"]) for e in exc.value.errors)
    res = import_standard_payload(services.passports, op, doc, fmt="batterypass", lenient=True, defaults=defaults)
    assert res["passport"]["passport_id"] == f"BL.{pilot.AUTOMAKER}.EX-1" and res["model_created"]
    rec = services.passports.get_record(f"BL.{pilot.AUTOMAKER}.EX-1")
    assert rec.status == "original"  # the example says Original
    dropped = {d["field"] for d in res["report"]["dropped"]}
    assert {"carbon_footprint.batteryCarbonFootprint", "circularity.renewableContent",
            "material_composition.hazardousSubstances[0].hazardousSubstanceIdentifier",
            "supply_chain_due_diligence.supplyChainDueDiligenceReport",
            "general_product_information.productIdentifier"} <= dropped
    assert all(d["message"] for d in res["report"]["dropped"])


def test_timed_condition_values_without_a_measurement_time_are_reported_not_dropped() -> None:
    """A state of health without measured_at: every timed value (the internal-resistance increase too) is left
    out of batteryCondition — lastUpdate is required and the export time is no stand-in — and named unmapped."""
    kind, m, b, archived = next(x for x in DEMO if x[2].state_of_health is not None)
    raw = b.model_dump(mode="json", exclude_none=True)
    raw["state_of_health"] = {k: v for k, v in raw["state_of_health"].items() if k != "measured_at"}
    raw["state_of_health"]["ohmic_resistance_increase_pct"] = 12.5
    res = batterypass.export(PassportParts.from_data(m, BatteryData.model_validate(raw), archived=archived))
    cond = res.payload.get("performance", {}).get("batteryCondition", {})
    assert "internalResistanceIncrease" not in cond and "capacityFade" not in cond, kind
    unmapped = {u["path"] for u in res.report.unmapped}
    assert {"battery.state_of_health.ohmic_resistance_increase_pct",
            "battery.state_of_health.soh_capacity_pct"} <= unmapped, unmapped


def test_a_strict_refusal_names_the_unstated_status_beside_the_other_problems() -> None:
    """A payload without batteryStatus (a public export) and with a bad value: the strict refusal names both,
    so the reader learns of the missing status before the second try, not after it."""
    kind, m, b, archived = next(x for x in DEMO if not x[3])
    payload = batterypass.export(PassportParts.from_data(m, b, {Tier.PUBLIC})).payload
    assert "batteryStatus" not in payload["generalProductInformation"], kind
    payload["generalProductInformation"]["manufacturingPlace"]["addressCountry"] = "Narnia"
    with pytest.raises(InvalidData) as refused:
        batterypass.import_payload(payload, check_schema=False)
    fields = {e["field"] for e in refused.value.errors}
    assert "battery.status" in fields and any("addressCountry" in f for f in fields), fields


#: the Annex XIII values issue 16 added to the passport, and the Battery Pass 1.2 properties that carry them
NEW_MODEL_FIELDS = ("original_power_capability_at_soc", "power_energy_ratio_per_h", "expected_lifetime_years",
                    "initial_self_discharge_pct_per_month", "cycle_life_test_url", "safety_instructions_url",
                    "waste_prevention_url", "separate_collection_url", "collection_information_url")
NEW_BATTERY_FIELDS = ("economic_operator_name", "economic_operator_address", "manufacture_postal_code")


def test_the_new_annex_xiii_fields_come_back_identical() -> None:
    """export (all tiers) → lenient import: every field issue 16 added comes back identical for the nine kinds —
    typed values, not text: the power at each state of charge (written in percent of ratedMaximumPower), the
    remaining capacity (written in kWh), the recycled-content split, the suppliers' addresses, the label symbols of
    the four Battery Pass subjects, the charging-time counters (written in minutes)."""
    for kind, m, b, archived in DEMO:
        res = batterypass.export(PassportParts.from_data(m, b, TIERS["all"], archived=archived))
        back = batterypass.import_payload(res.payload, lenient=True, defaults={
            "model_id": m.model_id, "model_name": m.model_name, "serial_number": b.serial_number})
        assert back.report.dropped == [], kind
        model, battery = back.require()
        for f in NEW_MODEL_FIELDS:
            assert getattr(model, f) == getattr(m, f) and getattr(m, f) not in (None, []), (kind, f)
        for f in NEW_BATTERY_FIELDS:
            assert getattr(battery, f) == getattr(b, f) and getattr(b, f) is not None, (kind, f)
        assert model.recycled_content == m.recycled_content.model_copy(update={"allocation_rule": None}), kind
        assert [(p.supplier_address, p.supplier_email, p.supplier_web_url) for p in model.spare_parts] == \
            [(p.supplier_address, p.supplier_email, p.supplier_web_url) for p in m.spare_parts], kind
        carried = [s for s in m.label_symbols if s.subject.value in ("separate_collection", "hazardous_substance",
                                                                     "carbon_footprint", "extinguishing_agent")]
        assert model.label_symbols == carried and carried, kind
        assert [(h.concentration_pct, h.hazard_class) for h in model.hazardous_substances] == \
            [(h.concentration_pct, h.hazard_class) for h in m.hazardous_substances]
        assert [x.mass_kg for x in model.detailed_composition.cathode] == [x.mass_kg for x in m.detailed_composition.cathode]
        if b.state_of_health is not None:
            soh = battery.state_of_health
            assert soh.remaining_capacity_ah == b.state_of_health.remaining_capacity_ah, kind
            assert soh.remaining_power_capability_at_soc == b.state_of_health.remaining_power_capability_at_soc, kind
            for side in ("above", "below"):
                f = f"time_{side}_extreme_temperature_charging_h"
                assert getattr(battery.usage, f) == getattr(b.usage, f) is not None, (kind, f)


def test_not_carried_has_one_wording() -> None:
    """What Battery Pass 1.2 cannot carry is worded once (batterypass.NOT_CARRIED): the export's report, the
    reasons of the required properties left out and every import report use that wording; no reason says "no place"
    in words of its own."""
    reasons: dict[str, str] = {}
    for kind, m, b, archived in DEMO:
        res = batterypass.export(PassportParts.from_data(m, b, TIERS["all"], archived=archived))
        for u in res.report.unmapped:
            if "no place" in u["reason"] or "schema defect" in u["reason"]:
                assert any(u["reason"].startswith(why) for why in batterypass.NOT_CARRIED.values()), u
                reasons[u["path"]] = u["reason"]
        for p in res.report.placeholders:
            if "schema defect" in p["reason"]:
                assert any(why in p["reason"] for why in batterypass.NOT_CARRIED.values()), p
    for path, key in (("model.model_id", "model.model_id"), ("battery.model_id", "model.model_id"),
                      ("battery.serial_number", "battery.serial_number"), ("model.warranty_years", "model.warranty_years"),
                      ("model.idle_temperature_lower_c/upper_c", "model.idle_temperature_lower_c/upper_c"),
                      ("model.hazardous_substances[1].hazard_class", "model.hazardous_substances[].hazard_class"),
                      ("battery.owner_id", "battery.owner_id"), ("battery.predecessor_ids", "battery.predecessor_ids"),
                      ("battery.usage.deep_discharge_events", "battery.usage.deep_discharge_events")):
        assert reasons[path].startswith(batterypass.NOT_CARRIED[key]), path
    back = batterypass.import_payload(res.payload, lenient=True)
    (listed,) = [u["reason"] for u in back.report.unmapped if u["path"] == batterypass.NOT_CARRIED_PATH]
    assert all(f"{k} ({why})" in listed for k, why in batterypass.NOT_CARRIED.items())
    archived_kind = next(x for x in DEMO if x[3])
    res = batterypass.export(PassportParts.from_data(*archived_kind[1:3], TIERS["all"], archived=True))
    assert {"path": "archived", "value": True, "reason": batterypass.NOT_CARRIED["the archive state"]} in \
        res.report.unmapped


def test_a_value_our_model_takes_and_the_schema_does_not_is_left_out_named() -> None:
    """Our types are wider in two places than the 1.2 schemas: an e-mail with '+' and a link that passes our
    prefix check but is no RFC 3986 URI. The export leaves such a value out and names it; it never writes a payload
    the schema refuses."""
    kind, m, b, archived = DEMO[0]
    parts = [{**p.model_dump(exclude_none=True), "supplier_email": "parts+bms@euromotors.example"} for p in m.spare_parts]
    m2 = m.model_copy(update={"spare_parts": [type(m.spare_parts[0]).model_validate(p) for p in parts],
                              "safety_instructions_url": "https://passport.example.org/safety manual.pdf"})
    res = batterypass.export(PassportParts.from_data(m2, b, TIERS["all"], archived=archived))  # validate=True: no raise
    unmapped = {u["path"] for u in res.report.unmapped}
    assert "model.safety_instructions_url" in unmapped
    assert any(p.endswith("supplier_email") for p in unmapped)
    assert all("emailAddressOfSupplier" not in s for s in res.payload["circularity"]["sparePartSources"])


def test_a_successor_passport_exports_no_figure_of_its_own() -> None:
    """Review 13b: a repurposed or remanufactured passport that holds a figure copied on under the old rule
    exported it as the battery's recycled content; Art. 8(4) lifts the declaration for such batteries (the
    original's is on the predecessor's passport). Its own figure is not exported — the model's is, as for any
    passport without its own (the standards carry one figure per passport) — and an original battery's is."""
    own = {"cobalt_pct": 16.0, "cobalt_pre_consumer_pct": 4.0, "cobalt_post_consumer_pct": 12.0}
    for kind, m, b, archived in DEMO:
        if kind not in ("repurposed", "remanufactured"):
            continue
        b2 = b.model_copy(update={"recycled_content": type(m.recycled_content).model_validate(own)})
        for fmt_parts in (PassportParts.from_data(m, b, TIERS["all"], archived=archived),
                          PassportParts.from_data(m, b2, TIERS["all"], archived=archived)):
            assert fmt_parts.model["recycled_content"] == m.recycled_content.model_dump(mode="json", exclude_none=True), kind
            got = batterypass.export(fmt_parts).payload["circularity"]["recycledContent"]
            assert {"recycledMaterial": "Cobalt", "preConsumerShare": 4.0, "postConsumerShare": 12.0} not in got, kind
        orig = b2.model_copy(update={"predecessor_ids": [], "status": "original"})
        got = batterypass.export(PassportParts.from_data(m, orig, TIERS["all"])).payload["circularity"]["recycledContent"]
        assert {"recycledMaterial": "Cobalt", "preConsumerShare": 4.0, "postConsumerShare": 12.0} in got
