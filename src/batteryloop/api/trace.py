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
from ..trace.outflows import DEFAULT_LIMIT, to_csv
from ..trace.queries import RECALL_PAGE_DEFAULT
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
def recall(request: Request, c: ParticipantDep, s: ServicesDep, key: str, by: Annotated[str, Query(pattern=r"^(lot|site|supplier)$")] = "lot",
           through_recycling: Annotated[bool, Query(
               description="follow the material through recycling (packs → black mass → recovered lots → later "
                           "packs); false stops at recovered lots: the first-life packs only")] = True,
           limit: Annotated[int, Query(ge=1, le=100_000, description=(
               "one page of packs, by pack id (with offset): the answer gives count (all packs), offset, limit "
               "and next_offset, each pack with its holder"))] = RECALL_PAGE_DEFAULT,
           offset: Annotated[int, Query(ge=0)] = 0,
           whole: Annotated[bool, Query(alias="all", description=(
               "every pack in one answer, with the count of packs per holder (holders); limit and offset are "
               "then refused. A big lot's whole answer reads every pack's row and custody: page instead"))] = False,
           ) -> Response:
    _require_overseer(c, "a recall")
    if whole:
        given = [k for k in ("limit", "offset") if k in request.query_params]
        if given:
            raise InvalidData(f"recall: all=true gives every pack; {' and '.join(given)} cannot be given with it",
                              [{"field": k, "rule": "conflict", "message": f"{k}: not with all=true",
                                "value": request.query_params[k]} for k in given])
        return json_response(s.trace.recall(key, by, through_recycling))
    return json_response(s.trace.recall(key, by, through_recycling, limit=limit, offset=offset))


@router.get("/outflows", summary="Packs that left the loop without a record, as of a date (authorities, admin; JSON or CSV)",
            responses={200: {"content": {"application/json": {}, "text/csv": {}}}})
def outflows(
    request: Request, c: ParticipantDep, s: ServicesDep,
    as_of: Annotated[str | None, Query(description="date or time (ISO 8601) the report is made as of; default: the "
                                                   "time of the last event in the ledger")] = None,
    k: Annotated[float | None, Query(description="silent once the gap since a pack's last event exceeds k times its "
                                                 "median interval between events (default 1.5)")] = None,
    floor_days: Annotated[float | None, Query(description="never silent sooner (default 30 days)")] = None,
    default_days: Annotated[float | None, Query(description="threshold of a pack with too few intervals for a "
                                                            "rhythm (default 365 days)")] = None,
    min_intervals: Annotated[int | None, Query(description="intervals needed for a rhythm (default 3)")] = None,
    removed_days: Annotated[float | None, Query(description="threshold of a pack removed from its vehicle and not "
                                                            "collected (default 90 days)")] = None,
    min_transit_hours: Annotated[float | None, Query(description="a country change faster than this is an "
                                                                 "impossible move (default 1 h)")] = None,
    model: Annotated[str | None, Query(description="the packs of one battery model")] = None,
    country: Annotated[str | None, Query(description="findings placing the pack in, or moving it from, this "
                                                     "country (ISO 3166-1 alpha-2)")] = None,
    kind: Annotated[list[str] | None, Query(description="finding kinds (repeat, or comma-separated): "
                                            "country_change_without_shipment, impossible_move, "
                                            "left_region_without_export, exported_before_end_of_life, silent")] = None,
    participant: Annotated[str | None, Query(description="findings whose holder, or the actor of whose event, is "
                                                         "this participant")] = None,
    limit: Annotated[int | None, Query(description="findings per page (default 100, at most 10,000; the CSV "
                                                   "has every finding unless a limit is given)")] = None,
    offset: Annotated[int, Query(description="findings to skip (the previous page's next_offset)")] = 0,
    format: Annotated[str | None, Query(pattern=r"^(json|csv)$")] = None,
) -> Response:
    """As of ``as_of`` (default: the last event in the ledger, so a pilot that ended years ago is not silent
    everywhere): packs that changed country without a shipment record, moved faster than any shipment
    could, left a watched region without an export record or were exported before end of life, and packs
    silent for longer than their own reporting rhythm allows. Filtered, paged (``total``, ``next_offset``)
    and counted by kind; the answer states every parameter. CSV by ``?format=csv`` or ``Accept: text/csv``.
    A bad parameter gets 422 naming it."""
    _require_overseer(c, "the outflow report")
    fmt = format or ("csv" if "text/csv" in request.headers.get("accept", "") else "json")
    params = s.trace.outflow_params(
        as_of=as_of, k=k, floor_days=floor_days, default_days=default_days, min_intervals=min_intervals,
        removed_days=removed_days, min_transit_hours=min_transit_hours, model=model, country=country, kind=kind,
        participant=participant, limit=limit if limit is not None or fmt == "csv" else DEFAULT_LIMIT, offset=offset)
    rep = s.trace.outflows(params)
    if fmt == "csv":
        return Response(to_csv(rep["findings"]), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="outflows-{rep["as_of"][:10]}.csv"',
                                 "X-Total-Count": str(rep["total"])})
    return json_response(rep)


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
    out = s.trace.recycled_content(model_id=model_id, year=year, plant=plant, pack_id=pack_id, rule=rule)
    # the applied years a late transformation made stale (read-only; the late events are not named here)
    stale = [{"year": x["year"], "since": x["since"]} for x in s.trace.stale_recycled_content_years()]
    return json_response({**out, "stale_years": stale})


@router.post("/recycled-content/apply",
             summary="Write Art. 8 recycled content from the ledger into the passports of a year's packs "
                     "(their economic operator)")
def apply_recycled_content(c: ParticipantDep, s: ServicesDep, year: Annotated[int, Query(ge=1900, le=2200)],
                           model_id: str | None = None, plant: str | None = None) -> Response:
    """Each pack made in ``year`` gets its model's, plant's and year's figure (``battery.recycled_content``),
    one new passport version where it changed; passports the caller may not update are not written. The answer
    shows the groups holding passports the caller may update, counting those (the authorities: every group);
    the others are counted in ``groups_not_yours``; ``stale_years`` names the applied years a transformation
    recorded late changed (apply them again)."""
    rep = s.trace.apply_recycled_content(year, c, model_id=model_id, plant=plant)
    return json_response(s.trace.apply_answer_for(rep, c))
