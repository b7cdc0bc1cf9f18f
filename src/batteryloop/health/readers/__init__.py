"""Cycler readers: detect the format of an export from its content, read it into the canonical
time series (:mod:`batteryloop.health.timeseries`).

Supported: Arbin CSV, Arbin Excel (``.xlsx``), Maccor text, Novonix CSV, Biologic text export
(with its ``.mpl`` settings file), Battery Data Format CSV, and our own Parquet.

    >>> data = read_cycler_file("FastCharge_000025_CH8.csv")      # doctest: +SKIP
    >>> cell = read_cell(sorted_paths)                              # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from batteryloop.health.errors import CyclerFileError
from batteryloop.health.readers import arbin, arbin_xlsx, bdf, biologic, maccor, novonix
from batteryloop.health.readers._common import decode
from batteryloop.health.timeseries import CyclerData, concat, read_parquet

FORMATS: tuple[str, ...] = (
    arbin.FORMAT,
    arbin_xlsx.FORMAT,
    maccor.FORMAT,
    novonix.FORMAT,
    biologic.FORMAT,
    bdf.FORMAT,
    "parquet",
)
_TEXT_SNIFFERS = (
    (novonix.FORMAT, novonix.sniff),
    (maccor.FORMAT, maccor.sniff),
    (arbin.FORMAT, arbin.sniff),
    (biologic.FORMAT, biologic.sniff),
    (bdf.FORMAT, bdf.sniff),
)


def detect_format(data: bytes, path: str | Path | None = None) -> str:
    """The format of a cycler export, from its first bytes (never from the file name).

    Raises :class:`CyclerFileError` for empty, binary or unknown content.
    """
    if not data:
        raise CyclerFileError(path, "the file is empty")
    if data[:4] == b"PAR1":
        return "parquet"
    if arbin_xlsx.sniff_zip(data):
        return arbin_xlsx.FORMAT
    head_bytes = data[:65536]
    if b"\x00" in head_bytes:
        raise CyclerFileError(path, "binary content that is not an Excel workbook or Parquet file")
    head = decode(Path(str(path)), head_bytes).replace("\r\n", "\n")
    for name, sniff in _TEXT_SNIFFERS:
        if sniff(head):
            return name
    first = head.split("\n", 1)[0][:120]
    raise CyclerFileError(
        path,
        "unrecognised cycler export: expected an Arbin, Maccor, Novonix, Biologic or Battery Data "
        "Format header, or an Arbin .xlsx workbook",
        line=1,
        value=first,
    )


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
    if fmt == "parquet":
        return read_parquet(p)
    if fmt == arbin.FORMAT:
        return arbin.read(p, data, tz)
    if fmt == arbin_xlsx.FORMAT:
        return arbin_xlsx.read(p, data, tz)
    if fmt == maccor.FORMAT:
        return maccor.read(p, data, tz)
    if fmt == novonix.FORMAT:
        return novonix.read(p, data, tz)
    if fmt == biologic.FORMAT:
        return biologic.read(p, data, tz, Path(settings_path) if settings_path else None)
    if fmt == bdf.FORMAT:
        return bdf.read(p, data, tz)
    raise CyclerFileError(p, f"unknown format {fmt!r}; known formats: {list(FORMATS)}")


def read_cell(paths: Sequence[str | Path], *, tz: str = "UTC", sort_by_time: bool = False) -> CyclerData:
    """One cell's history from several exports, concatenated in the order given (or by start time).

    Cycle numbers continue across files; capacity and energy totals carry over.
    """
    parts = [read_cycler_file(p, tz=tz) for p in paths]
    if sort_by_time:
        parts.sort(key=lambda d: (d.frame.get_column("timestamp").min() is None, d.frame.get_column("timestamp").min()))
    return concat(parts)


__all__ = ["FORMATS", "CyclerData", "CyclerFileError", "detect_format", "read_cell", "read_cycler_file"]
