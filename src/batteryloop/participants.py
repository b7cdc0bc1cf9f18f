"""Participants: the companies and bodies that take part in the battery loop."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from .keyformat import canonical_public_key
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
    first signed event): base64url text of 32 raw bytes that encode a point of the curve's prime-order group, not
    a small-order or non-canonical one (:func:`batteryloop.keyformat.public_key_bytes`, the format ``trace.keys``
    reads too; this module stays below ``trace``), strictly base64url (:func:`batteryloop.keyformat.canonical_public_key`)."""
    if text is None:
        return None
    return canonical_public_key(text)  # strictly base64url, stored in its canonical form


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
