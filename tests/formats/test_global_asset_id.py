"""One pack, one global asset id: the AAS shell, the Digital Twin Registry descriptor, the Catena-X SerialPart and
the BOM name the pack by the same id, so a partner can traverse from one to the other (issue 16 found three:
the AAS export's web link, SerialPart/BOM's urn:uuid and the registry's raw passport id)."""

from __future__ import annotations

import json
import uuid

from batteryloop import formats
from batteryloop.passport.pack_twins import pack_descriptor
from batteryloop.passport.identifiers import PASSPORT_NS


def test_every_format_names_the_pack_by_the_same_id(models, batteries) -> None:  # type: ignore[no-untyped-def]
    b = batteries[0]
    m = models[b.model_id]
    # the id written out by hand: UUIDv5 of "part:" + the passport id in the project's namespace
    expected = f"urn:uuid:{uuid.uuid5(PASSPORT_NS, 'part:' + b.passport_id)}"
    serial = formats.export_passport("catenax-serial-part", m, b).payload
    bom = formats.export_passport("catenax-bom-as-built", m, b).payload
    aas = formats.export_passport("aas-json", m, b)
    env = json.loads(aas.content) if hasattr(aas, "content") and aas.content else aas.payload
    shell = env["assetAdministrationShells"][0]
    # the descriptor issuing registers (tests/passport/test_pack_twins.py: through the registry's API)
    dtr = pack_descriptor({"id": b.passport_id, "serial_number": b.serial_number, "model_id": b.model_id,
                           "economic_operator_id": b.economic_operator_id, "owner_id": "BPNL000000000001"},
                          "http://127.0.0.1:8000")
    assert serial["globalAssetId"] == bom["catenaXId"] == expected
    assert shell["assetInformation"]["globalAssetId"] == expected
    assert dtr["globalAssetId"] == expected
    assert dtr["id"] == shell["id"]  # the registry's descriptor is of the AAS export's shell
    # the passport id travels beside it, as a specific asset id, in the shell and in the registry
    assert {"name": "batteryPassportId", "value": b.passport_id} in [
        {"name": s["name"], "value": s["value"]} for s in shell["assetInformation"]["specificAssetIds"]]
    assert any(s["name"] == "batteryPassportId" and s["value"] == b.passport_id for s in dtr["specificAssetIds"])
