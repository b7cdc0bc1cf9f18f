"""The RUL interval's sister-cell floor: the spread of life among cells of one type cycled alike, measured on
the Severson et al. 2019 cell table, and how the interval combines it with the population's own calibration."""

from __future__ import annotations

import csv
import math
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest

from batteryloop.health.similarity import (SISTER_DF, SISTER_LOG_SD, Match, interval, sister_half_width,
                                           sister_log_sd)


def test_sister_log_sd_by_hand() -> None:
    """Groups (e, e·e^0.2) and (e^2, e^2, e^2·e^0.3) and a lone cell: ln lives (1, 1.2) and (2, 2, 2.3);
    squared deviations 0.01 + 0.01 and 0.01 + 0.01 + 0.04 = 0.08 over 1 + 2 = 3 degrees of freedom; the lone
    cell adds nothing. √(0.08 / 3) = 0.163299."""
    e = math.e
    sd, df = sister_log_sd({"a": [e, e * math.exp(0.2)], "b": [e**2, e**2, e**2 * math.exp(0.3)], "c": [5.0]})
    assert df == 3 and sd == pytest.approx(math.sqrt(0.08 / 3), rel=1e-12)
    with pytest.raises(ValueError, match="two or more"):
        sister_log_sd({"lone": [100.0]})


def test_the_floor_is_measured_on_the_severson_cell_table(severson_dir: Path) -> None:
    """SISTER_LOG_SD and SISTER_DF are what sister_log_sd gives on the shared cell table, grouped by batch date
    and charging policy (read here with the csv module, not the package's reader): 20 groups of 2–3 cells."""
    groups: dict[tuple[str, str], list[float]] = defaultdict(list)
    with (severson_dir / "cells_train_test1.csv").open(newline="") as f:
        for row in csv.DictReader(f):
            groups[(row["Batch date"], row["Charging policy"])].append(float(row["Cycle life"]))
    assert sum(1 for v in groups.values() if len(v) >= 2) == 20
    sd, df = sister_log_sd(groups)
    assert df == SISTER_DF == 22
    assert sd == pytest.approx(SISTER_LOG_SD, abs=1e-5)


def test_sister_half_width_by_hand() -> None:
    """t_{0.95, 22} = 1.7171 (printed tables); with two references √1.5, with one √2."""
    assert sister_half_width(2, 0.1) == pytest.approx(1.7171 * SISTER_LOG_SD * math.sqrt(1.5), rel=1e-4)
    assert sister_half_width(1, 0.1) == pytest.approx(1.7171 * SISTER_LOG_SD * math.sqrt(2.0), rel=1e-4)
    assert sister_half_width(0, 0.1) == sister_half_width(1, 0.1)
    assert sister_half_width(2, 0.5) < sister_half_width(2, 0.1)


def _matches(n: int) -> list[Match]:
    return [Match(f"r{i}", 1.0, 0.0, 0.001, 600.0) for i in range(n)]


def test_interval_is_the_larger_of_population_and_sister_calibration() -> None:
    """Point 600 from cycle 300 (stage 0.5). Population errors at stage 0.5 of +1 % and −2 %: their conformal
    quantile (the largest of two) ln 1.02... is below the sister floor for two references, so the interval
    is 600 ×/÷ e^h with h = sister_half_width(2). Errors of +50 % and −40 % near the stage: h = max(ln 1.5,
    |ln 0.6|) = 0.5108, the floor no longer binds. Errors far from the stage (0.9, beyond ±0.2) are ignored
    while near ones exist. The lower bound never goes below the last cycle."""
    h = sister_half_width(2, 0.1)
    lo, hi = interval(600.0, 300.0, _matches(2), [(0.5, 0.01), (0.5, -0.02), (0.9, 3.0)], 0.1)
    assert (lo, hi) == (pytest.approx(600 * np.exp(-h)), pytest.approx(600 * np.exp(h)))
    lo, hi = interval(600.0, 300.0, _matches(2), [(0.4, 0.5), (0.6, -0.4)], 0.1)
    wide = max(np.log(1.5), -np.log(0.6))
    assert (lo, hi) == (pytest.approx(600 * np.exp(-wide)), pytest.approx(600 * np.exp(wide)))
    lo, hi = interval(600.0, 550.0, _matches(3), [], 0.1)
    assert lo == 550.0 and hi == pytest.approx(600 * np.exp(sister_half_width(3, 0.1)))
