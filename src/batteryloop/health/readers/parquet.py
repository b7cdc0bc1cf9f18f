"""Our own Parquet series (:func:`batteryloop.health.timeseries.write_parquet`): the canonical columns,
with the source format and metadata in the file's key-value metadata. Recognised by its ``PAR1`` magic.
"""

from __future__ import annotations

from pathlib import Path

from batteryloop.health.readers.registry import Reader, register
from batteryloop.health.timeseries import CyclerData, read_parquet

FORMAT = "parquet"


def sniff_bytes(data: bytes) -> bool:
    """A Parquet file starts (and ends) with the magic ``PAR1``."""
    return data[:4] == b"PAR1"


def read(path: Path, data: bytes, tz: str = "UTC") -> CyclerData:
    """The series as stored (timestamps are UTC already; ``data`` is not needed: Arrow reads the file)."""
    return read_parquet(path)


register(Reader(FORMAT, read, priority=10, sniff_bytes=sniff_bytes, content_name="Parquet file",
                suffixes=(".parquet",), title="batteryloop canonical series (Parquet)"))
