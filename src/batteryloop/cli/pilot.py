"""``batteryloop pilot``: figures of the latest pilot run (``batteryloop demo``) — the residual value of retired
packs by grade and year beside what buyers paid (issue 18, Kia's Korean pilot)."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from .common import failing, group, out, services

app = group("Figures of the latest pilot run (batteryloop demo).")


@app.command("residual-value")
def residual_value(
    region: Annotated[str, typer.Option(help="KR (Kia's Korean pilot), EU or all")] = "KR",
    format: Annotated[str, typer.Option("--format", help="json or csv")] = "json",  # noqa: A002
) -> None:
    """Residual value of retired packs by year and intake grade — packs, kWh, mean state of health, the value the
    route decision booked (total, per kWh, share of a new pack) — beside what buyers paid in the pilot's sales
    (a fixed share of the booked value by assumption, pilot.seller_share_of_route_value_fraction: not observed
    prices)."""
    from ..sim.report import latest_report, residual_value_csv, residual_value_of

    if region not in ("KR", "EU", "all"):
        from .common import error

        error(f"--region={region!r}: must be KR, EU or all")
    if format not in ("json", "csv"):
        from .common import error

        error(f"--format={format!r}: must be json or csv")
    with failing():
        table = residual_value_of(latest_report(services().store), None if region == "all" else region)
    if format == "csv":
        sys.stdout.write(residual_value_csv(table))
    else:
        out(table)
