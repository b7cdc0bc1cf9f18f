"""Whole lives of three CALCE CS2 cells: the default reference population of the RUL forecaster.

Source: CALCE Battery Research Group, University of Maryland — CS2 prismatic LCO/graphite cells
(1.1 Ah nominal, 1C constant-current/constant-voltage cycling at room temperature), cells CS2_36, CS2_37
and CS2_38, each cycled to the end of its life; the Arbin exports as redistributed in XiuzeZhou/RUL @
26f12968 (``datasets/CALCE``). Derived here (``bench/health_rul.py --write-reference``) as each cell's
state of health — discharge capacity smoothed by a 9-cycle rolling median, over the median of its first
five smoothed cycles — at every cycle, rounded to 4 decimals: ``calce_cs2_soh.csv`` (columns ``cell``,
``cycle``, ``soh``). Derived 2026-12-05. Cite CALCE when you use it.

A user with lives of their own cell family passes them to :func:`batteryloop.health.forecast_rul` as
``population=`` (:class:`batteryloop.health.similarity.Trajectory`) instead.
"""

from __future__ import annotations

import csv
from functools import lru_cache
from importlib import resources

import numpy as np

from ._core import Citation

CITATION = Citation(
    title="CALCE battery data: CS2 cells CS2_36, CS2_37, CS2_38 (whole lives)",
    publisher="CALCE Battery Research Group, University of Maryland; redistributed in XiuzeZhou/RUL @ 26f12968",
    date="2026-12-05 (derived)",
    url="https://calce.umd.edu/battery-data",
    note="state of health per cycle (9-cycle rolling median / initial), calce_cs2_soh.csv",
)

FILE = "calce_cs2_soh.csv"
CELLS = ("CS2_36", "CS2_37", "CS2_38")


@lru_cache(maxsize=1)
def lives() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """cell -> (cycles, state of health as a fraction of initial capacity)."""
    rows: dict[str, list[tuple[float, float]]] = {}
    with resources.files(__package__).joinpath(FILE).open() as f:
        for r in csv.DictReader(f):
            rows.setdefault(r["cell"], []).append((float(r["cycle"]), float(r["soh"])))
    return {c: (np.array([k for k, _ in v]), np.array([s for _, s in v])) for c, v in rows.items()}
