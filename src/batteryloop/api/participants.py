"""Participants and their API tokens."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from ..access import Caller
from ..errors import Forbidden
from ..participants import ParticipantIn, Role
from .deps import Services, caller, participant, services

router = APIRouter(prefix="/api/v1", tags=["participants"])

CallerDep = Annotated[Caller, Depends(caller)]
ServicesDep = Annotated[Services, Depends(services)]
ParticipantDep = Annotated[Caller, Depends(participant)]


class TokenRequest(BaseModel):
    label: str = Field("", max_length=100)


class TokenOut(BaseModel):
    participant_id: str
    token: str = Field(description="shown once; only its SHA-256 hash is stored")


@router.post("/participants", status_code=201, summary="Register a participant (node admin)")
def create_participant(body: ParticipantIn, c: ParticipantDep, s: ServicesDep) -> dict[str, Any]:
    if not c.is_admin:
        raise Forbidden("only the node administrator registers participants")
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
    if not (c.is_admin or c.participant_id == participant_id):
        raise Forbidden("only the node administrator or the participant itself issues its tokens")
    return TokenOut(participant_id=participant_id, token=s.participants.issue_token(participant_id, body.label))


@router.get("/me", summary="Who the bearer token stands for")
def me(c: ParticipantDep, s: ServicesDep) -> dict[str, Any]:
    if c.is_admin:
        return {"admin": True}
    return s.participants.get(c.participant_id)  # type: ignore[arg-type]


@router.get("/audit", tags=["audit"], summary="Restricted reads: who read which passport, when, which tiers")
def audit(c: ParticipantDep, s: ServicesDep, passport_id: str | None = None, actor: str | None = None,
          since: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
    """Authorities and the node admin see every entry; an economic operator sees reads of its own passports."""
    return s.audit.query(c, passport_id=passport_id, actor=actor, since=since, limit=limit)
