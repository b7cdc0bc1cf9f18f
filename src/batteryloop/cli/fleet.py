"""``batteryloop fleet``: BMS telemetry of a fleet — generate, import, validate, analyse (Polars or Spark), publish."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Optional

import typer

from .common import caller, console, error, group, services
from .common import guard as _guard
from .common import out as _out

app = group("Fleet BMS telemetry: simulate, import CSV, validate, analyse on Polars or Spark, publish SoH.")


@contextmanager
def _progress(what: str) -> Iterator[Callable[[int, int], None]]:
    """A Rich progress bar on stderr; yields ``tick(done, total)``."""
    from rich.progress import Progress

    with Progress(console=console.get(), transient=True) as bar:
        task = bar.add_task(what, total=None)
        yield lambda done, total: bar.update(task, completed=done, total=total)


@app.command("simulate")
def simulate(out: Annotated[Path, typer.Option("-o", "--out", help="a new folder for the telemetry")],
             vehicles: Annotated[int, typer.Option(help="number of vehicles")] = 100,
             days: Annotated[int, typer.Option(help="number of days")] = 7,
             seed: Annotated[int, typer.Option(help="random seed (same seed, same files)")] = 0,
             interval_s: Annotated[float, typer.Option(help="seconds between samples")] = 60.0,
             fault_share: Annotated[float, typer.Option(help="share of packs with an injected fault")] = 0.1,
             buckets: Annotated[int, typer.Option(help="vehicle buckets (hashed partitions)")] = 16,
             start: Annotated[str, typer.Option(help="first day (YYYY-MM-DD, UTC)")] = "2026-06-01") -> None:
    """Write deterministic telemetry of a fleet (cars, taxis, buses, trucks, two-wheelers) with known faults.

    The faults injected are listed in OUT/_truth.csv (pack_id, fault); the pack registry is OUT/_packs.csv."""
    import datetime as dt

    from ..fleet.simulate import simulate as run

    try:
        day0 = dt.date.fromisoformat(start)
    except ValueError:
        error(f"--start {start!r} is not a date (YYYY-MM-DD)")
    with _progress("simulating days") as tick:
        try:
            res = run(out, vehicles=vehicles, days=days, seed=seed, interval_s=interval_s, fault_share=fault_share,
                      buckets=buckets, start=day0, progress=tick)
        except (ValueError, FileExistsError) as exc:
            error(str(exc))
    _out(res)


@app.command("validate")
def validate(target: Annotated[Path, typer.Argument(help="a fleet folder, a Parquet file or a CSV export")],
             tz: Annotated[str, typer.Option(help="zone of CSV times without an offset")] = "UTC",
             discharge_positive: Annotated[bool, typer.Option(help="the CSV counts discharge current as positive")] = False,
             segment: Annotated[Optional[str], typer.Option(help="segment of a CSV without a segment column")] = None) -> None:
    """Check telemetry against the layout: units, ranges, time order, gaps, duplicates. Exit 1 on errors.

    Every problem names the file, the row and the column; nothing is changed."""
    from ..fleet.csvread import read_telemetry_csv
    from ..fleet.validate import validate_files, validate_folder

    if target.is_dir():
        rep = validate_folder(target)
    elif target.suffix.lower() == ".csv":
        rep = read_telemetry_csv(target, tz=tz, discharge_positive=discharge_positive, segment=segment)[1]
    elif target.is_file():
        rep = validate_files([target])
    else:
        error(f"{target}: no such file or folder")
    _out(rep.to_dict())
    if not rep.ok:
        raise typer.Exit(1)


@app.command("import")
def import_csv(files: Annotated[list[Path], typer.Argument(help="fleet CSV exports")],
               out: Annotated[Path, typer.Option("-o", "--out", help="the fleet folder to write (new or existing)")],
               packs: Annotated[Path, typer.Option(help="the pack registry CSV (pack_id, vehicle_id, segment, chemistry, "
                                                       "rated_capacity_ah, …): copied to OUT/_packs.csv")],
               tz: Annotated[str, typer.Option(help="zone of times without an offset")] = "UTC",
               discharge_positive: Annotated[bool, typer.Option(help="the CSVs count discharge current as positive")] = False,
               segment: Annotated[Optional[str], typer.Option(help="segment of CSVs without a segment column")] = None,
               interval_s: Annotated[float, typer.Option(help="the nominal sample interval")] = 60.0,
               buckets: Annotated[int, typer.Option(help="vehicle buckets")] = 16) -> None:
    """Read fleet CSV exports (column aliases, units) into the Parquet layout; refuses files with errors.

    Every file is checked first; if any has an error, nothing is written and the report says where."""
    from ..fleet.importer import import_csvs

    try:
        res = _guard(lambda: import_csvs(files, out, packs, tz=tz, discharge_positive=discharge_positive,
                                         segment=segment, interval_s=interval_s, buckets=buckets))
    except (FileNotFoundError, ValueError) as exc:  # the pack registry: missing, or without its columns
        error(str(exc))
    _out(res)
    if not res["ok"]:
        raise typer.Exit(1)


@app.command("analyze")
def analyze(folder: Annotated[Path, typer.Argument(help="a fleet folder (the layout of docs/fleet.md)")],
            out: Annotated[Path, typer.Option("-o", "--out", help="the per-pack table: .parquet or .csv")],
            engine: Annotated[str, typer.Option(help="polars (one machine) or spark")] = "polars",
            master: Annotated[Optional[str], typer.Option(help="Spark master URL (default local[2]; ignored under "
                                                                "spark-submit, which sets it)")] = None,
            store: Annotated[bool, typer.Option("--store", help="also store the result for the dashboard's fleet "
                                                                "page (<var>/fleet), as the operator of --as")] = False,
            as_: Annotated[Optional[str], typer.Option("--as", help="the operator the stored analysis belongs to "
                                                                   "(with --store)")] = None) -> None:
    """Per pack: state of health, resistance, trend, remaining life and fault flags with their evidence.

    The same definition runs on Polars and on Spark; the table has a row per pack and `faults` (;-separated)."""
    from ..fleet.analysis import FAULT_KINDS, write_table
    from ..fleet.analysis import analyze_with_summary as run

    if out.suffix not in (".parquet", ".csv"):
        error(f"{out}: the output must end in .parquet or .csv")
    if engine not in ("polars", "spark"):
        error(f"--engine {engine!r}: use polars or spark")
    if store and not as_:
        error("--store needs --as OPERATOR: a stored analysis belongs to the operator whose packs it covers")
    try:
        with _progress("analysing buckets") as tick:
            df, summary = run(folder, engine=engine, master=master, progress=tick)
    except (FileNotFoundError, ValueError) as exc:
        error(str(exc))
    write_table(df, out)
    flagged = df.filter(df["faults"] != "")
    res = {"packs": df.height, "with_soh": int(df["soh_pct"].is_not_null().sum()), "flagged": flagged.height,
           "faults": {k: int(df["faults"].str.contains(k).sum()) for k in FAULT_KINDS},
           "engine": engine, "out": str(out)}
    if store:
        from ..fleet.results import FleetResults

        s = services()
        who = _guard(lambda: caller(s, as_))
        meta = _guard(lambda: FleetResults(s.settings.var_dir / "fleet").save(
            df, summary, who, source=str(folder.resolve()), engine=engine))
        res["stored"] = {"id": meta["id"], "page": f"/fleet?analysis={meta['id']}"}
    _out(res)


@app.command("publish")
def publish(table: Annotated[Path, typer.Argument(help="the table written by `fleet analyze`")],
            as_: Annotated[str, typer.Option("--as", help="the operator writing the state of health")],
            batch: Annotated[int, typer.Option(help="packs per batch (each batch's versions one transaction, its "
                                                    "events one ledger batch)")] = 100,
            journal: Annotated[Optional[Path], typer.Option(help="the per-batch reports, JSON lines; a run with the "
                                                                 "same journal resumes (default TABLE.publish.jsonl)")] = None
            ) -> None:
    """Write each pack's state of health as a passport version and a signed soh_update event, in batches.

    Packs are matched to passports by id; refusals (no passport, another rated capacity, an older measurement,
    a failed check) are listed with their reason. Each batch is written all or nothing and reported in the
    journal; running again with the same journal skips the batches done. Exit 1 when any pack was refused."""
    from ..fleet.analysis import read_table
    from ..fleet.publish import publish as run

    try:
        df = read_table(table)
    except (FileNotFoundError, ValueError) as exc:
        error(str(exc))
    s = services()
    who = _guard(lambda: caller(s, as_))
    journal = journal or table.with_name(table.name + ".publish.jsonl")

    def said(rep: dict) -> None:
        typer.echo(f"batch {rep['batch']}: {len(rep['published'])} published, {len(rep['refused'])} refused, "
                   f"{rep['ledger'].get('stored', 0)} events{' (done before)' if rep.get('resumed') else ''}", err=True)

    try:
        res = _guard(lambda: run(df, s, who, batch=batch, journal=journal, on_batch=said))
    except ValueError as exc:  # a journal of another table or batch size
        error(str(exc))
    _out(res)
    if res["refused"]:
        raise typer.Exit(1)
