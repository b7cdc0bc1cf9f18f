"""Loading early-cycle discharge curves in the layout of the Severson et al. (2019) re-export.

A directory holds ``cellN.csv`` or ``cellN.csv.gz``: a 1000 × 99 matrix whose row i is voltage
point i of ``linspace(3.6 V, 2.0 V, 1000)`` and whose column j is cycle j + 2 (cycles 2..100); the
value is the discharge capacity Qdlin (Ah) at that voltage (Attia et al., JES 2021 re-export of
the Severson data). Cycle lives, when known, come from a one-column file whose row N is cell N's
life: ``DIR/cycle_lives.csv``, ``DIR/*cycle_lives*.csv``, or ``DIR/../cycle_lives/<DIR name>_cycle_lives.csv``.
"""

from __future__ import annotations

import gzip
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from batteryloop.health.errors import HealthError

N_VOLTAGES = 1000
N_CYCLES = 99  # cycles 2..100
FIRST_CYCLE = 2
_CELL = re.compile(r"^cell(\d+)\.csv(\.gz)?$")


@dataclass
class CurveSet:
    """Cells' Q(V) matrices, shape (cells, 1000, 99), their names and, if known, cycle lives."""

    names: list[str]
    curves: np.ndarray
    cycle_lives: np.ndarray | None
    source: str


def cell_files(directory: str | Path) -> list[Path]:
    """``cellN.csv[.gz]`` files of ``directory`` ordered by N."""
    d = Path(directory)
    if not d.is_dir():
        raise HealthError(f"{d}: not a directory of cellN.csv[.gz] files")
    files = [p for p in d.iterdir() if _CELL.match(p.name)]
    if not files:
        raise HealthError(f"{d}: no cellN.csv or cellN.csv.gz files")
    return sorted(files, key=lambda p: int(_CELL.match(p.name).group(1)))  # type: ignore[union-attr]


def cell_name(path: Path) -> str:
    """The cell's name: the file stem without ``.csv`` (``cell7``)."""
    return path.name.split(".", 1)[0]


def read_curves(path: Path) -> np.ndarray:
    """One cell's 1000 × 99 Q(V) matrix; a clear error if the shape or a value is wrong."""
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rt") as fh:  # type: ignore[operator]
            m = np.loadtxt(fh, delimiter=",", dtype=np.float64, ndmin=2)
    except (ValueError, OSError, EOFError) as exc:
        raise HealthError(f"{path}: not a matrix of numbers: {str(exc).splitlines()[0]}") from exc
    if m.shape != (N_VOLTAGES, N_CYCLES):
        raise HealthError(f"{path}: expected {N_VOLTAGES} × {N_CYCLES} values (voltages × cycles 2..100), found {m.shape[0]} × {m.shape[1]}")
    bad = np.argwhere(~np.isfinite(m))
    if bad.size:
        i, j = bad[0]
        raise HealthError(f"{path}: {len(bad)} non-finite value(s), the first {m[i, j]} at row {i + 1} (voltage point), "
                          f"column {j + 1} (cycle {j + FIRST_CYCLE}); fix or remove the cell")
    return m


def find_cycle_lives(directory: Path) -> Path | None:
    d = Path(directory)
    for cand in [d / "cycle_lives.csv", *sorted(d.glob("*cycle_lives*.csv")), d.parent / "cycle_lives" / f"{d.name}_cycle_lives.csv"]:
        if cand.is_file():
            return cand
    return None


def load_curve_set(directory: str | Path, *, require_lives: bool = False) -> CurveSet:
    """All cells of ``directory`` with their cycle lives if a cycle-lives file is found."""
    files = cell_files(directory)
    curves = np.stack([read_curves(p) for p in files])
    names = [cell_name(p) for p in files]
    lives = None
    lf = find_cycle_lives(Path(directory))
    if lf is not None:
        table = np.loadtxt(lf, dtype=np.float64, ndmin=1)
        idx = np.array([int(n[4:]) for n in names]) - 1
        if idx.max() >= table.size:
            raise HealthError(f"{lf}: {table.size} rows, but cell{idx.max() + 1} needs row {idx.max() + 1}")
        lives = table[idx]
    elif require_lives:
        raise HealthError(f"{directory}: no cycle_lives file (cycle_lives.csv, or ../cycle_lives/<dir>_cycle_lives.csv)")
    return CurveSet(names=names, curves=curves, cycle_lives=lives, source=str(Path(directory).resolve()))
