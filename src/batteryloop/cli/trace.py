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
def recall(key: str, by: Annotated[str, typer.Option(help="lot, site or supplier")] = "lot",
           through_recycling: Annotated[bool, typer.Option(
               help="follow the material through recycling into later packs; --no-through-recycling stops at "
                    "recovered lots (first-life packs only)")] = True,
           limit: Annotated[int | None, typer.Option(
               min=1, help="one page of packs by pack id (with --offset), with the count of all packs")] = None,
           offset: Annotated[int, typer.Option(min=0, help="where the page starts")] = 0) -> None:
    """Every pack downstream of a lot, a site or a supplier, with its holder."""
    _out(_guard(lambda: _svc().recall(key, by, through_recycling, limit=limit, offset=offset)))


@app.command("outflows")
def outflows(
    as_of: Annotated[Optional[str], typer.Option(help="date or time (ISO 8601) the report is made as of "
                                                      "[default: the last event in the ledger]")] = None,
    k: Annotated[Optional[float], typer.Option(help="silent once the gap since a pack's last event exceeds k times "
                                                     "its median interval [default: 1.5]")] = None,
    floor_days: Annotated[Optional[float], typer.Option(help="never silent sooner [default: 30]")] = None,
    default_days: Annotated[Optional[float], typer.Option(help="threshold of a pack with too few intervals "
                                                                "[default: 365]")] = None,
    min_intervals: Annotated[Optional[int], typer.Option(help="intervals needed for a rhythm [default: 3]")] = None,
    removed_days: Annotated[Optional[float], typer.Option(help="threshold of a pack removed and not collected "
                                                                "[default: 90]")] = None,
    min_transit_hours: Annotated[Optional[float], typer.Option(help="a country change faster than this is an "
                                                                     "impossible move [default: 1]")] = None,
    model: Annotated[Optional[str], typer.Option(help="the packs of one battery model")] = None,
    country: Annotated[Optional[str], typer.Option(help="findings placing the pack in, or moving it from, this "
                                                        "country")] = None,
    kind: Annotated[Optional[list[str]], typer.Option(help="finding kind (repeat): country_change_without_shipment, "
                                                           "impossible_move, left_region_without_export, "
                                                           "exported_before_end_of_life, silent")] = None,
    participant: Annotated[Optional[str], typer.Option(help="findings whose holder or actor is this participant")] = None,
    limit: Annotated[Optional[int], typer.Option(help="findings per page [default: 100; CSV: all]")] = None,
    offset: Annotated[int, typer.Option(help="findings to skip (the previous page's next_offset)")] = 0,
    csv: Annotated[bool, typer.Option("--csv", help="CSV on stdout instead of JSON")] = False,
) -> None:
    """Packs that left the loop without a record, as of a date (default: the last event in the ledger).

    Country changes without a shipment record, impossible moves, exits from a watched region without an export
    record, exports before end of life, and packs silent for longer than their own reporting rhythm allows.
    Filtered and paged like GET /api/v1/trace/outflows; the answer states every parameter. A bad value exits 2
    naming it."""
    from ..trace.outflows import DEFAULT_LIMIT, to_csv

    svc = _svc()
    rep = _guard(lambda: svc.outflows(svc.outflow_params(
        as_of=as_of, k=k, floor_days=floor_days, default_days=default_days, min_intervals=min_intervals,
        removed_days=removed_days, min_transit_hours=min_transit_hours, model=model, country=country, kind=kind,
        participant=participant, limit=limit if limit is not None or csv else DEFAULT_LIMIT, offset=offset)))
    if csv:
        typer.echo(to_csv(rep["findings"]), nl=False)
    else:
        _out(rep)


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
    this node and not yours to update, and names the applied years a transformation recorded late made stale
    (stale_years: apply each again; a year applied whole is current again)."""
    s = services()
    _out(_guard(lambda: s.trace.apply_recycled_content(year, caller(s, as_), model_id=model, plant=plant)))
