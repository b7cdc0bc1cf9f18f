"""``batteryloop circular``: recycling, carbon footprint, route decisions, compliance, BaaS figures."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from .common import admin, caller, console, error, group, services
from .common import guard as _guard
from .common import out as _out
from .common import reference_overrides as _refs

app = group("Circular decisions: recycling, carbon footprint, route decisions (reference data overridable).")
RefsOpt = Annotated[Optional[Path], typer.Option("--references", help="TOML/YAML file overriding reference values")]


@app.command("recycle")
def recycle(chemistry: Annotated[str, typer.Option("--chemistry", help="NMC111/532/622/811, NCA, LFP, LMO, LMFP")],
            mass_kg: Annotated[float, typer.Option("--mass-kg", help="mass of spent batteries, kg")],
            process: Annotated[Optional[str], typer.Option(help="pyro, hydro or direct (all three if absent)")] = None,
            basis: Annotated[str, typer.Option(help="pack or cell")] = "pack", references: RefsOpt = None) -> None:
    """Recovered mass, revenue, inputs, GHG and Annex XII checks of recycling a mass of batteries."""
    from ..circular import recycle_mass

    res = _guard(lambda: recycle_mass(chemistry, mass_kg, process, basis=basis, references=_refs(references)))  # type: ignore[arg-type]
    _out([r.model_dump(mode="json") for r in res])


@app.command("footprint")
def footprint(ident: Annotated[str, typer.Argument(metavar="PACK|MODEL", help="a passport id (→ its model) or a model id")],
              country: Annotated[Optional[str], typer.Option(help="manufacturing country (default: manufacturer's)")] = None,
              apply: Annotated[bool, typer.Option(help="write it into the model's passport data")] = False,
              references: RefsOpt = None) -> None:
    """Carbon footprint (Art. 7) of a battery model, or of a pack's model, per kWh of lifetime energy."""
    s = services()
    if apply:
        def go():  # type: ignore[no-untyped-def]
            model_id, _ = s.circular.resolve_model(ident)
            return s.circular.apply_model_footprint(model_id, admin(), manufacturing_country=country,
                                                    references=_refs(references))
        _out(_guard(go))
    else:
        _out(_guard(lambda: s.circular.footprint_for(ident, manufacturing_country=country,
                                                     references=_refs(references))))


@app.command("route")
def route(passport_id: str, as_: Annotated[Optional[str], typer.Option("--as", help="act as this participant")] = None,
          references: RefsOpt = None) -> None:
    """Grade a retired pack from its passport and rank re-use, remanufacture, repurpose and recycling by NPV."""
    s = services()
    _out(_guard(lambda: s.circular.pack_route(passport_id, caller(s, as_), references=_refs(references))))


@app.command("compliance")
def compliance(model: Annotated[str, typer.Option("--model", help="battery model id")],
               year: Annotated[int, typer.Option("--year", help="production year")],
               plant: Annotated[Optional[str], typer.Option("--plant", help="plant (the ledger's site)")] = None,
               fmt: Annotated[str, typer.Option("--format", help="json or csv")] = "json",
               rule: Annotated[Optional[str], typer.Option(
                   "--rule", help="mass_balance or physical_segregation (default: BATTERYLOOP_TRACE_RULE)")] = None,
               process: Annotated[Optional[list[str]], typer.Option(
                   "--process", help="recycling process(es) to check (default: pyro, hydro, direct)")] = None,
               country: Annotated[Optional[str], typer.Option(help="manufacturing country for the footprint")] = None,
               references: RefsOpt = None) -> None:
    """Compliance report of a model, year (and plant): recycled content (Art. 8, from the traceability
    ledger), recycling efficiency and recovery (Annex XII), carbon footprint and class (Art. 7)."""
    if fmt not in ("json", "csv"):
        error(f"--format {fmt!r}: use json or csv")
    s = services()
    rep = _guard(lambda: s.circular.compliance(model, year, plant=plant, rule=rule, processes=process or None,
                                               manufacturing_country=country, references=_refs(references)))
    csv_text = rep.pop("_csv")
    src = rep["recycled_content_source"]
    if src["status"] != "traced":
        console.print(f"[yellow]recycled content not reported:[/yellow] {src['message']}")
    if fmt == "csv":
        sys.stdout.write(csv_text)
    else:
        _out(rep)


baas_app = group("Battery-as-a-service: subscription price vs NIO, buyout, swap-station simulation.")
app.add_typer(baas_app, name="baas")


@baas_app.command("price")
def baas_price(pack_cost: Annotated[Optional[float], typer.Option(help="pack cost (any currency)")] = None,
               life_months: Annotated[int, typer.Option("--life-months", "--term-months",
                                                        help="expected life / subscription term, months")] = 96,
               residual_value: Annotated[float, typer.Option(help="value at the end of the term")] = 0.0,
               rate: Annotated[float, typer.Option(help="annual discount rate, a fraction (0.08)")] = 0.08,
               margin: Annotated[float, typer.Option(help="margin, a fraction (0.1)")] = 0.0,
               opex: Annotated[float, typer.Option(help="operating cost per month")] = 0.0,
               chemistry: Annotated[Optional[str], typer.Option(help="price a pack instead ($): its chemistry")] = None,
               capacity_kwh: Annotated[Optional[float], typer.Option(help="… its capacity")] = None,
               soh_end: Annotated[Optional[float], typer.Option(help="… its SoH at the end of the term (fraction)")] = None,
               pack_mass_kg: Annotated[Optional[float], typer.Option(
                   help="… the pack mass its passport declares, kg: recycling (and so the residual value) is valued "
                        "on it (default: BatPaC's pack mass)")] = None,
               residual_share: Annotated[Optional[float], typer.Option(
                   help="… the share of the retired pack's route value the operator is paid, a fraction "
                        "(default: batteryloop_assumptions.pilot.seller_share_of_route_value_fraction, 0.4)")] = None,
               references: RefsOpt = None) -> None:
    """Monthly subscription price from pack cost, life, residual value, rate and margin, compared with NIO.

    Or a pack's, in $: --chemistry, --capacity-kwh and --soh-end, its residual value the --residual-share of its
    best route's value at that SoH, recycling valued on --pack-mass-kg."""
    from ..circular.service import CircularService

    _out(_guard(lambda: CircularService.baas_price(
        pack_cost=pack_cost, term_months=life_months, residual_value=residual_value,
        annual_discount_rate_fraction=rate, margin_fraction=margin, operating_cost_per_month=opex,
        chemistry=chemistry, capacity_kwh=capacity_kwh, soh_at_term_end_fraction=soh_end,
        pack_mass_kg=pack_mass_kg, residual_share_fraction=residual_share,
        references=_refs(references))))


@baas_app.command("buyout")
def baas_buyout(payments: Annotated[Optional[int], typer.Option(help="monthly payments made (one quote)")] = None,
                months: Annotated[int, typer.Option(help="schedule length when --payments is absent")] = 72,
                references: RefsOpt = None) -> None:
    """NIO's buyout price after some payments, or the buyout schedule month by month."""
    from ..circular import buyout_schedule, nio_buyout_price

    if payments is not None:
        _out(_guard(lambda: nio_buyout_price(payments, _refs(references)).model_dump(mode="json")))
        return
    sched = _guard(lambda: buyout_schedule(months, _refs(references)))
    _out({"schedule": [{"payments_made": q.payments_made, "price": q.price} for q in sched],
          "references": [r.model_dump(mode="json") for r in sched[0].references]})


@baas_app.command("swap-station")
def baas_swap_station(
    config: Annotated[Optional[Path], typer.Option(help="JSON/TOML/YAML file of SwapStationConfig fields")] = None,
    days: Annotated[Optional[int], typer.Option(help="days to simulate")] = None,
    packs: Annotated[Optional[int], typer.Option(help="packs in the station")] = None,
    vehicles: Annotated[Optional[int], typer.Option(help="subscribed vehicles")] = None,
    swaps_per_day: Annotated[Optional[float], typer.Option(help="mean swaps requested per day")] = None,
    chargers: Annotated[Optional[int], typer.Option(help="chargers")] = None,
    allocation: Annotated[Optional[str], typer.Option(help="soh_aware or fifo")] = None,
    charging: Annotated[Optional[str], typer.Option(help="tariff_aware or immediate")] = None,
    seed: Annotated[Optional[int], typer.Option(help="random seed")] = None,
    references: RefsOpt = None,
) -> None:
    """Simulate a swap station (SoH-aware allocation, charging, fleet exits) and print its KPIs."""
    from ..circular import SwapStationConfig, simulate_swap_station

    def go():  # type: ignore[no-untyped-def]
        base: dict[str, object] = {}
        if config is not None:
            text = config.read_text()
            if config.suffix == ".toml":
                import tomllib

                base = tomllib.loads(text)
            elif config.suffix in (".yaml", ".yml"):
                import yaml

                base = yaml.safe_load(text) or {}
            else:
                import orjson

                base = orjson.loads(text)
        given = {"days": days, "packs_in_station": packs, "vehicles": vehicles, "swaps_per_day": swaps_per_day,
                 "chargers": chargers, "allocation": allocation, "charging": charging, "seed": seed}
        base.update({k: v for k, v in given.items() if v is not None})
        return simulate_swap_station(SwapStationConfig(**base), _refs(references)).model_dump(mode="json")

    _out(_guard(go))


@app.command("references")
def references_cmd() -> None:
    """List the reference data sets with their sources and dates."""
    from ..reference import References

    _out(References.default().describe())
