"""Circular decisions over HTTP: footprints, recycling, routes, compliance, and the reference sets used."""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends
from fastapi.responses import Response
from pydantic import BaseModel, Field

from ..access import Caller
from ..circular import CircularInputError, decide_route, recycle_mass
from ..circular.service import input_error
from ..errors import InvalidData
from ..reference import References
from .deps import Services, caller, participant, services

router = APIRouter(prefix="/api/v1", tags=["circular"])

CallerDep = Annotated[Caller, Depends(caller)]
ParticipantDep = Annotated[Caller, Depends(participant)]
ServicesDep = Annotated[Services, Depends(services)]


def _json(obj: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(obj), status_code=status, media_type="application/json")


def _refs(overrides: dict[str, dict[str, Any]] | None) -> References | None:
    if not overrides:
        return None
    try:
        return References.default().override(overrides)
    except CircularInputError as exc:
        raise input_error(exc) from None
    except (KeyError, ValueError, TypeError) as exc:
        raise InvalidData(f"reference overrides: {exc}", [{"field": "references", "rule": "override",
                          "message": f"references: {exc}", "value": None}]) from None


class FootprintIn(BaseModel):
    manufacturing_country: str | None = Field(None, pattern=r"^[A-Z]{2}$",
                                              description="plant country (default: the manufacturer's country)")
    annual_distance_km: float | None = Field(None, gt=0, description="converts a mileage warranty to years")
    usable_energy_fraction: float = Field(1.0, gt=0, le=1)
    class_limits_kgco2e_per_kwh: dict[str, float] | None = None
    references: dict[str, dict[str, Any]] | None = Field(None, description="overrides of reference values")
    apply: bool = Field(False, description="write the result into the model's passport data (its manufacturer)")


@router.post("/models/{model_id}/carbon-footprint", summary="Compute (and optionally apply) a model's carbon footprint")
def model_footprint(model_id: str, body: FootprintIn, c: CallerDep, s: ServicesDep) -> Response:
    kw = dict(manufacturing_country=body.manufacturing_country, annual_distance_km=body.annual_distance_km,
              usable_energy_fraction=body.usable_energy_fraction,
              class_limits_kgco2e_per_kwh=body.class_limits_kgco2e_per_kwh, references=_refs(body.references))
    if body.apply:
        from .deps import require_participant

        return _json(s.circular.apply_model_footprint(model_id, require_participant(c), **kw))
    return _json(s.circular.model_footprint(model_id, **kw))


class RouteIn(BaseModel):
    economics: dict[str, float] | None = None
    prices_usd_per_kg: dict[str, float] | None = None
    references: dict[str, dict[str, Any]] | None = None


@router.post("/passports/{passport_id}/route", summary="Grade a retired pack and rank its routes by NPV")
def pack_route(passport_id: str, body: RouteIn, c: ParticipantDep, s: ServicesDep) -> Response:
    return _json(s.circular.pack_route(passport_id, c, economics=body.economics,
                                       prices_usd_per_kg=body.prices_usd_per_kg, references=_refs(body.references)))


class RecycleIn(BaseModel):
    chemistry: str
    mass_kg: float = Field(gt=0)
    process: str | None = Field(None, description="pyro, hydro or direct; all three when absent")
    basis: str = Field("pack", pattern=r"^(pack|cell)$")
    prices_usd_per_kg: dict[str, float] | None = None
    references: dict[str, dict[str, Any]] | None = None


@router.post("/circular/recycle", summary="Recover a mass of spent batteries by process (EverBatt)")
def recycle(body: RecycleIn) -> Response:
    try:
        res = recycle_mass(body.chemistry, body.mass_kg, body.process, basis=body.basis,  # type: ignore[arg-type]
                           prices_usd_per_kg=body.prices_usd_per_kg, references=_refs(body.references))
    except CircularInputError as exc:
        raise input_error(exc) from None
    return _json([r.model_dump(mode="json") for r in res])


class DecideIn(RouteIn):
    chemistry: str
    capacity_kwh: float = Field(gt=0)
    soh_fraction: float = Field(gt=0, le=1)
    grade: str | None = None


@router.post("/circular/route", summary="Rank re-use, remanufacture, repurpose and recycling for given figures")
def route(body: DecideIn) -> Response:
    try:
        d = decide_route(body.chemistry, body.capacity_kwh, body.soh_fraction, grade=body.grade,
                         economics=body.economics, prices_usd_per_kg=body.prices_usd_per_kg,
                         references=_refs(body.references))
    except CircularInputError as exc:
        raise input_error(exc) from None
    return _json(d.model_dump(mode="json"))


@router.get("/circular/references", summary="The reference data sets: sources, dates and values")
def references() -> Response:
    return _json(References.default().describe())
