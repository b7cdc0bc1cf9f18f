"""``batteryloop circular``: recycling, carbon footprint, route decisions, compliance, BaaS figures."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import orjson
import typer
from rich.console import Console

app = typer.Typer(help="Circular decisions: recycling, carbon footprint, route decisions (reference data overridable).",
                  no_args_is_help=True)
console = Console(stderr=True, soft_wrap=True)
RefsOpt = Annotated[Optional[Path], typer.Option("--references", help="TOML/YAML file overriding reference values")]


def _out(obj: object) -> None:
    sys.stdout.write(orjson.dumps(obj, option=orjson.OPT_INDENT_2).decode() + "\n")


def _refs(path: Path | None):  # type: ignore[no-untyped-def]
    from .reference import References

    return References.default().override_file(path) if path else None


def _guard(fn):  # type: ignore[no-untyped-def]
    from .circular import CircularInputError
    from .errors import BatteryloopError

    try:
        return fn()
    except CircularInputError as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None
    except BatteryloopError as exc:
        console.print(f"[red]error:[/red] {exc.detail}")
        raise typer.Exit(2) from None


@app.command("recycle")
def recycle(chemistry: str, mass_kg: float, process: Annotated[Optional[str], typer.Option(help="pyro, hydro or direct")] = None,
            basis: Annotated[str, typer.Option(help="pack or cell")] = "pack", references: RefsOpt = None) -> None:
    """Recovered mass, revenue, inputs, GHG and Annex XII checks of recycling a mass of batteries."""
    from .circular import recycle_mass

    res = _guard(lambda: recycle_mass(chemistry, mass_kg, process, basis=basis, references=_refs(references)))  # type: ignore[arg-type]
    _out([r.model_dump(mode="json") for r in res])


@app.command("footprint")
def footprint(model_id: str,
              country: Annotated[Optional[str], typer.Option(help="manufacturing country (default: manufacturer's)")] = None,
              apply: Annotated[bool, typer.Option(help="write it into the model's passport data")] = False,
              references: RefsOpt = None) -> None:
    """Carbon footprint (Art. 7) of a registered battery model, per kWh of lifetime energy."""
    from .cli import ADMIN, _services

    s = _services()
    if apply:
        _out(_guard(lambda: s.circular.apply_model_footprint(model_id, ADMIN, manufacturing_country=country,
                                                             references=_refs(references))))
    else:
        _out(_guard(lambda: s.circular.model_footprint(model_id, manufacturing_country=country,
                                                       references=_refs(references))))


@app.command("route")
def route(passport_id: str, as_: Annotated[Optional[str], typer.Option("--as", help="act as this participant")] = None,
          references: RefsOpt = None) -> None:
    """Grade a retired pack from its passport and rank re-use, remanufacture, repurpose and recycling by NPV."""
    from .cli import _caller, _services

    s = _services()
    _out(_guard(lambda: s.circular.pack_route(passport_id, _caller(s, as_), references=_refs(references))))


@app.command("references")
def references_cmd() -> None:
    """List the reference data sets with their sources and dates."""
    from .reference import References

    _out(References.default().describe())
