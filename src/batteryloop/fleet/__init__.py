"""Fleet telemetry: the BMS telemetry layout, a CSV reader and validator, a generator with known faults, one
analysis run on Polars or Spark, and the publication of its states of health (docs/fleet.md).

Modules: :mod:`.layout` (the Parquet layout), :mod:`.csvread` (fleet CSV exports), :mod:`.validate` (the checks),
:mod:`.importer` (CSV into the layout), :mod:`.simulate` (the generator), :mod:`.analysis` (the definition and the
per-pack figures), :mod:`.publish` (passport versions and ledger events, in batches), :mod:`.results` (stored analyses, for the
dashboard's fleet page).
"""

from .analysis import analyze, pack_figures, read_table, sessions_polars, sessions_spark, spark_session, write_table
from .csvread import read_telemetry_csv
from .layout import COLUMNS, FleetLayout, bucket_of, read_packs
from .simulate import FAULTS, simulate
from .validate import Problem, ValidationReport, validate_files, validate_folder, validate_frame

__all__ = ["COLUMNS", "FAULTS", "FleetLayout", "Problem", "ValidationReport", "analyze", "bucket_of", "pack_figures",
           "read_packs", "read_table", "read_telemetry_csv", "sessions_polars", "sessions_spark", "simulate",
           "spark_session", "validate_files", "validate_folder", "validate_frame", "write_table"]
