"""Traceability over HTTP: append signed lifecycle events, verify the ledger, lineage, recall, outflows.

Events arrive signed by their actors (Ed25519, public keys in the participant registry); the server
never holds a participant's private key. Supply-chain queries reveal suppliers and origins, which
stay confidential: they are answered to authorities, the node admin, and for a pack to its economic
operator (lineage, custody, sourcing risks).
"""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from ..access import Caller, Resource, authorize, decide
from ..errors import InvalidData, deny
from ..responses import json_response
from .deps import Services, participant, require_supply_chain, services

router = APIRouter(prefix="/api/v1/trace", tags=["trace"])
ParticipantDep = Annotated[Caller, Depends(participant)]
ServicesDep = Annotated[Services, Depends(services)]


def _require_overseer(c: Caller, what: str) -> None:
    """``trace.ledger.read_all``: the whole ledger, across companies (suppliers and volumes stay confidential)."""
    d = decide(c, "trace.ledger.read_all", Resource("ledger"))
    if not d:
        raise deny(c.anonymous, f"{what} is answered to authorities and the node admin (suppliers and volumes "
                   f"stay confidential): {d.reason}")  # type: ignore[union-attr]


@router.post("/events", status_code=201, summary="Append one signed lifecycle event (idempotent)")
def submit(event: dict[str, Any], c: ParticipantDep, s: ServicesDep) -> Response:
    res = s.trace.submit(event, None if c.is_admin else c)
    return json_response({"event_id": res.event_id, "hash": res.hash, "status": res.status},
                         201 if res.status == "stored" else 200)


@router.post("/batches", status_code=201, summary="Append a batch of signed events, all or nothing (JSON list or JSON lines)")
async def batch(request: Request, c: ParticipantDep, s: ServicesDep) -> Response:
    body = await request.body()
    text = body.decode("utf-8-sig", errors="replace").strip()
    if text.startswith("["):
        try:
            events: list[Any] = orjson.loads(text)
        except orjson.JSONDecodeError as exc:
            raise InvalidData(f"body: not valid JSON ({exc})", [{"field": "body", "rule": "json",
                              "message": f"body: {exc}", "value": None}]) from None
    else:
        events = [line for line in text.splitlines() if line.strip()]
    import anyio

    rep = await anyio.to_thread.run_sync(lambda: s.trace.ingest(events, None if c.is_admin else c, workers=1))
    if not rep.ok:
        err = rep.error or {}
        raise InvalidData(f"batch refused, nothing stored: event {err.get('index')}: {err.get('detail')}",
                          err.get("errors") or [], report=rep.as_dict())
    return json_response(rep.as_dict(), 201)


@router.get("/events/{event_id}", summary="One event as stored (signed)")
def event(event_id: str, c: ParticipantDep, s: ServicesDep) -> Response:
    ev = s.trace.event(event_id)
    authorize(c, "trace.event.read", Resource("event", event_id, actor=ev["event"].get("actor")))
    return json_response(ev)


@router.get("/verify", summary="Verify one event, one chain, or (authorities, admin) the whole ledger")
def verify(c: ParticipantDep, s: ServicesDep, subject: str | None = None, event_id: str | None = None,
           derived: Annotated[bool, Query(description="also rebuild lots and custody from the events")] = False
           ) -> Response:
    if subject is None and event_id is None:
        _require_overseer(c, "verifying the whole ledger")
    out = s.trace.verify(subject=subject, event_id=event_id).as_dict()
    if derived:
        _require_overseer(c, "verifying the derived tables")
        out["derived"] = s.trace.verify_derived().as_dict()
    return json_response(out)


@router.get("/packs/{pack_id}/lineage", summary="Every upstream lot of a pack, with origin and processing shares")
def lineage(pack_id: str, c: ParticipantDep, s: ServicesDep) -> Response:
    require_supply_chain(c, s, pack_id)
    return json_response(s.trace.lineage(pack_id))


@router.get("/packs/{pack_id}/custody", summary="Who held the pack, and where, over time")
def custody(pack_id: str, c: ParticipantDep, s: ServicesDep) -> Response:
    require_supply_chain(c, s, pack_id)
    return json_response(s.trace.custody(pack_id))


@router.get("/packs/{pack_id}/sourcing-risks", summary="Responsible-sourcing flags on the pack's origins")
def sourcing(pack_id: str, c: ParticipantDep, s: ServicesDep) -> Response:
    require_supply_chain(c, s, pack_id)
    return json_response(s.trace.sourcing_risks(pack_id))


@router.get("/recall", summary="Every pack downstream of a lot, site or supplier (authorities, admin)")
def recall(c: ParticipantDep, s: ServicesDep, key: str, by: Annotated[str, Query(pattern=r"^(lot|site|supplier)$")] = "lot"
           ) -> Response:
    _require_overseer(c, "a recall")
    return json_response(s.trace.recall(key, by))


@router.get("/outflows", summary="Packs that left the loop without a record (authorities, admin)")
def outflows(c: ParticipantDep, s: ServicesDep) -> Response:
    _require_overseer(c, "the outflow report")
    return json_response(s.trace.outflows())


@router.get("/recycled-content", summary="Recycled content (Art. 8) by mass balance or physical segregation")
def recycled_content(c: ParticipantDep, s: ServicesDep, model_id: str | None = None, year: int | None = None,
                     plant: str | None = None, pack_id: str | None = None,
                     rule: Annotated[str | None, Query(pattern=r"^(mass_balance|physical_segregation)$")] = None
                     ) -> Response:
    if pack_id:
        require_supply_chain(c, s, pack_id)
    elif model_id:
        m = s.passports.get_model(model_id, c)
        authorize(c, "model.recycled_content.read", Resource("model", model_id,
                                                              manufacturer=m["data"]["manufacturer_id"]))
    elif not model_id:
        _require_overseer(c, "recycled content across models")
    return json_response(s.trace.recycled_content(model_id=model_id, year=year, plant=plant, pack_id=pack_id, rule=rule))


@router.post("/recycled-content/apply",
             summary="Write Art. 8 recycled content from the ledger into the passports of a year's packs "
                     "(their economic operator)")
def apply_recycled_content(c: ParticipantDep, s: ServicesDep, year: Annotated[int, Query(ge=1900, le=2200)],
                           model_id: str | None = None, plant: str | None = None) -> Response:
    """Each pack made in ``year`` gets its model's, plant's and year's figure (``battery.recycled_content``),
    one new passport version where it changed; passports the caller may not update are counted, not written."""
    return json_response(s.trace.apply_recycled_content(year, c, model_id=model_id, plant=plant))
