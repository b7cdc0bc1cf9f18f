"""Catena-X serial_part 4.0.0, single_level_bom_as_built 3.0.0, traction_battery_code 2.0.0, pcf 9.0.0.

Every export is validated against the official schema read in place (draft-04 per its ``$schema``).
"""

from __future__ import annotations

import json
import uuid
from datetime import date
from pathlib import Path

import pytest
from jsonschema import Draft4Validator, validators

from batteryloop import formats
from batteryloop.errors import InvalidData
from batteryloop.formats import catenax_parts as cp
from batteryloop.formats.base import PassportParts
from batteryloop.passport.model import BatteryData, BatteryModelData
from batteryloop.passport.tiers import Tier

SCHEMAS = {
    "catenax-serial-part": "catenax/io.catenax.serial_part/4.0.0/SerialPart-schema.json",
    "catenax-bom-as-built": "catenax/io.catenax.single_level_bom_as_built/3.0.0/SingleLevelBomAsBuilt-schema.json",
    "catenax-tbc": "catenax/io.catenax.traction_battery_code/2.0.0/TractionBatteryCode-schema.json",
    "catenax-pcf": "catenax/io.catenax.pcf/9.0.0/Pcf-schema.json",
}


def official(fixtures_dir: Path, fmt: str):  # type: ignore[no-untyped-def]
    schema = json.loads((fixtures_dir / SCHEMAS[fmt]).read_text(encoding="utf-8"))
    cls = validators.validator_for(schema)
    assert cls is Draft4Validator
    return cls(schema)


def assert_valid(fixtures_dir: Path, fmt: str, payload: dict) -> None:
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in official(fixtures_dir, fmt).iter_errors(payload)]
    assert errors == []


@pytest.mark.parametrize("fmt", list(SCHEMAS))
def test_every_pilot_passport_exports_valid(fmt, models, batteries, fixtures_dir) -> None:  # type: ignore[no-untyped-def]
    for b in batteries:
        res = formats.export_passport(fmt, models[b.model_id], b)
        assert_valid(fixtures_dir, fmt, res.payload)
        assert res.media_type.startswith("application/vnd.catenax.")
        assert not formats.get(fmt).can_import


@pytest.mark.parametrize("fmt", list(SCHEMAS))
def test_official_example_is_valid_and_our_validator_agrees(fmt, fixtures_dir) -> None:  # type: ignore[no-untyped-def]
    example = json.loads((fixtures_dir / SCHEMAS[fmt].replace("-schema.json", ".json")).read_text(encoding="utf-8"))
    assert_valid(fixtures_dir, fmt, example)
    key = {"catenax-serial-part": "catenax.serial_part", "catenax-bom-as-built": "catenax.single_level_bom_as_built",
           "catenax-tbc": "catenax.traction_battery_code", "catenax-pcf": "catenax.pcf"}[fmt]
    from batteryloop.formats import schemas
    assert schemas.validate(key, example) == []
    broken = dict(example)
    broken.pop(next(iter(official(fixtures_dir, fmt).schema["required"])))
    assert schemas.validate(key, broken)


def test_uuids_are_deterministic_uuid5(models, batteries) -> None:  # type: ignore[no-untyped-def]
    b = batteries[0]
    one = formats.export_passport("catenax-serial-part", models[b.model_id], b).payload
    two = formats.export_passport("catenax-serial-part", models[b.model_id], b).payload
    assert one == two
    bom = formats.export_passport("catenax-bom-as-built", models[b.model_id], b).payload
    assert bom["catenaXId"] == one["globalAssetId"] == cp.part_uuid(b.passport_id)
    assert uuid.UUID(one["globalAssetId"].removeprefix("urn:uuid:")).version == 5
    other = formats.export_passport("catenax-serial-part", models[batteries[1].model_id], batteries[1]).payload
    assert other["globalAssetId"] != one["globalAssetId"]


def test_serial_part_fields(models, batteries) -> None:  # type: ignore[no-untyped-def]
    b = batteries[0]
    m = models[b.model_id]
    res = formats.export_passport("catenax-serial-part", m, b)
    p = res.payload
    local = {d["key"]: d["value"] for d in p["localIdentifiers"]}
    assert local == {"partInstanceId": b.serial_number, "manufacturerId": m.manufacturer_id}
    assert p["manufacturingInformation"]["productionDate"] == b.manufacture_date.isoformat()
    assert p["manufacturingInformation"]["country"] == cp.COUNTRIES[b.manufacture_country][0]
    assert p["partTypeInformation"]["manufacturerPartId"] == m.model_id
    assert {"standard": "Regulation (EU) 2023/1542 battery category", "id": m.category.value,
            "description": p["partTypeInformation"]["partClassification"][0]["description"]} \
        in p["partTypeInformation"]["partClassification"]
    assert {ph["path"] for ph in res.report.placeholders} == {"partTypeInformation.nameAtCustomer",
                                                              "partTypeInformation.customerPartId"}
    assert any(u["path"] == "battery.manufacture_site" for u in res.report.unmapped)  # plant name is no BPNS
    back = cp.read_serial_part(json.dumps(p).encode("utf-16"))
    assert back["serial_number"] == b.serial_number and back["manufacture_country"] == b.manufacture_country
    assert back["manufacture_date"] == b.manufacture_date.isoformat() and back["model_id"] == m.model_id


def test_serial_part_bpns_site_and_bad_input(models, batteries) -> None:  # type: ignore[no-untyped-def]
    b = batteries[0].model_copy(update={"manufacture_site": "BPNS0000000001AB"})
    p = formats.export_passport("catenax-serial-part", models[b.model_id], b).payload
    assert p["manufacturingInformation"]["sites"] == [{"siteId": "BPNS0000000001AB", "function": "production"}]
    bad = dict(p, manufacturingInformation={"productionDate": "2025-02-30"})
    with pytest.raises(InvalidData) as exc:
        cp.read_serial_part(bad)
    assert exc.value.errors[0]["rule"] == "date" and exc.value.errors[0]["value"] == "2025-02-30"
    with pytest.raises(InvalidData) as exc:
        cp.read_serial_part({"globalAssetId": "nope"})
    assert {e["rule"] for e in exc.value.errors} >= {"schema:required", "schema:pattern"}


def test_bom_from_composition_with_note(models, batteries, fixtures_dir) -> None:  # type: ignore[no-untyped-def]
    b = batteries[0]
    m = models[b.model_id]
    # the pilot declares each component's mass (BatPaC 5.0, issue 16): one child per component, in kg
    res = formats.export_passport("catenax-bom-as-built", m, b)
    assert_valid(fixtures_dir, "catenax-bom-as-built", res.payload)
    full = m.detailed_composition
    assert [c["quantity"]["value"] for c in res.payload["childItems"]] == [
        s.mass_kg for loc in (full.cathode, full.anode, full.electrolyte, full.other) for s in loc]
    # mass fractions only: no pack quantity, every entry reported
    comp = full.model_copy(update={loc: [s.model_copy(update={"mass_kg": None}) for s in getattr(full, loc)]
                                   for loc in ("cathode", "anode", "electrolyte", "other")})
    m = m.model_copy(update={"detailed_composition": comp})
    res = formats.export_passport("catenax-bom-as-built", m, b)
    n_all = sum(len(loc) for loc in (comp.cathode, comp.anode, comp.electrolyte, comp.other))
    assert res.payload["childItems"] == []
    assert len([u for u in res.report.unmapped if u["path"].startswith("model.detailed_composition.")]) == n_all
    with_mass = comp.model_copy(update={"cathode": [s.model_copy(update={"mass_kg": 61.5}) for s in comp.cathode],
                                        "anode": [s.model_copy(update={"mass_kg": 40.25}) for s in comp.anode]})
    m2 = m.model_copy(update={"detailed_composition": with_mass})
    res = formats.export_passport("catenax-bom-as-built", m2, b)
    assert_valid(fixtures_dir, "catenax-bom-as-built", res.payload)
    n = len(comp.cathode) + len(comp.anode)
    assert len(res.payload["childItems"]) == n
    assert sum(c["quantity"]["value"] for c in res.payload["childItems"]) == pytest.approx(
        61.5 * len(comp.cathode) + 40.25 * len(comp.anode))
    assert all(c["quantity"]["unit"] == "unit:kilogram" for c in res.payload["childItems"])
    assert all(c["businessPartner"] == m.manufacturer_id for c in res.payload["childItems"])
    assert res.payload["childItems"][0]["catenaXId"] == cp.material_uuid(m.model_id, "cathode", comp.cathode[0].material)
    assert any("detailed composition" in u["reason"] for u in res.report.unmapped)
    assert len([p for p in res.report.placeholders if p["path"].endswith("businessPartner")]) == n
    # a public reader does not see the detailed composition (legitimate-interest tier): no children
    pub = formats.export_passport("catenax-bom-as-built", m2, b, frozenset({Tier.PUBLIC}))
    assert pub.payload["childItems"] == [] and any(u["path"] == "model.detailed_composition" for u in pub.report.unmapped)


def _ledger_children(tmp_path):  # type: ignore[no-untyped-def]
    from batteryloop.identity import ParticipantService
    from batteryloop.sim import pilot
    from batteryloop.store.db import Store
    from batteryloop.trace.client import ChainWriter
    from batteryloop.trace.ledger import Ledger
    from batteryloop.sim.supply_chain import all_participants, demo_signers
    from tests.trace.test_queries import small_graph

    store = Store(f"sqlite:///{tmp_path}/t.db")
    store.upgrade()
    signers = demo_signers()
    svc = ParticipantService(store)
    for p in all_participants():
        key = None if p["id"] == pilot.AUTHORITY else signers[p["id"]].public_key_text
        svc.create({**p, "public_key": key})
    w = ChainWriter(signers)
    rep = Ledger(store).ingest([w.wire(e) for e in small_graph()])
    assert rep.ok, rep.error
    try:
        return cp.as_built_children(store, "P1"), cp.as_built_children(store, "no-such-pack")
    finally:
        store.dispose()


def test_bom_and_tbc_from_the_ledger_as_built_tree(tmp_path, models, batteries, fixtures_dir) -> None:  # type: ignore[no-untyped-def]
    from batteryloop.sim import pilot

    children, none = _ledger_children(tmp_path)
    assert none == []
    assert [(c["id"], c["kind"], c["producer"]) for c in children] == [("m1", "module", pilot.CELL_KR)]
    b = batteries[0]
    m = models[b.model_id]
    # the module's maker is known by a Korean business number: Catena-X needs its BPNL
    with pytest.raises(InvalidData) as exc:
        formats.export_passport("catenax-bom-as-built", m, b, as_built=children)
    err = exc.value.errors[0]
    assert (err["field"], err["rule"], err["value"]) == ("as_built[0].producer", "catenax:bpnl", pilot.CELL_KR)
    res = formats.export_passport("catenax-bom-as-built", m, b, as_built=children,
                                  bpnl_map={pilot.CELL_KR: "BPNL0000000KRC11"})
    assert_valid(fixtures_dir, "catenax-bom-as-built", res.payload)
    (child,) = res.payload["childItems"]
    assert child == {"catenaXId": cp.lot_uuid("m1"), "quantity": {"value": 1.0, "unit": "unit:piece"},
                     "hasAlternatives": False, "businessPartner": "BPNL0000000KRC11",
                     "createdOn": child["createdOn"], "lastModifiedOn": child["createdOn"]}
    assert child["createdOn"].startswith("2026-02-01T09:00:00")  # the pack_assembly event
    tbc = formats.export_passport("catenax-tbc", m, b, as_built=children).payload
    assert_valid(fixtures_dir, "catenax-tbc", tbc)
    assert [s["productType"] for s in tbc["subcomponents"]] == ["module"]
    assert tbc["subcomponents"][0]["tractionBatteryCode"][3] == "M"


def test_tbc_derivation_follows_gbt_34014(models, batteries) -> None:  # type: ignore[no-untyped-def]
    for b in batteries:
        m = models[b.model_id]
        res = formats.export_passport("catenax-tbc", m, b, manufacturer_code="EM1")
        code = res.payload["tractionBatteryCode"]
        assert len(code) == 24 and code.startswith("EM1P")
        info = cp.parse_tbc(code)
        assert info["product_type"] == "pack"
        assert b.manufacture_date.year in info["year_candidates"]
        assert (info["month"], info["day"]) == (b.manufacture_date.month, b.manufacture_date.day)
        assert info["serial"] == "".join(ch for ch in b.serial_number if ch.isdigit())[-7:].rjust(7, "0")
        expected = {"LFP": "lithium iron phosphate", "NCA": "ternary (NMC/NCA)", "NMC811": "ternary (NMC/NCA)"}
        assert info["battery_type"] == expected[m.chemistry.value]
        assert not any(p["path"] == "tractionBatteryCode[0:3]" for p in res.report.placeholders)
    # every day and month of a year encodes and decodes
    for d in (date(2024, 1, 1), date(2025, 12, 31), date(2030, 10, 23), date(2031, 2, 28)):
        code = cp.derive_tbc(manufacturer="X", model_id="M", chemistry="LFP", manufacture_date=d, serial="42")
        info = cp.parse_tbc(code)
        assert d.year in info["year_candidates"] and (info["month"], info["day"]) == (d.month, d.day)
    assert cp.parse_tbc("X12MCPM27KLPCLX2M2382320")["product_type"] == "module"  # the official example
    with pytest.raises(InvalidData) as exc:
        cp.parse_tbc("X12MCPM27KLPCLX2M238232")
    assert exc.value.errors[0]["rule"] == "pattern"
    with pytest.raises(InvalidData) as exc:
        formats.export_passport("catenax-tbc", models[batteries[0].model_id], batteries[0], manufacturer_code="e-1")
    assert exc.value.errors[0]["field"] == "manufacturer_code"


def test_pcf_from_the_passport_round_trips(models, batteries, fixtures_dir) -> None:  # type: ignore[no-untyped-def]
    b = batteries[0]
    m = models[b.model_id]
    res = formats.export_passport("catenax-pcf", m, b)
    p = res.payload
    cf = m.carbon_footprint
    prod = p["productLifeCycleStagesAndEmissions"][0]["productionStage"][0]
    assert prod["pcfExcludingBiogenicUptake"] == pytest.approx(cf.raw_material_kgco2e_per_kwh + cf.main_production_kgco2e_per_kwh)
    dist = p["productLifeCycleStagesAndEmissions"][0]["distributionStage"][0]
    assert dist["distributionStageIncluded"] and dist["distributionStagePcfExcludingBiogenicUptake"] == cf.distribution_kgco2e_per_kwh
    info = p["companyAndProductInformation"][0]["productInformation"][0]
    assert (info["declaredUnitOfMeasurement"], info["declaredUnitAmount"]) == ("kilowatt hour", 1.0)
    ids = p["pcfAssessmentAndMethodology"][0]["pcfAssessmentInformation"][0]["idAndVersion"][0]
    assert ids["id"] == cp.pcf_uuid(m.model_id) and uuid.UUID(ids["id"]).version == 5
    assert "model.carbon_footprint.end_of_life_kgco2e_per_kwh" in {u["path"] for u in res.report.unmapped}
    # the demo catalogue declares no performance class (no limits adopted yet); one that does is reported unmapped
    assert cf.performance_class is None
    classed = m.model_copy(update={"carbon_footprint": cf.model_copy(update={"performance_class": "B"})})
    assert "model.carbon_footprint.performance_class" in {
        u["path"] for u in formats.export_passport("catenax-pcf", classed, b).report.unmapped}
    # lossless back to our fields through the batteryloop comment
    assert cp.read_pcf(json.dumps(p).encode("utf-8-sig")) == cf.model_dump(mode="json", exclude_none=True)
    # a foreign PCF (no batteryloop comment): production + distribution
    foreign = json.loads(json.dumps(p))
    foreign["general"] = [{"comment": "hand-written"}]
    got = cp.read_pcf(foreign)
    assert got["total_kgco2e_per_kwh"] == pytest.approx(prod["pcfExcludingBiogenicUptake"] + cf.distribution_kgco2e_per_kwh)
    # the official example is per liter: not a passport footprint
    example = json.loads((fixtures_dir / SCHEMAS["catenax-pcf"].replace("-schema.json", ".json")).read_text("utf-8"))
    with pytest.raises(InvalidData) as exc:
        cp.read_pcf(example)
    assert exc.value.errors[0]["rule"] == "pcf:unit" and exc.value.errors[0]["value"] == "liter"


def test_pcf_from_a_computed_footprint(models, batteries, fixtures_dir) -> None:  # type: ignore[no-untyped-def]
    from batteryloop.circular.footprint import carbon_footprint

    b = batteries[0]
    m = models[b.model_id]
    fp = carbon_footprint(m.chemistry.value, m.rated_energy_kwh, m.vehicle_category or "M1", m.warranty_years,
                          manufacturing_country=b.manufacture_country, capacity_kwh=m.rated_energy_kwh)
    res = formats.export_passport("catenax-pcf", m, b, footprint=fp)
    assert_valid(fixtures_dir, "catenax-pcf", res.payload)
    info = res.payload["companyAndProductInformation"][0]["productInformation"][0]
    assert info["productMassPerDeclaredUnit"] == pytest.approx(m.mass_kg / fp.functional_unit.total_energy_kwh)
    assert not any("productMassPerDeclaredUnit" in p["path"] for p in res.report.placeholders)
    back = cp.read_pcf(res.payload)
    assert back["total_kgco2e_per_kwh"] == pytest.approx(fp.total_kgco2e_per_kwh, abs=1e-4)


def test_pcf_without_footprint_is_invalid_data(models, batteries) -> None:  # type: ignore[no-untyped-def]
    b = batteries[0]
    m = models[b.model_id].model_copy(update={"carbon_footprint": None})
    with pytest.raises(InvalidData) as exc:
        formats.export_passport("catenax-pcf", m, b)
    assert exc.value.errors[0]["field"] == "model.carbon_footprint" and exc.value.errors[0]["rule"] == "required"


def test_view_export_and_registry_names() -> None:
    assert {"catenax-serial-part", "catenax-bom-as-built", "catenax-tbc", "catenax-pcf"} <= set(formats.names())
    with pytest.raises(InvalidData) as exc:
        formats.get("catenax-pcf").import_payload(b"{}")
    assert exc.value.errors[0]["rule"] == "export_only"


def test_bpnl_required_for_composition_partner(models, batteries) -> None:  # type: ignore[no-untyped-def]
    b = batteries[0]
    m = models[b.model_id].model_copy(update={"manufacturer_id": "211-86-00017"})
    parts = PassportParts.from_data(m, b)
    with pytest.raises(InvalidData) as exc:
        cp.export_bom(parts)
    assert exc.value.errors[0]["field"] == "model.manufacturer_id" and exc.value.errors[0]["value"] == "211-86-00017"
    assert BatteryModelData and BatteryData  # imported for type context
