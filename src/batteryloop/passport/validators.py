"""Field rules shared by the passport model: identifiers with check digits, CAS numbers.

Every function raises ``ValueError`` with a message naming the rule and the expected form, which
pydantic turns into an error that also names the field.
"""

from __future__ import annotations

import re
from enum import StrEnum

BPNL_RE = re.compile(r"^BPNL[0-9A-Z]{12}$")
OURANOS_RE = re.compile(r"^[0-9]{13}$")
KR_BRN_RE = re.compile(r"^([0-9]{3})-?([0-9]{2})-?([0-9]{5})$")
CAS_RE = re.compile(r"^([0-9]{2,7})-([0-9]{2})-([0-9])$")
COUNTRY_RE = re.compile(r"^[A-Z]{2}$")


class IdScheme(StrEnum):
    """Participant identifier schemes."""

    BPNL = "bpnl"  # Catena-X Business Partner Number (legal entity)
    OURANOS = "ouranos"  # Ouranos openOperatorId: 13-digit Japanese corporate number
    KR_BRN = "kr_brn"  # Korean business registration number (10 digits, check digit)


def kr_brn_check_digit_ok(digits: str) -> bool:
    """Korean business registration number check digit (National Tax Service rule).

    Weights 1,3,7,1,3,7,1,3,5 on the first nine digits; the ninth product also adds its tens digit
    (floor(d9*5/10)); the check digit makes the sum a multiple of ten.
    """
    weights = (1, 3, 7, 1, 3, 7, 1, 3, 5)
    d = [int(c) for c in digits]
    total = sum(w * x for w, x in zip(weights, d[:9], strict=True)) + (d[8] * 5) // 10
    return (10 - total % 10) % 10 == d[9]


def classify_participant_id(value: str) -> IdScheme:
    """Return the scheme of a participant id, or raise ``ValueError`` saying which forms are accepted."""
    if BPNL_RE.match(value):
        return IdScheme.BPNL
    if OURANOS_RE.match(value):
        return IdScheme.OURANOS
    m = KR_BRN_RE.match(value)
    if m:
        digits = "".join(m.groups())
        if not kr_brn_check_digit_ok(digits):
            raise ValueError(
                f"{value!r} looks like a Korean business registration number but its check digit is wrong"
            )
        return IdScheme.KR_BRN
    raise ValueError(
        f"{value!r} is not a participant id: expected a Catena-X BPNL (BPNL + 12 of 0-9A-Z), "
        "an Ouranos operator id (13 digits) or a Korean business number (NNN-NN-NNNNN)"
    )


def normalize_participant_id(value: str) -> str:
    """Validate a participant id and return it in canonical form (Korean numbers as NNN-NN-NNNNN)."""
    value = value.strip()
    scheme = classify_participant_id(value)
    if scheme is IdScheme.KR_BRN:
        a, b, c = KR_BRN_RE.match(value).groups()  # type: ignore[union-attr]
        return f"{a}-{b}-{c}"
    return value


def cas_check_digit_ok(cas: str) -> bool:
    """CAS Registry Number check digit: sum of digits weighted 1,2,3… from the right, mod 10."""
    m = CAS_RE.match(cas)
    if not m:
        return False
    body = m.group(1) + m.group(2)
    total = sum((i + 1) * int(c) for i, c in enumerate(reversed(body)))
    return total % 10 == int(m.group(3))


def validate_cas(value: str) -> str:
    value = value.strip()
    if not CAS_RE.match(value):
        raise ValueError(f"{value!r} is not a CAS number: expected the form NNNNNNN-NN-N (2-7, 2 and 1 digits)")
    if not cas_check_digit_ok(value):
        raise ValueError(f"CAS number {value!r} has a wrong check digit")
    return value


def validate_country(value: str) -> str:
    value = value.strip().upper()
    if not COUNTRY_RE.match(value):
        raise ValueError(f"{value!r} is not an ISO 3166-1 alpha-2 country code (two letters, e.g. DE, KR, JP)")
    return value
