"""``batteryloop trace``: the signed lifecycle ledger — ingest, verify, lineage, recall, outflows, recycled content."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Optional

import typer

from .common import caller, group, services
from .common import guard as _guard
from .common import out as _out

app = group("Traceability: the signed, hash-chained lifecycle ledger and its queries.")


def _svc():  # type: ignore[no-untyped-def]
    return services().trace


@app.command("ingest")
def ingest(file: Annotated[Path, typer.Argument(help="JSON-lines file of signed events")],
           workers: Annotated[Optional[int], typer.Option(help="processes checking signatures (default: CPUs)")] = None) -> None:
    """Append a file of signed events, all or nothing; the report names the first invalid event."""
    rep = _guard(lambda: _svc().ingest_file(file, workers=workers or os.cpu_count() or 1))
    _out(rep.as_dict())
    if not rep.ok:
        raise typer.Exit(2)


@app.command("verify")
def verify(subject: Annotated[Optional[str], typer.Option(help="one subject's chain (a pack, lot…)")] = None,
           event: Annotated[Optional[str], typer.Option(help="one event")] = None,
           derived: Annotated[bool, typer.Option(help="also rebuild lots and custody from the events")] = False) -> None:
    """Verify hashes, links and signatures: one event, one chain, or the whole ledger. Exit 1 on any problem."""
    svc = _svc()
    rep = _guard(lambda: svc.verify(subject=subject, event_id=event))
    out = rep.as_dict()
    ok = rep.ok
    if derived:
        d = _guard(lambda: svc.verify_derived())
        out["derived"] = d.as_dict()
        ok = ok and d.ok
    _out(out)
    if not ok:
        raise typer.Exit(1)


@app.command("lineage")
def lineage(pack: str) -> None:
    """Every upstream lot of a pack, with the shares by origin country and processing stage."""
    _out(_guard(lambda: _svc().lineage(pack)))


@app.command("recall")
def recall(key: str, by: Annotated[str, typer.Option(help="lot, site or supplier")] = "lot") -> None:
    """Every pack downstream of a lot, a site or a supplier, with its holder."""
    _out(_guard(lambda: _svc().recall(key, by)))


@app.command("outflows")
def outflows() -> None:
    """Packs that left a watched region without an export record, or went silent."""
    _out(_guard(lambda: _svc().outflows()))


@app.command("recycled-content")
def recycled_content(model: Annotated[str, typer.Option(help="battery model id")],
                     year: Annotated[int, typer.Option(help="production year")],
                     plant: Annotated[Optional[str], typer.Option(help="plant (site)")] = None,
                     rule: Annotated[Optional[str], typer.Option(help="mass_balance or physical_segregation")] = None) -> None:
    """Recycled content (Art. 8) of a model's packs of a year, vs the 2031 and 2036 minimums."""
    _out(_guard(lambda: _svc().recycled_content(model_id=model, year=year, plant=plant, rule=rule)))


@app.command("apply-recycled-content")
def apply_recycled_content(year: Annotated[int, typer.Option(help="production year whose balance to apply")],
                           model: Annotated[Optional[str], typer.Option(help="only this battery model")] = None,
                           plant: Annotated[Optional[str], typer.Option(help="only this plant (site)")] = None,
                           as_: Annotated[Optional[str], typer.Option("--as", help="act as this participant "
                                                                     "(default: the node admin)")] = None) -> None:
    """Write Art. 8 recycled content from the ledger into the passports of the packs made in a year.

    Each pack gets its model's, plant's and year's figure under the node's rule (a new passport version where
    it changed); the answer counts, per model and plant, the passports updated, unchanged, read-only, not on
    this node and not yours to update."""
    s = services()
    _out(_guard(lambda: s.trace.apply_recycled_content(year, caller(s, as_), model_id=model, plant=plant)))
