"""Battery identifiers, web links and QR codes, checked against the standards they follow.

Derived by hand from REFERENCE.md section 1 (Art. 3(66), 77(3), 13(6)) and the standards it names:

* ISO/IEC 15459 unique item identifier = issuing agency code (IAC) + company identification number (CIN)
  + serial. IACs are 1 to 3 characters (``0``-``9`` for GS1, ``UN`` for Dun & Bradstreet, ``LA``...),
  uppercase letters or digits. The whole identifier is at most 50 characters (ISO/IEC 15459-4). We
  write ``IAC.CIN.SERIAL``; CIN and serial are uppercase letters, digits and ``-`` (so ``.`` separates
  exactly three parts and the text parses back).
* The web link resolves to the passport's public page, ``<base>/p/<id>``, whatever the base's trailing
  slashes.
* The QR code (ISO/IEC 18004) is a full QR symbol, never Micro QR (phones' readers do not all read
  Micro QR), with error correction level M exactly (segno would raise the level by itself unless told
  not to; the printed label's size depends on it), and the standard's quiet zone of 4 modules on every
  side. The API and CLI call the renderers with their defaults: SVG 4 px per module with an XML
  declaration, PNG 8 px per module.

Errors name the part that is wrong and the value given (the "clear error" contract).
"""

from __future__ import annotations

import re
import struct

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from batteryloop.passport.identifiers import UniqueIdentifier, qr_code, qr_png, qr_svg, web_link

GOOD = [("0", "4012345", "SN-1"), ("UN", "123456789", "A"), ("LA1", "BPNL00000003AYRE", "2026-000001"),
        ("BL", "X", "0")]


@pytest.mark.parametrize("parts", GOOD)
def test_good_identifiers_round_trip(parts: tuple[str, str, str]) -> None:
    uid = UniqueIdentifier(*parts)
    text = ".".join(parts)
    assert uid.text == text and str(uid) == text
    assert UniqueIdentifier.parse(text) == uid
    assert (uid.issuing_agency_code, uid.company_id, uid.serial) == parts


@pytest.mark.parametrize("iac", ["", "ABCD", "bl", "B-", "B.", "B L", "Ü", "1234", "BL\n"])
def test_issuing_agency_code_is_1_to_3_uppercase_letters_or_digits(iac: str) -> None:
    with pytest.raises(ValueError, match="issuing agency code") as exc:
        UniqueIdentifier(iac, "ACME", "SN1")
    assert repr(iac) in str(exc.value)
    assert "1-3" in str(exc.value)


@pytest.mark.parametrize(("which", "index"), [("company id", 1), ("serial", 2)])
@pytest.mark.parametrize("bad", ["", "acme", "AC.ME", "AC ME", "AC_ME", "ACME\n", "Ä"])
def test_company_and_serial_hold_only_uppercase_digits_and_dash(which: str, index: int, bad: str) -> None:
    parts = ["BL", "ACME", "SN-1"]
    parts[index] = bad
    with pytest.raises(ValueError) as exc:
        UniqueIdentifier(*parts)
    msg = str(exc.value)
    assert msg.startswith(which + " "), msg  # names which part is wrong ...
    assert repr(bad) in msg  # ... and the value given
    other = "serial" if which == "company id" else "company id"
    assert not msg.startswith(other)


def test_the_first_bad_part_is_named_company_before_serial() -> None:
    with pytest.raises(ValueError, match=r"^company id 'a'"):
        UniqueIdentifier("BL", "a", "b")


def test_at_most_50_characters() -> None:
    ok = UniqueIdentifier("BL", "ACME", "S" * (50 - len("BL.ACME.")))
    assert len(ok.text) == 50
    with pytest.raises(ValueError) as exc:
        UniqueIdentifier("BL", "ACME", "S" * (51 - len("BL.ACME.")))
    msg = str(exc.value)
    assert "50" in msg and "BL.ACME.SSS" in msg and "longer" in msg


@pytest.mark.parametrize("text", ["BL.ACME", "BL.ACME.SN.1", "BLACMESN1", "", "BL..ACME.SN"])
def test_parse_needs_exactly_three_parts(text: str) -> None:
    with pytest.raises(ValueError) as exc:
        UniqueIdentifier.parse(text)
    msg = str(exc.value)
    assert repr(text) in msg and "IAC.COMPANY.SERIAL" in msg


def test_parse_checks_the_parts_too() -> None:
    with pytest.raises(ValueError, match="serial 'sn'"):
        UniqueIdentifier.parse("BL.ACME.sn")


@pytest.mark.parametrize("base", ["https://dpp.example.org", "https://dpp.example.org/", "https://dpp.example.org///"])
def test_web_link_is_the_public_page_whatever_the_trailing_slashes(base: str) -> None:
    assert web_link(base, "BL.ACME.SN-1") == "https://dpp.example.org/p/BL.ACME.SN-1"


def test_web_link_keeps_a_base_path() -> None:
    assert web_link("http://h:8000/node/", "BL.A.B") == "http://h:8000/node/p/BL.A.B"


LINKS = ["HI", "https://x.eu/p/0.1.2", "https://dpp.example.org/p/BL.ACME.SN-1",
         "https://dpp.example.org/p/" + "BL.BPNL00000003AYRE." + "9" * 29]


@pytest.mark.parametrize("link", LINKS)
def test_qr_is_full_qr_at_level_m(link: str) -> None:
    q = qr_code(link)
    assert not q.is_micro
    assert q.error == "M"  # never boosted to Q or H, even where the symbol would have room
    side = q.symbol_size(scale=1, border=0)[0]
    assert side == 17 + 4 * int(q.version)  # ISO/IEC 18004: a version-v QR symbol is 17+4v modules


def _side(link: str) -> int:
    return qr_code(link).symbol_size(scale=1, border=0)[0]


@pytest.mark.parametrize("link", LINKS)
def test_svg_default_scale_4_with_4_module_quiet_zone_and_xml_declaration(link: str) -> None:
    svg = qr_svg(link)
    assert svg.startswith(b"<?xml")
    m = re.search(rb'<svg[^>]*\bwidth="(\d+)"[^>]*\bheight="(\d+)"', svg)
    assert m, svg[:200]
    want = (_side(link) + 2 * 4) * 4
    assert (int(m.group(1)), int(m.group(2))) == (want, want)
    svg2 = qr_svg(link, scale=2)
    m2 = re.search(rb'\bwidth="(\d+)"', svg2)
    assert m2 and int(m2.group(1)) == (_side(link) + 8) * 2


@pytest.mark.parametrize("link", LINKS)
def test_png_default_scale_8_with_4_module_quiet_zone(link: str) -> None:
    png = qr_png(link)
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and png[12:16] == b"IHDR"
    width, height = struct.unpack(">II", png[16:24])
    want = (_side(link) + 2 * 4) * 8
    assert (width, height) == (want, want)
    width3, _ = struct.unpack(">II", qr_png(link, scale=3)[16:24])
    assert width3 == (_side(link) + 8) * 3


@pytest.mark.parametrize(("text", "bad"), [("BL.ACME.SN-1\n", "SN-1\n"), ("BL\n.ACME.SN-1", "BL\n"),
                                         ("BL.ACME\n.SN-1", "ACME\n")])
def test_a_trailing_newline_is_not_an_identifier(text: str, bad: str) -> None:
    """Found by this file: ``re.match`` with ``$`` accepted a part ending in a newline, so a passport id
    (also used as a folder name by the health store) could carry one. The error names the bad part."""
    with pytest.raises(ValueError, match=re.escape(repr(bad))):
        UniqueIdentifier.parse(text)


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(host=st.sampled_from(["dpp.example.org", "x.eu", "h:8000", "127.0.0.1"]),
       path=st.lists(st.text(alphabet="AXYZaxyz09-_.", min_size=1, max_size=6), max_size=3),
       slashes=st.integers(0, 3))
def test_web_link_removes_trailing_slashes_only(host: str, path: list[str], slashes: int) -> None:
    """Only slashes go: a base whose last path part ends in letters or dots keeps them (a strip of a set
    of characters, instead of slashes, would eat into the path)."""
    base = "https://" + host + "".join("/" + p for p in path)
    link = web_link(base + "/" * slashes, "BL.ACME.SN-1")
    assert link == base + "/p/BL.ACME.SN-1"
