"""Second-life storage hubs and virtual power plants over HTTP (the calculations of batteryloop.hubs)."""

from __future__ import annotations

from typing import Any

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import Response
from pydantic import BaseModel, Field

from ..circular import CircularInputError
from ..errors import InvalidData
from ..access import Caller
from ..responses import json_response
from .circular import _refs
from .deps import Services, participant, services

router = APIRouter(prefix="/api/v1/hubs", tags=["hubs"])


def _call(fn):  # type: ignore[no-untyped-def]
    """Run a hub calculation. Bad input answers 422 with the value as text (at most 200 characters: a hub's
    inputs are long arrays); a solver failure is a :class:`~batteryloop.hubs.DispatchError` (500 "Solver
    failed"), answered by the problem mapping like any error of ours."""
    try:
        return fn()
    except CircularInputError as exc:
        raise InvalidData(str(exc), [{"field": exc.field, "rule": exc.rule, "message": str(exc),
                                      "value": str(exc.value)[:200]}]) from None


class SimulateIn(BaseModel):
    config: dict[str, Any] = Field(description="a hub config, as in docs/hubs.md")
    days: int = Field(365, ge=1, le=366)
    method: str = Field("optimised", pattern=r"^(optimised|rule_based)$")
    compare: bool = True
    figures: bool = False
    references: dict[str, dict[str, Any]] | None = None


@router.post("/simulate", summary="Simulate a hub's year: dispatch (HiGHS), pack ageing, economics")
def simulate(body: SimulateIn) -> Response:
    from ..hubs.report import hub_report

    out = _call(lambda: hub_report(body.config, days=body.days, method=body.method, compare=body.compare,
                                   figures=body.figures, references=_refs(body.references)))
    return json_response(out)


class VppIn(BaseModel):
    hubs: list[dict[str, Any]] = Field(min_length=1, max_length=50)
    signal: dict[str, Any]
    day: int = Field(180, ge=0, le=365)
    references: dict[str, dict[str, Any]] | None = None


@router.post("/vpp", summary="A virtual power plant day: offers and delivery against a grid signal")
def vpp(body: VppIn) -> Response:
    from ..hubs.report import vpp_report

    out = _call(lambda: vpp_report(body.hubs, body.signal, day=body.day, references=_refs(body.references)))
    return json_response(out)


class PlanIn(BaseModel):
    passport_ids: list[str] | None = Field(None, max_length=2000, description="default: your repurposed packs")
    template: dict[str, Any] | None = Field(None, description="PV, grid and demand of the hub (docs/hubs.md)")
    packs_per_string: int = Field(4, ge=1, le=64)
    site: str | None = Field(None, max_length=100, description="a hub_sites site or a country code; default: your "
                                                               "participant's country")


@router.post("/plan", summary="Build a hub from repurposed packs' passports (grades, balanced strings)")
def plan(body: PlanIn, c: Annotated[Caller, Depends(participant)], s: Annotated[Services, Depends(services)]) -> Response:
    from ..hubs.service import plan_from_passports

    where = body.site or (s.participants.get(c.participant_id)["country"] if c.participant_id else None)
    out = _call(lambda: plan_from_passports(s.passports, c, passport_ids=body.passport_ids, template=body.template,
                                            packs_per_string=body.packs_per_string, site=where))
    return json_response(out)
