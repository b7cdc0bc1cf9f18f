"""Alerts over HTTP: create and list one's rules, list the alerts one may read, evaluate one's rules
(:mod:`batteryloop.alerts`; who may read what is the policy point's ``alert.read``/``alert.rule.manage``)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response

from ..access import Caller
from ..responses import json_response
from .deps import Services, participant, services

router = APIRouter(prefix="/api/v1/alerts", tags=["alerts"])
ServicesDep = Annotated[Services, Depends(services)]
ParticipantDep = Annotated[Caller, Depends(participant)]


@router.post("/rules", status_code=201, summary="Create an alert rule (outflow finding, SoH under a threshold, safety flag)")
def create_rule(body: dict[str, Any], c: ParticipantDep, s: ServicesDep) -> Response:
    """Body: ``name``, ``kind`` (``outflow`` | ``soh_below`` | ``safety_flag``), ``params`` (``kinds``;
    ``threshold_pct``; ``codes``, ``blocking_only``), ``channel`` (``webhook`` | ``email``), ``target`` (URL or
    address) and, for a webhook, ``secret`` (the HMAC-SHA256 key; never shown again). The rule watches the
    caller's own packs (every pack for an authority or the node admin)."""
    return json_response(s.alerts.create_rule(c, body), 201)


@router.get("/rules", summary="The caller's alert rules (secrets never shown)")
def list_rules(c: ParticipantDep, s: ServicesDep) -> Response:
    return json_response({"items": s.alerts.rules(c)})


@router.get("", summary="The alerts the caller may read, newest first, with their deliveries")
def list_alerts(c: ParticipantDep, s: ServicesDep, pack: Annotated[str | None, Query(max_length=100)] = None,
                model: Annotated[str | None, Query(max_length=100)] = None,
                kind: Annotated[str | None, Query(max_length=32)] = None,
                limit: Annotated[int, Query(ge=1, le=1000)] = 200) -> Response:
    items = s.alerts.alerts(c, pack_id=pack, model_id=model, kind=kind, limit=limit)
    return json_response({"items": items, "count": len(items)})


@router.post("/evaluate", summary="Evaluate the caller's rules now: new alerts stored once each, then delivered")
def evaluate(c: ParticipantDep, s: ServicesDep, rule_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None) -> Response:
    return json_response(s.alerts.evaluate(c, rule_id=rule_id))
