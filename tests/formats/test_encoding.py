"""Every importer reads UTF-8, UTF-8 with BOM and UTF-16 LE/BE with BOM; bad bytes are clear errors."""

from __future__ import annotations

import codecs
import json

import pytest

from batteryloop.errors import InvalidData
from batteryloop.formats import import_passport
from batteryloop.formats._io import load_json
from batteryloop.formats.base import PassportParts
from batteryloop.formats.registry import export_passport

ENCODINGS = {
    "utf-8": lambda t: t.encode("utf-8"),
    "utf-8-bom": lambda t: codecs.BOM_UTF8 + t.encode("utf-8"),
    "utf-16-le-bom": lambda t: codecs.BOM_UTF16_LE + t.encode("utf-16-le"),
    "utf-16-be-bom": lambda t: codecs.BOM_UTF16_BE + t.encode("utf-16-be"),
}


@pytest.mark.parametrize("fmt", ["catenax", "idta-samm", "aas-json"])
@pytest.mark.parametrize("enc", sorted(ENCODINGS))
def test_importers_accept_every_encoding(models, batteries, fmt, enc):
    b = batteries[0]
    m = models[b.model_id]
    res = export_passport(fmt, m.model_copy(update={"manufacturer_name": "Société Énergie ÄÖÜ 電池"}), b)
    text = json.dumps(res.payload, ensure_ascii=False)
    defaults = {"model_id": m.model_id, "model_name": m.model_name, "manufacture_country": b.manufacture_country}
    back = import_passport(ENCODINGS[enc](text), "auto", lenient=True, defaults=defaults)
    assert back.model.manufacturer_name == "Société Énergie ÄÖÜ 電池"
    assert back.battery.serial_number == b.serial_number


def test_utf16_without_bom_is_a_clear_error():
    with pytest.raises(InvalidData) as e:
        load_json('{"a": 1}'.encode("utf-16-le"))
    assert e.value.errors[0]["rule"] == "encoding" and "byte-order mark" in e.value.detail


@pytest.mark.parametrize("data,rule", [(b"", "json"), (b"{not json", "json"), (b"\xff\xfe\x00\xd8", "encoding"),
                                       (b"[1, 2]", "format:auto")])
def test_bad_input_never_a_traceback(data, rule):
    with pytest.raises(InvalidData) as e:
        import_passport(data)
    assert e.value.errors[0]["rule"] == rule
    assert {"field", "rule", "message", "value"} <= set(e.value.errors[0])


def test_parts_from_service_view(models, batteries):
    b = batteries[0]
    m = models[b.model_id]
    view = {"passport_id": b.passport_id, "web_link": f"https://x.example/p/{b.passport_id}", "version": 3,
            "archived": False, "access_tiers": ["public"], "battery": b.model_dump(mode="json", exclude_none=True),
            "model": m.model_dump(mode="json", exclude_none=True)}
    parts = PassportParts.from_view(view)
    assert parts.web_link.endswith(b.passport_id) and parts.version == 3
