"""Participants: the companies and bodies that take part in the battery loop."""

from __future__ import annotations

import base64
from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from .passport.validators import IdScheme, classify_participant_id, normalize_participant_id, validate_country


class Role(StrEnum):
    MANUFACTURER = "manufacturer"
    SUPPLIER = "supplier"
    RECYCLER = "recycler"
    SECOND_LIFE_OPERATOR = "second_life_operator"
    REPAIRER = "repairer"
    BAAS_OPERATOR = "baas_operator"
    AUTHORITY = "authority"
    NOTIFIED_BODY = "notified_body"


def _checked_key(text: str | None) -> str | None:
    """A public key as a participant registers it, checked as the ledger will read it (refused here, not at the
    first signed event): base64url text of 32 raw bytes that encode a point of the curve's prime-order group — not
    a small-order point such as the neutral element, with which a "signature" nobody made verifies under a lax
    check, and not a non-canonical encoding (libsodium's ``crypto_core_ed25519_is_valid_point``). The ledger
    reads keys with ``trace.keys.public_key_from_text``; this module stays below ``trace`` (no import of it)."""
    if text is None:
        return None
    from nacl.bindings import crypto_core_ed25519_is_valid_point

    t = text.strip()
    try:
        raw = base64.urlsafe_b64decode(t + "=" * (-len(t) % 4))
    except (ValueError, TypeError):
        raise ValueError(f"public key {t[:20]!r}… is not base64url text") from None
    if len(raw) != 32:
        raise ValueError(f"an Ed25519 public key is 32 raw bytes; this one has {len(raw)}")
    if not crypto_core_ed25519_is_valid_point(raw):
        raise ValueError("public key: not a valid Ed25519 key (not a canonical point of the prime-order group; "
                         "small-order points such as the neutral element are refused) — register the public key of "
                         "a key pair made by an Ed25519 library")
    return t


class ParticipantIn(BaseModel):
    """A participant as registered: id (BPNL, Ouranos operator id or Korean business number), name, country, roles."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    id: Annotated[str, AfterValidator(normalize_participant_id)]
    name: str = Field(min_length=1, max_length=200)
    country: Annotated[str, AfterValidator(validate_country)]
    roles: list[Role] = Field(min_length=1, max_length=len(Role))
    public_key: Annotated[str | None, AfterValidator(_checked_key)] = Field(
        None, max_length=200, description="Ed25519 public key (base64url, raw 32 bytes) for signed events"
    )

    @property
    def id_scheme(self) -> IdScheme:
        return classify_participant_id(self.id)


class Participant(ParticipantIn):
    id_scheme_value: str = Field(alias="id_scheme")
    created_at: datetime

    model_config = ConfigDict(populate_by_name=True)
