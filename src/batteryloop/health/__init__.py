"""Battery health: cycler and BMS readers, cycle summaries, state of health, lifetime models, grading.

Read it like a chapter: the canonical series (:mod:`.timeseries`), the readers that fill it
(:mod:`.readers`), the per-cycle view (:mod:`.summary`), the state of health of EU 2023/1542
Annex VII (:mod:`.soh`), lifetime models (:mod:`.lifetime`, :mod:`.rul`), and the grading of
retired batteries (:mod:`.grading`, thresholds in :mod:`batteryloop.reference.ul_1974`). Everything here is
pure: it reads files it is given and returns values; storing them is the services' job.
"""

from batteryloop.health.errors import CyclerFileError, HealthError, InsufficientDataError
from batteryloop.health.grading import GradeResult, IntakeRecord, grade, intake_from_soh
from batteryloop.health.readers import FORMATS, detect_format, read_cell, read_cycler_file
from batteryloop.health.rul import RulForecast, backtest, forecast_eol, forecast_rul
from batteryloop.health.soh import StateOfHealth, estimate_soh
from batteryloop.health.summary import SUMMARY_COLUMNS, cycle_summary
from batteryloop.health.timeseries import CyclerData, read_parquet, write_parquet

__all__ = [
    "FORMATS",
    "SUMMARY_COLUMNS",
    "CyclerData",
    "CyclerFileError",
    "GradeResult",
    "HealthError",
    "InsufficientDataError",
    "IntakeRecord",
    "RulForecast",
    "StateOfHealth",
    "backtest",
    "cycle_summary",
    "detect_format",
    "estimate_soh",
    "forecast_eol",
    "forecast_rul",
    "grade",
    "intake_from_soh",
    "read_cell",
    "read_cycler_file",
    "read_parquet",
    "write_parquet",
]
