"""Participants and their API tokens."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel, Field

from ..access import Caller, Resource, authorize
from ..errors import Forbidden
from ..participants import ParticipantIn, Role
from .deps import Services, caller, participant, services

router = APIRouter(prefix="/api/v1", tags=["participants"])

CallerDep = Annotated[Caller, Depends(caller)]
ServicesDep = Annotated[Services, Depends(services)]
ParticipantDep = Annotated[Caller, Depends(participant)]
TokenId = Annotated[int, Path(ge=1, le=2**31 - 1, description="the token's id, as its listing shows it")]


class TokenRequest(BaseModel):
    label: str = Field("", max_length=100)
    ttl_days: int | None = Field(None, ge=0, le=3650, description=(
        "days the token lives; default: the node's BATTERYLOOP_TOKEN_TTL_DAYS. A participant may ask for at "
        "most that many days; 0 (never expires) and longer lives only the node administrator"))


class TokenOut(BaseModel):
    id: int = Field(description="the token's public id: name it by this to list or revoke it")
    participant_id: str
    label: str
    created_at: str
    expires_at: str | None = Field(description="null: never expires")
    token: str = Field(description="shown once; only its SHA-256 hash is stored")


class TokenInfo(BaseModel):
    id: int
    participant_id: str
    label: str
    created_at: str
    expires_at: str | None
    revoked_at: str | None
    last_used_at: str | None = Field(description="to the hour: written at most once an hour")
    state: str = Field(description="active, expired or revoked")


def _own_tokens(c: Caller, participant_id: str) -> None:
    """``participant.tokens.manage``: the node administrator, or the participant itself."""
    authorize(c, "participant.tokens.manage", Resource("participant", participant_id, participant=participant_id))


@router.post("/participants", status_code=201, summary="Register a participant (node admin)")
def create_participant(body: ParticipantIn, c: ParticipantDep, s: ServicesDep) -> dict[str, Any]:
    authorize(c, "participant.create", Resource("participant", body.id))
    return s.participants.create(body)


@router.get("/participants", summary="List participants")
def list_participants(s: ServicesDep, role: Role | None = None) -> list[dict[str, Any]]:
    return s.participants.list(role)


@router.get("/participants/{participant_id}", summary="One participant")
def get_participant(participant_id: str, s: ServicesDep) -> dict[str, Any]:
    return s.participants.get(participant_id)


@router.post("/participants/{participant_id}/tokens", status_code=201, response_model=TokenOut,
             summary="Issue an API token (node admin, or the participant itself)")
def issue_token(participant_id: str, body: TokenRequest, c: ParticipantDep, s: ServicesDep) -> TokenOut:
    _own_tokens(c, participant_id)
    default = s.participants.token_ttl
    if not c.is_admin and default is not None and body.ttl_days is not None and (
            body.ttl_days == 0 or timedelta(days=body.ttl_days) > default):
        raise Forbidden(f"a participant issues itself tokens of at most {default.days} days (ttl_days 1 to "
                        f"{default.days}); longer or unlimited ones only the node administrator")
    ttl = None if body.ttl_days is None else timedelta(days=body.ttl_days)
    return TokenOut(**s.participants.issue(participant_id, body.label, ttl))


@router.get("/participants/{participant_id}/tokens", response_model=list[TokenInfo],
            summary="A participant's API tokens, never the tokens themselves (node admin, or the participant)")
def list_tokens(participant_id: str, c: ParticipantDep, s: ServicesDep) -> list[dict[str, Any]]:
    _own_tokens(c, participant_id)
    return s.participants.tokens(participant_id)


@router.delete("/participants/{participant_id}/tokens/{token_id}", response_model=TokenInfo,
               summary="Revoke one API token, from the next request on (node admin, or the participant)")
def revoke_token(participant_id: str, token_id: TokenId, c: ParticipantDep, s: ServicesDep) -> dict[str, Any]:
    _own_tokens(c, participant_id)
    return s.participants.revoke_token(participant_id, token_id)


@router.delete("/participants/{participant_id}/tokens",
               summary="Revoke all of a participant's API tokens (node admin, or the participant)")
def revoke_tokens(participant_id: str, c: ParticipantDep, s: ServicesDep) -> dict[str, int]:
    _own_tokens(c, participant_id)
    return {"revoked": s.participants.revoke_tokens(participant_id)}


@router.get("/me", summary="Who the bearer token stands for")
def me(c: ParticipantDep, s: ServicesDep) -> dict[str, Any]:
    if c.is_admin:
        return {"admin": True}
    return s.participants.get(c.participant_id)  # type: ignore[arg-type]


@router.get("/audit", tags=["audit"], summary="Restricted reads: who read which passport, when, which tiers")
def audit(c: ParticipantDep, s: ServicesDep, passport_id: str | None = None, actor: str | None = None,
          since: Annotated[str | None, Query(max_length=40, description="entries at or after this date or time "
                                                                        "(ISO 8601)")] = None,
          limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> list[dict[str, Any]]:
    """Authorities and the node admin see every entry; an economic operator sees reads of its own passports.
    A ``since`` that is not a date or time, or a ``limit`` outside 1–1,000, is a 422 naming it (it was an empty
    answer, or silently clamped)."""
    return s.audit.query(c, passport_id=passport_id, actor=actor, since=_since(since), limit=limit)


def _since(value: str | None) -> str | None:
    """``since`` as the store's UTC text (a date or a time without zone: UTC), or InvalidData naming it."""
    import datetime as dt

    from ..errors import InvalidData
    from ..store.db import iso_text

    if value is None or not value.strip():
        return None
    try:
        t = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        return iso_text(t if t.tzinfo is not None else t.replace(tzinfo=dt.UTC))
    except (ValueError, OverflowError):
        raise InvalidData(f"since: {value[:40]!r} is not a date or time (ISO 8601, e.g. 2025-12-31 or "
                          "2025-12-31T23:00:00Z)", [{"field": "since", "rule": "date", "value": value[:40],
                                                   "message": "since: a date or time (ISO 8601)"}]) from None
