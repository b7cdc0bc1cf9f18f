"""Groups of cells for validation that holds out whole groups, so that a figure says how a model does on
cells unlike those it was fitted on: another production batch, another charging protocol family.

A random K-fold puts cells of one batch and one protocol on both sides and measures interpolation; a
model chosen that way did worse than the 2019 baseline on a batch it never saw. Here every fold leaves
out one whole group:

* ``batch`` — the cells' test batch (Severson et al. 2019: 2017-05-12, 2017-06-30; the secondary test
  set is a third batch, 2018-04-12, not in our data);
* ``family`` — the charging protocol's first-step C-rate band (:data:`FAMILY_C1_EDGES`: below 4C, 4-5C,
  5-5.5C, 5.5C and above), fixed from the protocols' names before any model was scored;
* ``protocol`` — the exact charging policy (e.g. ``5.4C(60%)-3.6C``), used for the conformal intervals'
  folds where a finer split is needed.

The cell table of the data set (``cells_train_test1.csv``: ``Cell barcode, Dataset, Batch date, Cycle
life, Charging policy``) lists cells in the order of their files: the ``Train`` rows are ``train/cell1``
… in order, the ``Prim. Test`` rows ``test1/cell1`` …; :func:`groups_for` checks each row's cycle life
against the cell's, so a misaligned table is refused rather than mislabelling cells.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from batteryloop.health.errors import HealthError
from batteryloop.health.lifetime.data import CurveSet

FAMILY_C1_EDGES = (4.0, 5.0, 5.5)
SPLIT_LABELS = {"train": "Train", "test1": "Prim. Test", "test2": "Sec. Test"}
TABLE_COLUMNS = ("Dataset", "Batch date", "Cycle life", "Charging policy")
_C1 = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)C")


def protocol_family(policy: str) -> str:
    """The first-step C-rate band of a charging policy: ``'5.4C(60%)-3.6C'`` → ``'5.0-5.5C'``."""
    m = _C1.match(policy)
    if m is None:
        raise HealthError(f"charging policy {policy!r}: expected it to start with the first step's C-rate, e.g. '5.4C(60%)-3.6C'")
    c1 = float(m.group(1))
    edges = (0.0, *FAMILY_C1_EDGES, float("inf"))
    for lo, hi in zip(edges, edges[1:]):
        if lo <= c1 < hi:
            return f"<{hi:g}C" if lo == 0.0 else (f">={lo:g}C" if hi == float("inf") else f"{lo:g}-{hi:g}C")
    raise AssertionError(c1)  # unreachable: the bands cover [0, inf)


@dataclass(frozen=True)
class CellGroups:
    """Per cell (in the order of a :class:`CurveSet`): its batch, charging policy and protocol family."""

    batch: np.ndarray
    protocol: np.ndarray
    family: np.ndarray

    def by(self, scheme: str) -> np.ndarray:
        if scheme not in ("batch", "protocol", "family"):
            raise HealthError(f"unknown grouping {scheme!r}: use batch, protocol or family")
        return getattr(self, scheme)

    def subset(self, idx: np.ndarray) -> CellGroups:
        return CellGroups(self.batch[idx], self.protocol[idx], self.family[idx])


def leave_one_group_out(groups: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """One fold per group: train on every other group, test on it (no group on both sides)."""
    return [(np.flatnonzero(groups != g), np.flatnonzero(groups == g)) for g in np.unique(groups)]


def combine(*sets: CurveSet) -> CurveSet:
    """Several folders' cells as one set; names become ``<folder>/<cell>`` (``train/cell7``)."""
    if any(s.cycle_lives is None for s in sets):
        raise HealthError("combining cell sets needs cycle lives for every set")
    names = [f"{Path(s.source).name}/{n}" for s in sets for n in s.names]
    return CurveSet(names=names, curves=np.concatenate([s.curves for s in sets]),
                    cycle_lives=np.concatenate([s.cycle_lives for s in sets]),  # type: ignore[misc]
                    source=";".join(s.source for s in sets))


def find_cell_table(cells: CurveSet) -> Path | None:
    """``cells_*.csv`` beside the cells' folders (``severson2019/cells_train_test1.csv``), if any."""
    for src in cells.source.split(";"):
        for cand in sorted(Path(src).parent.glob("cells*.csv")):
            return cand
    return None


def groups_for(cells: CurveSet, table: str | Path | None = None) -> CellGroups:
    """The groups of every cell of ``cells`` (one folder's or :func:`combine`'s) from the data set's cell table."""
    path = Path(table) if table is not None else find_cell_table(cells)
    if path is None:
        raise HealthError(f"no cell table (cells*.csv with {', '.join(TABLE_COLUMNS)}) beside {cells.source}: "
                          "give --cells-table to validate by batch and protocol")
    with path.open(newline="") as f:
        rows = list(csv.DictReader(f))
    missing = [c for c in TABLE_COLUMNS if rows and c not in rows[0]]
    if not rows or missing:
        raise HealthError(f"{path}: expected columns {', '.join(TABLE_COLUMNS)}; missing {', '.join(missing) or 'every row'}")
    by_split: dict[str, list[dict[str, str]]] = {}
    for r in rows:
        by_split.setdefault(r["Dataset"], []).append(r)
    batch, protocol, family = [], [], []
    default_folder = Path(cells.source).name
    for i, name in enumerate(cells.names):
        folder, _, cell = name.rpartition("/")
        folder = folder or default_folder
        label = SPLIT_LABELS.get(folder)
        n = int(cell[4:]) if cell.startswith("cell") and cell[4:].isdigit() else None
        if label is None or n is None or n > len(by_split.get(label, [])):
            raise HealthError(f"{path}: no row for {folder}/{cell} (folders {', '.join(SPLIT_LABELS)} map to "
                              f"the Dataset values {', '.join(SPLIT_LABELS.values())}, in file order)")
        row = by_split[label][n - 1]
        if cells.cycle_lives is not None and float(row["Cycle life"]) != float(cells.cycle_lives[i]):
            raise HealthError(f"{path}: the row for {folder}/{cell} says cycle life {row['Cycle life']}, the cell's "
                              f"lives file says {cells.cycle_lives[i]:g}: the table is not in the files' order")
        batch.append(row["Batch date"])
        protocol.append(row["Charging policy"])
        family.append(protocol_family(row["Charging policy"]))
    return CellGroups(np.array(batch), np.array(protocol), np.array(family))
