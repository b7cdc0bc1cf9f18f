"""Cycler readers: detect the format of an export from its content, read it into the canonical
time series (:mod:`batteryloop.health.timeseries`).

Supported: Arbin CSV, Arbin Excel (``.xlsx``), Maccor text, Novonix CSV, Biologic text export
(with its ``.mpl`` settings file), Battery Data Format CSV, and our own Parquet. Each reader module
registers itself in :mod:`.registry`, whose docstring says how to add one.

    >>> data = read_cycler_file("FastCharge_000025_CH8.csv")      # doctest: +SKIP
    >>> cell = read_cell(sorted_paths)                              # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from batteryloop.health.errors import CyclerFileError
from batteryloop.health.readers import registry
from batteryloop.health.readers._common import decode
from batteryloop.health.timeseries import CyclerData, concat

# The readers register themselves on import (health/readers/registry.py says how to add one). This
# order is the registration order: the order of FORMATS and of the formats named in error messages.
# isort: off
from batteryloop.health.readers import arbin  # noqa: E402,F401
from batteryloop.health.readers import arbin_xlsx  # noqa: E402,F401
from batteryloop.health.readers import maccor  # noqa: E402,F401
from batteryloop.health.readers import novonix  # noqa: E402,F401
from batteryloop.health.readers import biologic  # noqa: E402,F401
from batteryloop.health.readers import bdf  # noqa: E402,F401
from batteryloop.health.readers import parquet  # noqa: E402,F401
# isort: on

#: the built-in formats (``registry.names()`` also lists readers registered later)
FORMATS: tuple[str, ...] = registry.names()


def detect_format(data: bytes, path: str | Path | None = None) -> str:
    """The format of a cycler export, from its first bytes (never from the file name).

    Raises :class:`CyclerFileError` for empty, binary or unknown content.
    """
    if not data:
        raise CyclerFileError(path, "the file is empty")
    for reader in registry.byte_sniffers():
        if reader.sniff_bytes(data):  # type: ignore[misc]
            return reader.name
    head_bytes = data[:65536]
    if b"\x00" in head_bytes:
        raise CyclerFileError(path, registry.binary_message())
    head = decode(Path(str(path)), head_bytes).replace("\r\n", "\n")
    for reader in registry.text_sniffers():
        if reader.sniff(head):  # type: ignore[misc]
            return reader.name
    first = head.split("\n", 1)[0][:120]
    raise CyclerFileError(path, registry.unrecognised_message(), line=1, value=first)


def read_cycler_file(
    path: str | Path, *, tz: str = "UTC", format: str | None = None, settings_path: str | Path | None = None
) -> CyclerData:
    """Read one cycler export into the canonical series.

    ``tz`` is the IANA zone of the wall-clock times a file holds without a zone (Maccor,
    Novonix, Biologic, Arbin Excel); timestamps come out in UTC. ``format`` skips detection.
    ``settings_path`` names a Biologic ``.mpl`` (default: the file beside the export).
    """
    p = Path(path)
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise CyclerFileError(p, f"cannot read the file: {exc.strerror or exc}") from exc
    fmt = format or detect_format(data, p)
    reader = registry.get(fmt)
    if reader is None:
        raise CyclerFileError(p, f"unknown format {fmt!r}; known formats: {list(registry.names())}")
    return reader.read_file(p, data, tz, settings_path=Path(settings_path) if settings_path else None)


def read_cell(paths: Sequence[str | Path], *, tz: str = "UTC", sort_by_time: bool = False) -> CyclerData:
    """One cell's history from several exports, concatenated in the order given (or by start time).

    Cycle numbers continue across files; capacity and energy totals carry over.
    """
    parts = [read_cycler_file(p, tz=tz) for p in paths]
    if sort_by_time:
        parts.sort(key=lambda d: (d.frame.get_column("timestamp").min() is None, d.frame.get_column("timestamp").min()))
    return concat(parts)


__all__ = ["FORMATS", "CyclerData", "CyclerFileError", "detect_format", "read_cell", "read_cycler_file", "registry"]
