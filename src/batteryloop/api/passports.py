"""Battery models and passports: create, read cut to tier, search, history, diff, QR, status changes."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Body, Depends, Path, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from ..access import Caller
from ..errors import InvalidData
from ..passport.identifiers import qr_png, qr_svg, web_link
from ..passport.lifecycle import StatusEvent
from ..passport.model import BatteryData, BatteryModelData, BatteryStatus, Chemistry
from ..responses import json_response
from .deps import Services, caller, participant, services

router = APIRouter(prefix="/api/v1", tags=["passports"])

CallerDep = Annotated[Caller, Depends(caller)]
ServicesDep = Annotated[Services, Depends(services)]
ParticipantDep = Annotated[Caller, Depends(participant)]


# ------------------------------------------------------------------------------- models
@router.post("/models", status_code=201, summary="Register a battery model (its manufacturer)")
def create_model(body: BatteryModelData, c: ParticipantDep, s: ServicesDep) -> Response:
    return json_response(s.passports.create_model(body.model_dump(mode="json", exclude_none=True), c), 201)


@router.get("/models", summary="Battery models, cut to the caller's tiers")
def list_models(c: CallerDep, s: ServicesDep) -> Response:
    return json_response(s.passports.list_models(c))


@router.get("/models/{model_id}", summary="One battery model, cut to the caller's tiers")
def get_model(model_id: str, c: CallerDep, s: ServicesDep) -> Response:
    return json_response(s.passports.get_model(model_id, c))


@router.patch("/models/{model_id}", summary="Change a model (JSON merge patch); makes a new version")
def patch_model(model_id: str, c: ParticipantDep, s: ServicesDep,
                patch: Annotated[dict[str, Any], Body(description="RFC 7386 merge patch")]) -> Response:
    return json_response(s.passports.update_model(model_id, patch, c))


@router.get("/models/{model_id}/history", summary="A model's versions")
def model_history(model_id: str, s: ServicesDep) -> Response:
    return json_response(s.passports.model_history(model_id))


# ---------------------------------------------------------------------------- passports
class BatchIn(BaseModel):
    passports: list[dict[str, Any]] = Field(max_length=10_000)


class StatusIn(BaseModel):
    event: StatusEvent
    new_serial_number: str | None = Field(None, max_length=40, description="for repurpose/remanufacture")
    new_model_id: str | None = Field(None, max_length=100, description="for repurpose/remanufacture")
    note: str | None = Field(None, max_length=150)


@router.post("/passports", status_code=201, summary="Issue a passport (the economic operator)")
def create_passport(body: BatteryData, c: ParticipantDep, s: ServicesDep) -> Response:
    return json_response(s.passports.create_passport(body.model_dump(mode="json", exclude_none=True), c), 201)


@router.post("/passports/batch", status_code=201, summary="Issue many passports, all or nothing")
def create_batch(body: BatchIn, c: ParticipantDep, s: ServicesDep) -> Response:
    r = s.passports.import_passports(body.passports, c)
    if r.errors:
        first = r.errors[0]
        raise InvalidData(f"batch refused, nothing stored: record {first['index']}: {first['message']}",
                          [e for err in r.errors for e in (err["errors"] or [{"message": err["message"]}])
                           ][:50], records=[{"index": e["index"], "message": e["message"]} for e in r.errors])
    return json_response({"received": r.received, "stored": r.stored, "ids": r.ids}, 201)


@router.get("/passports", summary="Search passports (keyset pagination by id)")
def search(c: CallerDep, s: ServicesDep,
           model_id: str | None = None, chemistry: Chemistry | None = None, status: BatteryStatus | None = None,
           economic_operator_id: str | None = None,
           manufacture_country: Annotated[str | None, Query(pattern=r"^[A-Za-z]{2}$")] = None,
           manufactured_from: dt.date | None = None, manufactured_to: dt.date | None = None,
           after: Annotated[str | None, Query(max_length=50, description="the `next` of the previous page")] = None,
           limit: Annotated[int, Query(ge=1, le=500)] = 50) -> Response:
    return json_response(s.passports.search(
        c, model_id=model_id, chemistry=chemistry.value if chemistry else None,
        status=status.value if status else None, economic_operator_id=economic_operator_id,
        manufacture_country=manufacture_country, manufactured_from=manufactured_from,
        manufactured_to=manufactured_to, after=after, limit=limit))


async def get_passport(passport_id: str, request: Request) -> Response:
    """A passport cut to the caller's access tiers.

    The hottest route: the app registers it before every router (see ``install_hot_routes``) so that
    route matching finds it first."""
    # async + inline: a primary-key read is faster on the event loop than through the thread pool
    c = caller(request)
    return json_response(services(request).passports.get_view(passport_id, c))


@router.patch("/passports/{passport_id}", summary="Update battery data (JSON merge patch); a new version")
def patch_passport(passport_id: str, c: ParticipantDep, s: ServicesDep,
                   patch: Annotated[dict[str, Any], Body(description="RFC 7386 merge patch of the battery data")],
                   reason: Annotated[str, Query(max_length=150)] = "updated",
                   if_version: Annotated[int | None, Query(ge=1, description="refuse unless at this version")] = None,
                   ) -> Response:
    return json_response(s.passports.update_passport(passport_id, patch, c, reason=reason, expected_version=if_version))


@router.post("/passports/{passport_id}/status", summary="Re-use, repair, repurpose, remanufacture, waste, recycle")
def change_status(passport_id: str, body: StatusIn, c: ParticipantDep, s: ServicesDep) -> Response:
    return json_response(s.passports.change_status(passport_id, body.event, c, new_serial_number=body.new_serial_number,
                                                   new_model_id=body.new_model_id, note=body.note))


@router.get("/passports/{passport_id}/versions",
            summary="Version history (hashes, times; authors and reasons to the economic operator and authorities)")
def history(passport_id: str, c: CallerDep, s: ServicesDep) -> Response:
    return json_response(s.passports.history(passport_id, c))


@router.get("/passports/{passport_id}/versions/{version}", summary="One version, cut to the caller's tiers")
def version(passport_id: str, version: int, c: CallerDep, s: ServicesDep) -> Response:
    return json_response(s.passports.version_view(passport_id, version, c))


@router.get("/passports/{passport_id}/diff", summary="Field-by-field diff between two versions")
def diff(passport_id: str, c: CallerDep, s: ServicesDep,
         from_: Annotated[int, Query(alias="from", ge=1)], to: Annotated[int, Query(ge=1)]) -> Response:
    return json_response(s.passports.diff(passport_id, from_, to, c))


@router.get("/passports/{passport_id}/verify", summary="Check the passport's version hash chain")
def verify(passport_id: str, s: ServicesDep) -> Response:
    return json_response(s.passports.verify(passport_id))


@router.get("/passports/{passport_id}/export",
            summary="Export cut to tiers (never above the caller's), as ours, Catena-X, IDTA SAMM, AAS JSON or AASX")
def export(passport_id: str, c: CallerDep, s: ServicesDep,
           tiers: Annotated[str | None, Query(description="comma-separated tiers; default: all you hold")] = None,
           format: Annotated[str, Query(description="batteryloop, catenax, idta-samm, aas-json or aasx")] = "batteryloop",
           ) -> Response:
    from ..passport.exporting import export_passport

    out = export_passport(s.passports, s.store, passport_id, c, tiers=tiers, fmt=format)
    headers = {"Content-Disposition": f'attachment; filename="{out.filename}"'}
    if format != "batteryloop":
        headers["X-Batteryloop-Mapping-Report"] = orjson.dumps(
            {k: len(v) for k, v in out.report.items() if isinstance(v, list)}).decode()
    return Response(out.body, media_type=out.media_type, headers=headers)


@router.post("/passports/import", status_code=201,
             summary="Import a passport from Catena-X, IDTA SAMM, AAS JSON or AASX (model created if new)")
async def import_standard(request: Request, c: ParticipantDep, s: ServicesDep,
                          format: Annotated[str, Query(description="auto, catenax, idta-samm, aas-json or aasx")] = "auto",
                          lenient: Annotated[bool, Query(description="drop invalid values (reported) instead of refusing")] = False,
                          default: Annotated[list[str] | None, Query(description="KEY=VALUE for fields the format lacks")] = None,
                          ) -> Response:
    body = await request.body()
    import anyio

    return await anyio.to_thread.run_sync(lambda: _import_standard(s, c, body, format, lenient, default or []))


def _import_standard(s: Services, c: Caller, body: bytes, fmt: str, lenient: bool, defaults: list[str]) -> Response:
    from ..passport.service import import_standard_payload, parse_defaults

    return json_response(import_standard_payload(s.passports, c, body, fmt=fmt, lenient=lenient,
                                                 defaults=parse_defaults(defaults)), 201)


@router.get("/passports/{passport_id}/qr.svg", summary="QR code (ISO/IEC 18004) of the passport's web link")
def qr_code_svg(passport_id: str, s: ServicesDep) -> Response:
    s.passports.get_record(passport_id)
    return Response(qr_svg(web_link(s.settings.public_base_url, passport_id)), media_type="image/svg+xml")


@router.get("/passports/{passport_id}/qr.png", summary="QR code as PNG")
def qr_code_png(passport_id: str, s: ServicesDep) -> Response:
    s.passports.get_record(passport_id)
    return Response(qr_png(web_link(s.settings.public_base_url, passport_id)), media_type="image/png")


@router.get("/stats", summary="Counts of models and passports by chemistry (and by status, to legitimate interest)")
def stats(c: CallerDep, s: ServicesDep) -> Response:
    return json_response(s.passports.count(c))


# -------------------------------------------------------------------------- delegations
class DelegationIn(BaseModel):
    grantee_id: str = Field(min_length=1, max_length=32, description="the service provider's participant id")
    actions: list[str] = Field(min_length=1, max_length=40, description="policy actions (docs/security.md), or *")
    days: float | None = Field(None, gt=0, le=3660, description="in force for this many days (default: until revoked)")


@router.post("/passports/{passport_id}/delegations", status_code=201,
             summary="Delegate actions on a passport to a service provider (its economic operator or custodian)")
def grant_delegation(passport_id: str, body: DelegationIn, c: ParticipantDep, s: ServicesDep) -> Response:
    return json_response(s.delegations.grant(passport_id, body.grantee_id, body.actions, c, days=body.days), 201)


@router.get("/passports/{passport_id}/delegations", summary="Delegations on a passport (operator, custodian, authorities)")
def list_delegations(passport_id: str, c: ParticipantDep, s: ServicesDep) -> Response:
    return json_response(s.delegations.list(passport_id, c))


@router.delete("/passports/{passport_id}/delegations/{delegation_id}", summary="Revoke a delegation")
def revoke_delegation(passport_id: str, delegation_id: Annotated[int, Path(ge=1, le=2**31 - 1)], c: ParticipantDep,
                      s: ServicesDep) -> Response:
    return json_response(s.delegations.revoke(passport_id, delegation_id, c))


def install_hot_routes(app: Any) -> None:
    """Register the passport read first, as a plain Starlette route: routes match in order and this one is
    read the most, and a plain route skips FastAPI's parameter solving (the handler needs only the path).
    The same handler is also declared as a FastAPI route below it, which documents it in the OpenAPI;
    requests never reach that one."""
    from starlette.routing import Route

    async def hot(request: Request) -> Response:
        return await get_passport(request.path_params["passport_id"], request)

    app.router.routes.insert(0, Route("/api/v1/passports/{passport_id}", hot, methods=["GET"], include_in_schema=False))
    app.add_api_route("/api/v1/passports/{passport_id}", get_passport, methods=["GET"], tags=["passports"],
                      summary="A passport cut to the caller's access tiers")
