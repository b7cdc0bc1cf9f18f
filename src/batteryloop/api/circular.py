"""Circular decisions over HTTP: footprints, recycling, routes, compliance, and the reference sets used."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field, model_validator

from ..access import Caller
from ..circular import CircularInputError, decide_route, recycle_mass
from ..errors import InvalidData
from ..reference import References
from ..responses import json_response
from .deps import Services, caller, participant, services

router = APIRouter(prefix="/api/v1", tags=["circular"])

CallerDep = Annotated[Caller, Depends(caller)]
ParticipantDep = Annotated[Caller, Depends(participant)]
ServicesDep = Annotated[Services, Depends(services)]


def _refs(overrides: dict[str, dict[str, Any]] | None) -> References | None:
    if not overrides:
        return None
    try:
        return References.default().override(overrides)
    except CircularInputError:
        raise  # a 422 naming the field, like any of our errors (not the override clause below)
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

        return json_response(s.circular.apply_model_footprint(model_id, require_participant(c), **kw))
    return json_response(s.circular.model_footprint(model_id, **kw))


class RouteIn(BaseModel):
    economics: dict[str, float] | None = None
    prices_usd_per_kg: dict[str, float] | None = None
    references: dict[str, dict[str, Any]] | None = None


@router.post("/passports/{passport_id}/route", summary="Grade a retired pack and rank its routes by NPV")
def pack_route(passport_id: str, body: RouteIn, c: ParticipantDep, s: ServicesDep) -> Response:
    return json_response(s.circular.pack_route(passport_id, c, economics=body.economics,
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
    res = recycle_mass(body.chemistry, body.mass_kg, body.process, basis=body.basis,  # type: ignore[arg-type]
                       prices_usd_per_kg=body.prices_usd_per_kg, references=_refs(body.references))
    return json_response([r.model_dump(mode="json") for r in res])


class DecideIn(RouteIn):
    chemistry: str
    capacity_kwh: float = Field(gt=0)
    soh_fraction: float = Field(gt=0, le=1)
    grade: str | None = None
    pack_mass_kg: float | None = Field(None, gt=0, description="the pack mass its passport declares: recycling is "
                                       "valued on that pack (BatPaC's pack mass when absent; pack_mass_basis says which)")


@router.post("/circular/route", summary="Rank re-use, remanufacture, repurpose and recycling for given figures")
def route(body: DecideIn) -> Response:
    d = decide_route(body.chemistry, body.capacity_kwh, body.soh_fraction, grade=body.grade,
                     economics=body.economics, prices_usd_per_kg=body.prices_usd_per_kg,
                     pack_mass_kg=body.pack_mass_kg, references=_refs(body.references))
    return json_response(d.model_dump(mode="json"))


@router.get("/circular/references", summary="The reference data sets: sources, dates and values")
def references() -> Response:
    return json_response(References.default().describe())


@router.get("/circular/compliance", summary="Compliance report of a model and year: Art. 8, Annex XII, Art. 7 (JSON or CSV)",
            responses={200: {"content": {"application/json": {}, "text/csv": {}}}})
def compliance(request: Request, c: CallerDep, s: ServicesDep, model: Annotated[str, Query(min_length=1, max_length=200)],
               year: Annotated[int, Query(ge=2000, le=2100)], plant: str | None = None,
               rule: Annotated[str | None, Query(description="mass_balance or physical_segregation")] = None,
               process: Annotated[list[str] | None, Query(description="pyro, hydro, direct (default: all)")] = None,
               manufacturing_country: Annotated[str | None, Query(pattern=r"^[A-Z]{2}$")] = None,
               format: Annotated[str | None, Query(pattern=r"^(json|csv)$")] = None) -> Response:
    """Recycled content from the traceability ledger (never assumed: without traced lots the report says
    so), recycling efficiency and recovery of the model's chemistry by process, carbon footprint and class;
    every figure with its reference values and the allocation rule. CSV by ``?format=csv`` or ``Accept: text/csv``.
    The model's volumes (pack count, element masses) only for its manufacturer and the authorities; anyone else
    gets the shares with masses per 100 kg of each element."""
    fmt = format or ("csv" if "text/csv" in request.headers.get("accept", "") else "json")
    rep = s.circular.compliance(model, year, plant=plant, rule=rule, processes=process,
                                manufacturing_country=manufacturing_country, caller=c)
    text = rep.pop("_csv")
    if fmt == "csv":
        name = f"compliance-{model}-{year}.csv".replace("/", "_")
        return Response(text, media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'inline; filename="{name}"'})
    return json_response(rep)


class BaasPriceIn(BaseModel):
    pack_cost: float | None = Field(None, gt=0, description="pack cost, any currency (or give a pack below)")
    term_months: int = Field(96, ge=1, le=600, description="expected life / subscription term")
    residual_value: float = Field(0.0, ge=0)
    annual_discount_rate_fraction: float = Field(0.08, ge=0, le=1)
    margin_fraction: float = Field(0.0, ge=0)
    operating_cost_per_month: float = Field(0.0, ge=0)
    chemistry: str | None = None
    capacity_kwh: float | None = Field(None, gt=0)
    soh_at_term_end_fraction: float | None = Field(None, gt=0, le=1)
    pack_mass_kg: float | None = Field(None, gt=0, description="with a pack: the pack mass its passport declares, "
                                       "on which recycling (and so the residual value) is valued; BatPaC's pack "
                                       "mass when absent. Refused below the cells' mass or above the bound per kWh")
    residual_share_fraction: float | None = Field(None, ge=0, le=1, description="with a pack: the share of the "
                                                  "retired pack's route value the operator is paid (its residual "
                                                  "value); default batteryloop_assumptions.pilot."
                                                  "seller_share_of_route_value_fraction (0.4)")
    references: dict[str, dict[str, Any]] | None = None


@router.post("/circular/baas/price", summary="Monthly BaaS subscription price, compared with NIO's published fees")
def baas_price(body: BaasPriceIn) -> Response:
    from ..circular.service import CircularService

    kw = body.model_dump(exclude={"references"})
    return json_response(CircularService.baas_price(**kw, references=_refs(body.references)))


@router.get("/circular/baas/buyout", summary="NIO's buyout price after some payments, or the schedule")
def baas_buyout(payments: Annotated[int | None, Query(ge=0, le=1200)] = None,
                months: Annotated[int, Query(ge=0, le=600)] = 72) -> Response:
    from ..circular import buyout_schedule, nio_buyout_price

    if payments is not None:
        return json_response(nio_buyout_price(payments).model_dump(mode="json"))
    sched = buyout_schedule(months)
    return json_response({"schedule": [{"payments_made": q.payments_made, "price": q.price} for q in sched],
                          "references": [r.model_dump(mode="json") for r in sched[0].references]})


from ..circular import SwapStationConfig  # noqa: E402


#: pack-steps (days × steps a day × packs in the station) one HTTP request may simulate: about 3 s of CPU on this
#: project's 2-core machine (1.44 M pack-steps took 0.47 s); the default (30 days, 5 min, 20 packs) is 172,800
MAX_HTTP_PACK_STEPS = 10_000_000


class SwapStationIn(SwapStationConfig):
    days: int = Field(30, ge=1, le=90, description="at most 90 over HTTP (the CLI runs longer)")
    vehicles: int = Field(300, ge=1, le=20000)
    swaps_per_day: float = Field(150.0, ge=0, le=2000)
    chargers: int = Field(8, ge=1, le=1000)
    references: dict[str, dict[str, Any]] | None = None

    @model_validator(mode="after")
    def _bounded(self) -> SwapStationIn:
        work = self.days * (1440 // self.step_minutes) * self.packs_in_station
        if work > MAX_HTTP_PACK_STEPS:
            raise ValueError(
                f"days: {self.days} days at {self.step_minutes}-minute steps with {self.packs_in_station} packs is "
                f"{work:,} pack-steps, more than the {MAX_HTTP_PACK_STEPS:,} one request may simulate — fewer days, "
                "longer steps or fewer packs (the CLI `batteryloop circular swap-station` runs any size)")
        return self


@router.post("/circular/baas/swap-station", summary="Simulate a swap station and return its KPIs (≤ 90 days here)")
def baas_swap_station(body: SwapStationIn) -> Response:
    from ..circular import simulate_swap_station

    cfg = SwapStationConfig(**body.model_dump(exclude={"references"}))
    return json_response(simulate_swap_station(cfg, _refs(body.references)).model_dump(mode="json"))
