"""The official Catena-X part-aspect examples in ../shared/fixtures/catenax, read in place: each is read
back by our reader (or, for the aspects batteryloop does not import, refused with a clear error), and
the defects they carry are reported with field and rule."""

from __future__ import annotations

import json

import pytest

from batteryloop import formats
from batteryloop.errors import InvalidData
from batteryloop.formats import catenax_parts as cp
from batteryloop.formats import schemas

CX = "catenax/{m}/{v}/{n}.json"


def _example(fixtures_dir, model: str, version: str, name: str) -> bytes:  # type: ignore[no-untyped-def]
    return (fixtures_dir / CX.format(m=model, v=version, n=name)).read_bytes()


def test_serial_part_example_reads_back(fixtures_dir) -> None:  # type: ignore[no-untyped-def]
    got = cp.read_serial_part(_example(fixtures_dir, "io.catenax.serial_part", "4.0.0", "SerialPart"))
    assert got == {"catenax_id": "urn:uuid:cCfeA55c-688E-FaEd-DcD7-c2eac69f9019", "manufacturer_id": "BID12345678",
                   "manufacture_date": "2025-09-26", "manufacture_country": "DE",
                   "model_id": "123-0.740-3434-A", "model_name": "Mirror left"}
    assert "serial_number" not in got  # the example gives no partInstanceId: a serial part without its serial


def test_traction_battery_code_example_defects_are_caught(fixtures_dir) -> None:  # type: ignore[no-untyped-def]
    raw = _example(fixtures_dir, "io.catenax.traction_battery_code", "2.0.0", "TractionBatteryCode")
    assert schemas.validate("catenax.traction_battery_code", json.loads(raw)) == []  # the schema accepts it
    with pytest.raises(InvalidData) as exc:
        cp.read_tbc(raw)
    got = {(e["field"], e["rule"]) for e in exc.value.errors}
    # "X12MCPM…": the 4th character M says module, the payload says pack; and the pack lists itself
    assert ("(root).productType", "tbc:product_type") in got
    assert ("subcomponents[0].tractionBatteryCode", "tbc:self_reference") in got
    assert any("'M'" in e["message"] and "module" in e["message"] for e in exc.value.errors)


def test_our_traction_battery_code_export_reads_back(models, batteries) -> None:  # type: ignore[no-untyped-def]
    b = batteries[0]
    res = formats.export_passport("catenax-tbc", models[b.model_id], b, manufacturer_code="EM1")
    got = cp.read_tbc(res.payload)
    assert got["code"] == res.payload["tractionBatteryCode"] and got["parts"]["product_type"] == "pack"


def test_pcf_example_is_not_a_battery_footprint_and_says_why(fixtures_dir) -> None:  # type: ignore[no-untyped-def]
    raw = _example(fixtures_dir, "io.catenax.pcf", "9.0.0", "Pcf")
    assert schemas.validate("catenax.pcf", json.loads(raw)) == []
    with pytest.raises(InvalidData) as exc:
        cp.read_pcf(raw)
    e = exc.value.errors[0]
    assert e["rule"] == "pcf:unit" and e["value"] == "liter" and "kilowatt hour" in e["message"]


def test_bom_example_validates_and_is_export_only(fixtures_dir) -> None:  # type: ignore[no-untyped-def]
    raw = _example(fixtures_dir, "io.catenax.single_level_bom_as_built", "3.0.0", "SingleLevelBomAsBuilt")
    assert schemas.validate("catenax.single_level_bom_as_built", json.loads(raw)) == []
    with pytest.raises(InvalidData) as exc:
        formats.get("catenax-bom-as-built").import_payload(raw)
    assert exc.value.errors[0]["rule"] == "export_only"


@pytest.mark.parametrize("model,version,name", [
    ("io.catenax.generic.digital_product_passport", "6.1.0", "DigitalProductPassport"),
    ("io.catenax.pcf_for_battery_component_supplier", "1.0.0", "PcfForBatteryComponentSupplier"),
])
def test_aspects_that_are_no_battery_passport_are_refused_clearly(fixtures_dir, model, version, name) -> None:  # type: ignore[no-untyped-def]
    raw = _example(fixtures_dir, model, version, name)
    with pytest.raises(InvalidData) as exc:
        formats.import_passport(raw, "auto")
    assert exc.value.errors[0]["rule"] == "format:auto" and "give --format" in str(exc.value)
