"""``import-standard --format auto`` and a payload with a 309-digit integer (issue 16): detection reads the keys and
is not stopped by the value; the importer it picks then reads the number (lenient Battery Pass: as the float it is)
or refuses it with an error naming the rule, the number of digits and the fix."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from batteryloop import formats
from batteryloop.errors import InvalidData

EXAMPLE = Path(__file__).resolve().parents[1] / "fixtures" / "batterypass-1.2" / "PerformanceAndDurability-payload.json"


def test_the_consortiums_example_is_detected_and_imported_leniently() -> None:
    raw = EXAMPLE.read_bytes()  # UTF-16, with -1.797…E308 written as a 309-digit integer
    assert formats.detect(raw).name == "batterypass"
    res = formats.import_passport(raw, "auto", lenient=True)
    assert res.report.format == "batterypass"
    assert any("309 digits" in u["reason"] for u in res.report.unmapped)


def test_strict_auto_refuses_naming_the_integer_and_the_fix() -> None:
    with pytest.raises(InvalidData) as exc:
        formats.import_passport(EXAMPLE.read_bytes(), "auto")
    (e,) = exc.value.errors
    assert e["rule"] == "json:int_digits"
    assert "309 digits" in e["message"] and "lenient" in e["message"] and e["value"].startswith("-1797")


def test_other_formats_are_detected_too_and_refuse_by_name() -> None:
    doc = json.dumps({"specVersion": "urn:io.catenax.battery.battery_pass:6.1.0", "identification": {},
                      "operation": {}, "performance": {"x": 1}, "metadata": {}}).replace('{"x": 1}', "1" + "0" * 400)
    assert formats.detect(doc.encode()).name == "catenax"
    with pytest.raises(InvalidData) as exc:
        formats.import_passport(doc.encode(), "auto", lenient=True)
    assert [e["rule"] for e in exc.value.errors] == ["json:int_digits"] and "401 digits" in exc.value.errors[0]["message"]
    # what is not a format at all is still refused as such
    with pytest.raises(InvalidData) as exc:
        formats.import_passport(b'{"hello": ' + b"9" * 400 + b"}", "auto")
    assert exc.value.errors[0]["rule"] == "format:auto"
