"""Unique battery identifiers (Art. 3(66), ISO/IEC 15459), web links and QR codes (ISO/IEC 18004).

An ISO/IEC 15459 unique item identifier is the concatenation of an issuing agency code (IAC, assigned
by the registration authority: e.g. ``0``–``9`` for GS1, ``UN`` for Dun & Bradstreet), a company
identification number (CIN, assigned by that agency) and a serial number unique within the company.
We write it with ``.`` between the three parts so that it can be parsed back and read by people:
``IAC.CIN.SERIAL`` — uppercase letters, digits, ``-`` and ``.``, at most 50 characters.

The default IAC (``BL``) is a placeholder for pilots and tests; an operator going to market configures
its registered agency code (``BATTERYLOOP_ISSUING_AGENCY_CODE``).
"""

from __future__ import annotations

import base64
import hashlib
import io
import re
import uuid
from dataclasses import dataclass

import segno

IAC_RE = re.compile(r"^[A-Z0-9]{1,3}$")
PART_RE = re.compile(r"^[A-Z0-9\-]+$")
MAX_LENGTH = 50


@dataclass(frozen=True)
class UniqueIdentifier:
    issuing_agency_code: str
    company_id: str
    serial: str

    def __post_init__(self) -> None:
        if not IAC_RE.fullmatch(self.issuing_agency_code):  # fullmatch: '$' alone lets a final '\n' through
            raise ValueError(
                f"issuing agency code {self.issuing_agency_code!r} must be 1-3 uppercase letters or digits"
            )
        for name, part in (("company id", self.company_id), ("serial", self.serial)):
            if not PART_RE.fullmatch(part):
                raise ValueError(f"{name} {part!r} may hold only uppercase letters, digits and '-'")
        if len(self.text) > MAX_LENGTH:
            raise ValueError(f"identifier {self.text!r} is longer than {MAX_LENGTH} characters (ISO/IEC 15459)")

    @property
    def text(self) -> str:
        return f"{self.issuing_agency_code}.{self.company_id}.{self.serial}"

    def __str__(self) -> str:
        return self.text

    @classmethod
    def parse(cls, text: str) -> UniqueIdentifier:
        parts = text.split(".")
        if len(parts) != 3:
            raise ValueError(f"{text!r} is not a battery identifier of the form IAC.COMPANY.SERIAL")
        return cls(*parts)


#: namespace of the UUIDs derived from our ISO/IEC 15459 identifiers (Catena-X wants UUIDs)
PASSPORT_NS = uuid.UUID("6f1c3f52-8a54-4f0e-9a55-2f6b1a0c7e11")
_NS_BYTES = PASSPORT_NS.bytes


def global_asset_id(passport_id: str) -> str:
    """The pack's one global asset id, the same in every standard: the AAS shell's ``globalAssetId``, the
    Digital Twin Registry's, the Catena-X SerialPart's and the BOM's ``catenaXId`` — a UUIDv5 of the
    passport id (``urn:uuid:…``: Catena-X requires a UUID; derived, so every node computes the same one).
    The QR code carries the passport's web link, which names the same pack by its passport id."""
    # uuid.uuid5(PASSPORT_NS, "part:" + passport_id), without building a UUID object (twice per new pack in a
    # pilot of 100,000): SHA-1 of namespace + name, version 5 and the RFC 4122 variant set (test: the same text)
    b = bytearray(hashlib.sha1(_NS_BYTES + b"part:" + passport_id.encode()).digest()[:16])
    b[6] = (b[6] & 0x0F) | 0x50
    b[8] = (b[8] & 0x3F) | 0x80
    h = b.hex()
    return f"urn:uuid:{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


#: the submodels of a pack's Asset Administration Shell: IDTA 02035 part → its SAMM aspect URN (the submodel's
#: semantic id). Kept here, beside the ids, so that the registry's descriptors (passport.twin_registry) name the
#: AAS API's submodels without loading the formats; ``formats.idta.PARTS`` is made from it.
AAS_SUBMODEL_ASPECTS: dict[str, str] = {
    "dpp_metadata": "urn:samm:io.admin-shell.idta.dpp.dpp_metadata:1.0.0#DppMetadata",
    "digital_nameplate": "urn:samm:io.admin-shell.idta.batterypass.digital_nameplate:1.0.0#NameplateBattery",
    "handover_documentation":
        "urn:samm:io.admin-shell.idta.batterypass.handover_documentation:1.0.0#HandoverDocumentationBattery",
    "carbon_footprint": "urn:samm:io.admin-shell.idta.batterypass.carbon_footprint:1.0.0#CarbonFootprintBattery",
    "technical_data": "urn:samm:io.admin-shell.idta.batterypass.technical_data:1.0.1#TechnicalDataBattery",
    "product_condition": "urn:samm:io.admin-shell.idta.batterypass.product_condition:1.0.1#ProductConditionBattery",
    "material_composition":
        "urn:samm:io.admin-shell.idta.batterypass.material_composition:1.0.1#MaterialCompositionBattery",
    "circularity": "urn:samm:io.admin-shell.idta.batterypass.circularity:1.0.0#CircularityBattery",
}


def b64url_encode(text: str) -> str:
    """base64url without padding, as IDTA-01002 Part 2 writes identifiers in paths."""
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def shell_id(passport_id: str) -> str:
    """The AAS shell id of a passport (``urn:batteryloop:<passport id>:aas``): the AAS API's and the registry's."""
    return f"urn:batteryloop:{passport_id}:aas"


def submodel_id(passport_id: str, part: str) -> str:
    """The id of a passport's submodel for an IDTA part (``urn:batteryloop:<passport id>:submodel:<part>``)."""
    return f"urn:batteryloop:{passport_id}:submodel:{part}"


def part_id_short(part: str) -> str:
    """The submodel idShort of an IDTA part (``digital_nameplate`` → ``DigitalNameplate``)."""
    return "".join(w.capitalize() for w in part.split("_"))


def web_link(base_url: str, passport_id: str) -> str:
    """The web link printed in the QR code: it resolves to the passport's public page."""
    return f"{base_url.rstrip('/')}/p/{passport_id}"


def qr_code(link: str) -> segno.QRCode:
    """A QR code (ISO/IEC 18004, error correction M, never micro) for a passport's web link."""
    return segno.make(link, error="m", boost_error=False, micro=False)


def qr_svg(link: str, scale: int = 4) -> bytes:
    buf = io.BytesIO()
    qr_code(link).save(buf, kind="svg", scale=scale, border=4, xmldecl=True)
    return buf.getvalue()


def qr_png(link: str, scale: int = 8) -> bytes:
    buf = io.BytesIO()
    qr_code(link).save(buf, kind="png", scale=scale, border=4)
    return buf.getvalue()
