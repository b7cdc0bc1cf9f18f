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


def global_asset_id(passport_id: str) -> str:
    """The pack's one global asset id, the same in every standard: the AAS shell's ``globalAssetId``, the
    Digital Twin Registry's, the Catena-X SerialPart's and the BOM's ``catenaXId`` — a UUIDv5 of the
    passport id (``urn:uuid:…``: Catena-X requires a UUID; derived, so every node computes the same one).
    The QR code carries the passport's web link, which names the same pack by its passport id."""
    return f"urn:uuid:{uuid.uuid5(PASSPORT_NS, 'part:' + passport_id)}"


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
