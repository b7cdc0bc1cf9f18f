"""Shared helpers of the readers: decoding, locating columns, strict numeric parsing with line numbers."""

from __future__ import annotations

import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from batteryloop.health.errors import CyclerFileError

_UNIT_SUFFIX = re.compile(r"\s*[\(\[][^\)\]]*[\)\]]\s*$")


def decode(path: Path, data: bytes) -> str:
    """Text of a cycler export: UTF-8 (with or without BOM), else Latin-1 (old Windows exports)."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def norm(name: str) -> str:
    """A header name without its unit suffix, lower case: ``'Current(A)' -> 'current'``."""
    return _UNIT_SUFFIX.sub("", name.strip().strip('"')).strip().lower()


def find(header: Sequence[str], *candidates: str) -> str | None:
    """The first header name equal to one of ``candidates`` (exact, then unit-less, case-blind)."""
    for c in candidates:
        if c in header:
            return c
    normed = {norm(h): h for h in reversed(header)}
    for c in candidates:
        hit = normed.get(norm(c))
        if hit is not None:
            return hit
    return None


def require(path: Path, header: Sequence[str], line: int, what: str, *candidates: str) -> str:
    """Like :func:`find`, but a missing column is a :class:`CyclerFileError` naming what was expected."""
    hit = find(header, *candidates)
    if hit is None:
        raise CyclerFileError(
            path,
            f"missing required column for {what}; expected one of {list(candidates)}, "
            f"the header has {list(header)[:20]}",
            line=line,
        )
    return hit


@dataclass
class Table:
    """String columns of a delimited table, with the file line number of its first data row."""

    path: Path
    columns: dict[str, pl.Series]
    first_data_line: int
    height: int

    def number(self, name: str, *, required: bool = True) -> np.ndarray:
        """Column ``name`` as float64; a non-numeric cell raises an error naming its line."""
        s = self.columns[name]
        if s.dtype != pl.String:
            out = s.cast(pl.Float64, strict=False)
        else:
            stripped = s.str.strip_chars()
            out = stripped.cast(pl.Float64, strict=False)
            bad = stripped.is_not_null() & (stripped != "") & out.is_null()
            if bad.any():
                i = int(bad.arg_max())  # type: ignore[arg-type]
                raise CyclerFileError(
                    self.path,
                    "not a number",
                    line=self.first_data_line + i,
                    column=name,
                    value=str(s[i]),
                )
        arr = out.to_numpy().astype(np.float64, copy=False)
        if required:
            self._check_missing(name, np.isnan(arr))
        return arr

    def datetime(self, name: str, formats: Iterable[str], tz: str) -> pl.Series:
        """Column ``name`` parsed with the first format that reads every cell, as UTC."""
        s = self.columns[name].str.strip_chars()
        last_bad = None
        for fmt in formats:
            out = s.str.to_datetime(format=fmt, strict=False, time_unit="us")
            bad = s.is_not_null() & out.is_null()
            if not bad.any():
                self._check_missing(name, out.is_null().to_numpy())
                return out.dt.replace_time_zone(tz, ambiguous="earliest", non_existent="null").dt.convert_time_zone(
                    "UTC"
                )
            i = int(bad.arg_max())  # type: ignore[arg-type]
            if last_bad is None or i > last_bad[0]:
                last_bad = (i, fmt)
        assert last_bad is not None
        i, fmt = last_bad
        raise CyclerFileError(
            self.path,
            f"not a date-time in the expected format {fmt!r}",
            line=self.first_data_line + i,
            column=name,
            value=str(self.columns[name][i]),
        )

    def _check_missing(self, name: str, missing: np.ndarray) -> None:
        if missing.any():
            i = int(np.argmax(missing))
            hint = " (the file looks truncated)" if i >= self.height - 1 else ""
            raise CyclerFileError(
                self.path, f"missing value{hint}", line=self.first_data_line + i, column=name
            )


def read_table(
    path: Path,
    text: str,
    *,
    header_index: int,
    separator: str,
    wanted: Sequence[str],
) -> Table:
    """Read the columns ``wanted`` (header names) of the delimited table whose header is line
    ``header_index`` (0-based) of ``text``, all as strings so that bad cells can be located."""
    body = text.split("\n", header_index)[-1] if header_index else text
    try:
        df = pl.read_csv(
            io.StringIO(body),
            separator=separator,
            infer_schema=False,
            columns=list(dict.fromkeys(wanted)),
            truncate_ragged_lines=False,
            raise_if_empty=True,
        )
    except pl.exceptions.NoDataError as exc:
        raise CyclerFileError(path, "no data rows after the header", line=header_index + 1) from exc
    except (pl.exceptions.ComputeError, pl.exceptions.ColumnNotFoundError) as exc:
        msg = str(exc).splitlines()[0]
        raise CyclerFileError(path, f"cannot parse the table: {msg}", line=header_index + 1) from exc
    if df.height == 0:
        raise CyclerFileError(path, "no data rows after the header", line=header_index + 1)
    return Table(
        path=path,
        columns={c: df.get_column(c) for c in df.columns},
        first_data_line=header_index + 2,
        height=df.height,
    )


def split_header(line: str, separator: str) -> list[str]:
    """Header names of a delimited line (quotes stripped)."""
    return [h.strip().strip('"') for h in line.rstrip("\r\n").split(separator)]
