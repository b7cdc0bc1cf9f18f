"""The pilot's report over HTTP: the residual value of retired packs by grade and year (issue 18, Kia's Korean
pilot), from the latest ``batteryloop demo`` run. Aggregates only (no pack's own figures): public, like the
dashboard's aggregate pages — a row of fewer than ``sim.report.MIN_GROUP`` packs has its per-pack columns withheld
unless the caller may read the pilot's findings pack by pack (``pilot.findings.read``: authorities, admin)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response

from ..access import Caller, pilot_findings_visible
from ..responses import json_response
from .deps import Services, caller, services

router = APIRouter(prefix="/api/v1/pilot", tags=["pilot"])


@router.get("/residual-value", summary="Residual value of retired packs by grade and year, beside what buyers paid")
def residual_value(s: Annotated[Services, Depends(services)], c: Annotated[Caller, Depends(caller)],
                   region: Annotated[str | None, Query(pattern=r"^(KR|EU|all)$", description="KR, EU or all (default)")] = None,
                   format: Annotated[str, Query(pattern=r"^(json|csv)$")] = "json") -> Response:
    """Per year and intake grade of the packs retired from a vehicle: packs, kWh, mean state of health, the
    residual value the route decision booked (total, per kWh, share of a new pack) and what buyers paid in the
    pilot's sales (total, per kWh, share of the value). ``?format=csv`` for a table."""
    from ..sim.report import MIN_GROUP, latest_report, residual_value_csv, residual_value_of

    whole = pilot_findings_visible(c)  # the dashboard's pages ask the same
    table = residual_value_of(latest_report(s.store), None if region in (None, "all") else region,
                              min_group=None if whole else MIN_GROUP)
    if format == "csv":
        return Response(residual_value_csv(table), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="residual-value-{region or "all"}.csv"'})
    return json_response(table)
