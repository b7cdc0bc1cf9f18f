"""``batteryloop health``: read cycler files, state of health, lifetime models, RUL, grading."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from .common import caller, console, error, group, services
from .common import guard as _guard
from .common import out as _out

app = group("Battery health: cycler files, state of health, lifetime prediction, grading.")
lifetime_app = group("Early cycle-life prediction (Severson-style curves of the first 100 cycles).")
app.add_typer(lifetime_app, name="lifetime")


@app.command("ingest")
def ingest(file: Path,
           pack: Annotated[Optional[str], typer.Option(help="add the file to this pack's history (its passport id)")] = None,
           as_: Annotated[Optional[str], typer.Option("--as", help="act as this participant (with --pack)")] = None,
           summary: Annotated[Optional[Path], typer.Option(help="write the per-cycle summary CSV here")] = None,
           parquet: Annotated[Optional[Path], typer.Option(help="write the canonical series (Parquet) here")] = None,
           tz: Annotated[str, typer.Option(help="IANA zone of wall-clock times without a zone")] = "UTC") -> None:
    """Read a cycler export (format detected from its content) into the canonical series."""
    from ..health import cycle_summary, read_cycler_file, write_parquet

    data = _guard(lambda: read_cycler_file(file, tz=tz))
    s = cycle_summary(data)
    if parquet:
        write_parquet(data, parquet)
    if summary:
        s.write_csv(summary)
    if pack:
        svc = services()
        _out(_guard(lambda: svc.health.ingest(pack, file, caller(svc, as_), tz=tz)))
    console.print(f"{file.name}: {data.frame.height:,} points, {s.height} cycles")


@app.command("soh")
def soh(targets: Annotated[list[str], typer.Argument(help="a pack's passport id (its ingested history), or cycler files")],
        rated_capacity_ah: Annotated[Optional[float], typer.Option(help="rated capacity (default: the passport's model)")] = None,
        write: Annotated[bool, typer.Option(help="write the result into the pack's passport")] = True,
        passport: Annotated[Optional[str], typer.Option(help="with files: write the result into this passport")] = None,
        per_cell: Annotated[bool, typer.Option(help="the data are one cell of the pack: compared with the pack's rated "
                                                    "capacity / cells_in_parallel, capacities and energies scaled "
                                                    "to the pack")] = False,
        as_: Annotated[Optional[str], typer.Option("--as", help="act as this participant")] = None,
        tz: str = "UTC") -> None:
    """State of health (Annex VII) of a pack from its ingested history, or of cycler files.

    Written to a passport, the measurement must fit the pack: its capacity the pack's (or one cell's with
    --per-cell), a --rated-capacity-ah the passport's, its date after the pack's manufacture and not in the
    future; the passport's lifetime counters grow by what the measurement adds."""
    files = [Path(t) for t in targets]
    if all(f.is_file() for f in files):
        if passport:
            s = services()
            _out(_guard(lambda: s.health.record_soh(passport, files, caller(s, as_), rated_capacity_ah=rated_capacity_ah, tz=tz,
                                                    per_cell=per_cell)))
            return
        from ..health import estimate_soh, read_cell

        _out(_guard(lambda: estimate_soh(read_cell(files, tz=tz, sort_by_time=True),
                                         rated_capacity_ah=rated_capacity_ah).model_dump(mode="json")))
        return
    if len(targets) != 1:
        error(f"not files: {', '.join(t for t in targets if not Path(t).is_file())}; "
              "give one pack id or existing cycler files")
    s = services()
    _out(_guard(lambda: s.health.pack_soh(targets[0], caller(s, as_), rated_capacity_ah=rated_capacity_ah, write=write,
                                         per_cell=per_cell)))


@app.command("rul")
def rul(files: list[Path], upto_cycle: Optional[int] = None,
        threshold: Annotated[float, typer.Option(help="end of life as a fraction of initial capacity")] = 0.8,
        curves_only: Annotated[bool, typer.Option(
            help="fit curves to the history only, without the reference population of whole lives")] = False,
        keep_order: Annotated[bool, typer.Option(
            help="concatenate the files in the order given (default: by each file's first time stamp)")] = False) -> None:
    """Remaining useful life: the cycle at which capacity falls below the threshold, with an interval.

    By similarity to whole lives of one cell family (the CALCE CS2 lives of batteryloop.reference.calce_cs2),
    which knows knees; the interval is calibrated within that population and is at least the spread of life
    among sister cells (Severson et al. 2019 cells of one batch and protocol); falls back to curve fits when no reference life
    explains the history ("method" says which). Files are put in time order (a shell's *.xlsx is in name order, which is not the cells' history);
    refuses a history of fewer than 10 cycles."""
    from ..health import forecast_rul, read_cell

    pop = () if curves_only else None
    _out(_guard(lambda: forecast_rul(read_cell(files, sort_by_time=not keep_order), threshold=threshold,
                                     upto_cycle=upto_cycle, population=pop, prior=pop).model_dump(mode="json")))


@app.command("grade")
def grade_cmd(file: Annotated[Path, typer.Argument(help="JSON intake record (see health.grading.IntakeRecord)")]) -> None:
    """Grade a retired battery for second life (UL 1974-style intake): A, B, C or recycle."""
    from pydantic import ValidationError

    from ..health.grading import IntakeRecord, grade

    try:
        intake = IntakeRecord.model_validate_json(file.read_bytes())
    except ValidationError as exc:
        error(f"{file}: {exc.errors()[0]['loc']}: {exc.errors()[0]['msg']}")
    _out(grade(intake).model_dump(mode="json"))


@lifetime_app.command("train")
def lifetime_train(data: Annotated[list[Path], typer.Option(help="folder of training cells (Severson format); "
                                                                  "repeat to train on several, e.g. train and test1")],
                   out: Annotated[Path, typer.Option("--out", "-o", help="model file to write")],
                   cells_table: Annotated[Optional[Path], typer.Option(
                       help="the data set's cell table (Dataset, Batch date, Cycle life, Charging policy) for "
                            "validation by batch and protocol family (default: cells*.csv beside the folders)")] = None,
                   random_folds: Annotated[bool, typer.Option(
                       help="select by random 5-fold cross-validation instead (no groups needed)")] = False,
                   candidates: Annotated[Optional[str], typer.Option(
                       help="comma-separated candidate names to select among (default: all of the validation's; "
                            "e.g. severson_variance to train that baseline)")] = None) -> None:
    """Train the early cycle-life model on folders of cells (e.g. ../shared/data/severson2019/train and test1).

    The model is chosen by validation that leaves whole batches (where the cells hold two or more), protocol
    families and thirds of the cells by early behaviour (log var ΔQ) out — the procedure whose nested
    leave-one-batch-out figure docs/health.md reports (needs the cell table; without one it falls back to random
    K-fold and says so), and carries a 90 % conformal interval — calibrated on the larger of the leave-one-batch-out
    and left-out-family errors where the cells hold two batches, on left-out families only with one batch (then it
    does not cover a batch shift); "interval_calibration" says which. --random-folds selects by random K-fold. The transductive
    calibration_* models are chosen only by name (--candidates). "train" in the output is in-sample. Cells with a
    non-finite feature or life are refused by name."""
    from ..health.lifetime import CANDIDATES, evaluate, load_curve_set, train
    from ..health.lifetime.groups import combine, find_cell_table, groups_for
    from ..health.lifetime.model import candidates_named

    # what can be refused without the data is refused before reading it
    chosen = CANDIDATES if candidates is None else _guard(
        lambda: candidates_named([n.strip() for n in candidates.split(",") if n.strip()]))
    if cells_table is not None and not random_folds and not cells_table.is_file():
        error(f"--cells-table {cells_table}: no such file")

    sets = [_guard(lambda d=d: load_curve_set(d, require_lives=True)) for d in data]
    cells = sets[0] if len(sets) == 1 else _guard(lambda: combine(*sets))
    note = None
    if random_folds:
        groups = None
    elif cells_table is None and find_cell_table(cells) is None:
        groups, note = None, "no cell table beside the folders: selected by random 5-fold (give --cells-table to group)"
    else:
        groups = _guard(lambda: groups_for(cells, cells_table))
    model = _guard(lambda: train(cells, chosen, groups=groups))
    model.save(out)
    _out({"model": str(out), "candidate": model.candidate, "validation": model.validation,
          "selection_score_rmse_cycles": round(model.cv_rmse_cycles[model.candidate], 1),
          "interval": None if model.interval_log10 is None else {
              "level": model.interval_level, "factor": round(10 ** model.interval_log10, 4),
              "interval_calibration": model.interval_calibration,
              "factors": {k: round(v, 4) for k, v in (model.interval_factors or {}).items()},
              "coverage_on_left_out_families": model.interval_coverage_grouped,
              "coverage_on_batch_folds_in_sample": model.interval_coverage_batches_in_sample,
              "note": model.interval_note},
          "note": note, "train": evaluate(model, cells)})


@lifetime_app.command("predict")
def lifetime_predict(model: Annotated[Path, typer.Option(help="a model file written by `lifetime train`")],
                     cells: Annotated[Path, typer.Option(help="folder of cellN.csv[.gz] files")],
                     out: Annotated[Path, typer.Option("--out", "-o", help="CSV: cell,predicted_cycle_life")],
                     intervals: Annotated[bool, typer.Option(
                         help="add the model's 90 % interval as columns lower,upper (the JSON names its "
                              "calibration)")] = False,
                     allow_small_set: Annotated[bool, typer.Option(
                         help="let a calibration_* model predict fewer than 5 cells (they then get the training "
                              "cells' prior, i.e. least squares)")] = False) -> None:
    """Predict the cycle life of every cell in a folder; evaluates too when the folder has known lives.

    Cells whose features lie far outside the training cells' (a dead or flat cell, another chemistry) or whose
    prediction lies beyond the training lives by more than a factor 2 are listed under "warnings"; a cell with a
    non-finite value is refused by name.

    A calibration_* model (chosen only with train --candidates) predicts the folder's cells TOGETHER: their
    features (never their lives) set the distribution of life they are read against, so a cell's prediction
    depends on the other cells in the folder. Measured by an outside review (model from the 2017-06-30 batch,
    the 2017-05-12 batch predicted): RMSE 106 cycles with the batch as one folder, 250 cell by cell. Put one
    batch in a folder; fewer than 5 cells are refused unless --allow-small-set."""
    from ..health.lifetime import LifetimeModel, evaluate, load_curve_set, write_predictions
    from ..health.lifetime.calibration import MIN_CELLS

    m = _guard(lambda: LifetimeModel.load(model))
    cs = _guard(lambda: load_curve_set(cells))
    if intervals and m.interval_log10 is None:
        error(f"{model}: this model has no interval (it was selected by random folds); train it with a cell table")
    if m.transductive and len(cs.names) < MIN_CELLS and not allow_small_set:
        error(f"{cells}: {len(cs.names)} cells, but {m.candidate} reads the cells of a folder together and needs at "
              f"least {MIN_CELLS} (one batch per folder); --allow-small-set predicts them with the training cells' prior")
    pred = _guard(lambda: m.predict(cs))
    flags = _guard(lambda: m.warnings(cs, pred))
    _guard(lambda: write_predictions(m, cs, out, intervals=intervals))
    note = None
    if m.transductive:
        note = (f"{m.candidate} predicts the folder's cells together: their features (never their lives) set the "
                "distribution of life they are read against" + (
                    f"; fewer than {MIN_CELLS} cells use the training cells' instead" if len(cs.names) < MIN_CELLS else ""))
    interval = None
    if intervals:
        interval = {"level": m.interval_level, "factor": round(10 ** m.interval_log10, 4),
                    "interval_calibration": m.interval_calibration, "note": m.interval_note}
    _out({"cells": len(cs.names), "predictions": str(out), "interval": interval,
          "evaluation": evaluate(m, cs) if cs.cycle_lives is not None else None, "note": note,
          "warnings": [{"cell": n, "warning": w} for n, w in zip(cs.names, flags, strict=True) if w is not None]})
