"""The smaller defects of issue 16, each pinned: conflicts with stored model data, clear errors (an AASX that
is no OPC package, an unregistered manufacturer, duplicate JSON keys, a 10^300 kg mass), placeholders marked
in the document, the last change as "last update", stable AASX bytes, versioned submodels, the CLI's lists."""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import subprocess
import sys
import zipfile

import pytest

from batteryloop import formats
from batteryloop.access import Caller
from batteryloop.errors import InvalidData
from batteryloop.formats import aas, catenax, idta
from batteryloop.formats.base import PassportParts
from batteryloop.passport.service import import_standard_payload
from batteryloop.passport.tiers import ALL_TIERS, PUBLIC_ONLY
from batteryloop.sim import pilot

ADMIN = Caller(is_admin=True)
CHANGED = dt.datetime(2026, 3, 4, 5, 6, 7, tzinfo=dt.UTC)


def _parts(tiers=ALL_TIERS, **battery):  # type: ignore[no-untyped-def]
    m = pilot.battery_models()[0]
    b = dict(next(pilot.generate_batteries(1, seed=5, today=dt.date(2026, 6, 1))), model_id=m["model_id"], **battery)
    return m, b, PassportParts.from_data(m, b, tiers, archived=b.get("status") == "recycled", last_change=CHANGED)


def test_conflicting_model_data_are_refused_strict_and_reported_lenient(pilot_services) -> None:  # type: ignore[no-untyped-def]
    m, b, parts = _parts()
    stored = m["rated_capacity_ah"]
    payload = catenax.export(PassportParts.from_data(dict(m, rated_capacity_ah=999.0), b)).payload
    svc = pilot_services.passports
    before = svc.count()
    with pytest.raises(InvalidData) as refused:
        import_standard_payload(svc, ADMIN, json.dumps(payload), fmt="catenax")
    err = refused.value.errors[0]
    assert (err["field"], err["value"], err["stored"]) == ("model.rated_capacity_ah", 999.0, stored)
    assert "model.rated_capacity_ah" in str(refused.value) and svc.count() == before  # nothing stored
    res = import_standard_payload(svc, ADMIN, json.dumps(payload), fmt="catenax", lenient=True)
    assert [(c["field"], c["value"], c["stored"]) for c in res["report"]["conflicts"]] == [
        ("model.rated_capacity_ah", 999.0, stored)]
    assert svc.model_data(m["model_id"])["rated_capacity_ah"] == stored  # the stored model is kept


def test_an_unregistered_manufacturer_is_named_not_a_foreign_key_error(services) -> None:  # type: ignore[no-untyped-def]
    _, _, parts = _parts()
    with pytest.raises(InvalidData, match="BPNL000000000EM1 is not a participant of this node") as refused:
        import_standard_payload(services.passports, ADMIN, json.dumps(catenax.export(parts).payload), fmt="catenax")
    assert "FOREIGN KEY" not in str(refused.value) and refused.value.errors[0]["field"] == "model.manufacturer_id"


def test_a_zip_that_is_no_aasx_package_is_named_in_words() -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("hello.txt", "not a package")
    with pytest.raises(InvalidData) as refused:
        formats.import_passport(buf.getvalue(), "aasx")
    text = str(refused.value)
    assert "object at 0x" not in text and "Open Packaging Conventions" in text and "[Content_Types].xml" in text


def test_duplicate_json_keys_are_refused_by_name() -> None:
    _, _, parts = _parts()
    text = json.dumps(catenax.export(parts).payload)
    doubled = text.replace('"specVersion":', '"specVersion": "x", "specVersion":', 1)
    with pytest.raises(InvalidData) as refused:
        formats.import_passport(doubled, "catenax")
    assert refused.value.errors[0]["rule"] == "json:duplicate_key" and "'specVersion' appears twice" in str(refused.value)


def test_a_mass_of_ten_to_the_300_kg_is_refused_by_name() -> None:
    _, _, parts = _parts()
    payload = catenax.export(parts).payload
    payload["characteristics"]["physicalDimension"]["weight"]["value"] = 1e300
    with pytest.raises(InvalidData) as refused:
        formats.import_passport(json.dumps(payload), "catenax")
    bad = [e for e in refused.value.errors if e.get("target") == "model.mass_kg"]
    assert bad and "1000000" in bad[0]["message"]


def test_public_catenax_marks_its_placeholders_and_a_recycled_pack_is_not_original() -> None:
    _, _, parts = _parts(PUBLIC_ONLY, status="recycled")
    doc = catenax.export(parts).payload
    assert doc["sustainability"]["status"] == "waste" and doc["metadata"]["status"] == "expired"
    marker = doc["performance"]["dynamic"]["performanceDocument"][0]
    assert marker["header"] == catenax.PLACEHOLDER_DOC and "capacity.fade" in marker["content"]
    assert "withheld" in marker["content"]
    back = formats.import_passport(json.dumps(doc), "catenax")
    assert back.battery.status.value == "recycled"


def test_last_update_is_the_last_change_not_the_export_time() -> None:
    _, _, parts = _parts()
    assert idta.export(parts).payload["dpp_metadata"]["lastUpdate"] == "2026-03-04T05:06:07Z"
    assert catenax.export(parts).payload["metadata"]["lastModification"] == "2026-03-04"


def test_aasx_is_byte_identical_for_the_same_passport_across_processes() -> None:
    code = ("import datetime as dt, hashlib, sys; from batteryloop.formats import aas;"
            "from batteryloop.formats.base import PassportParts; from batteryloop.sim import pilot;"
            "m = pilot.battery_models()[0];"
            "b = dict(next(pilot.generate_batteries(1, seed=5, today=dt.date(2026, 6, 1))), model_id=m['model_id']);"
            "p = PassportParts.from_data(m, b, last_change=dt.datetime(2026, 3, 4, tzinfo=dt.UTC));"
            "print(hashlib.sha256(aas.export_aasx(p).payload).hexdigest())")
    digests = {subprocess.run([sys.executable, "-c", code], env={**os.environ, "PYTHONHASHSEED": seed},
                              capture_output=True, text=True, check=True).stdout for seed in ("1", "2")}
    assert len(digests) == 1  # basyx keeps submodel references in a set: without the stable order these differ


def test_submodels_carry_their_template_version() -> None:
    _, _, parts = _parts()
    env = aas.export_json(parts).payload
    versions = {sm["idShort"]: sm["administration"] for sm in env["submodels"]}
    assert versions["TechnicalData"] == {"version": "1", "revision": "0"}
    assert [sm["idShort"] for sm in env["submodels"]] == [aas.part_id_short(p) for p in idta.PARTS]


def test_cli_help_lists_every_format() -> None:
    from batteryloop.cli.passports import EXPORT_FORMATS_HELP, IMPORT_FORMATS_HELP

    for name in ["batteryloop", *formats.names()]:
        assert name in EXPORT_FORMATS_HELP.replace(",", " ").split(), name
    for a in formats.adapters():
        assert (a.name in IMPORT_FORMATS_HELP) == a.can_import, a.name


def test_the_bpnl_flag_the_error_suggests_is_taken(pilot_services) -> None:  # type: ignore[no-untyped-def]
    """A passport whose economic operator has no BPNL: the error suggests --bpnl, and the catenax export takes it."""
    from batteryloop.passport.exporting import export_passport

    svc = pilot_services.passports
    b = dict(next(pilot.generate_batteries(1, seed=9)), economic_operator_id=pilot.CELL_KR)
    pid = svc.create_passport(b, ADMIN)["passport_id"]
    with pytest.raises(InvalidData, match="--bpnl 211-86-00017=BPNL") as refused:
        export_passport(svc, pilot_services.store, pid, ADMIN, tiers="all", fmt="catenax")
    assert refused.value.errors[0]["rule"] == "catenax:bpnl"
    out = export_passport(svc, pilot_services.store, pid, ADMIN, tiers="all", fmt="catenax",
                          bpnl_map={pilot.CELL_KR: "BPNL00000003KR9Z"})
    assert json.loads(out.body)["metadata"]["economicOperatorId"] == "BPNL00000003KR9Z"


@pytest.mark.parametrize("status", ["original", "recycled"])
def test_aas_exports_pass_the_official_test_engine(status: str) -> None:
    """The shell's batteryloop Extension, the submodels' administration and the stable order keep the AAS JSON and
    the AASX package valid for the IDTA test engine's file check (``aas_test_engines check_file``)."""
    from aas_test_engines import file as engine

    for tiers in (ALL_TIERS, PUBLIC_ONLY):
        _, _, parts = _parts(tiers, status=status)
        env = aas.export_json(parts).payload
        assert env["assetAdministrationShells"][0]["extensions"][0]["name"] == aas.EXTENSION_NAME
        assert engine.check_json_data(env).ok()
        with zipfile.ZipFile(io.BytesIO(aas.export_aasx(parts).payload)) as z:
            assert engine.check_aasx_data(z).ok()
