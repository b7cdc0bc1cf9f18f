"""Errors raised by the health package.

An error message is part of the interface: it names the file, the line and the column where
something is wrong, the value found, and what was expected.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import InvalidData


class HealthError(InvalidData, ValueError):
    """Base class of every error the health package raises on bad input.

    The platform's :class:`~batteryloop.errors.InvalidData` (422): its one ``errors`` entry names the
    ``file``, the error's class as the rule and the message; still a ``ValueError`` for the code that
    catches bad input as one.
    """

    def __init__(self, message: str = "") -> None:
        super().__init__(message, [{"field": "file", "rule": type(self).__name__, "message": message, "value": None}])


class CyclerFileError(HealthError):
    """A cycler export that cannot be read: unknown format, missing column, bad value, truncation.

    Attributes name where the problem is, so that a CLI or an API can show it as is
    (``path:line: column 'Voltage': ...``).
    """

    def __init__(
        self,
        path: str | Path | None,
        message: str,
        *,
        line: int | None = None,
        column: str | None = None,
        value: str | None = None,
    ) -> None:
        self.path = str(path) if path is not None else None
        self.line = line
        self.column = column
        self.value = value
        self.reason = message
        where = self.path or "<input>"
        if line is not None:
            where += f":{line}"
        text = f"{where}: "
        if column is not None:
            text += f"column {column!r}: "
        text += message
        if value is not None:
            shown = value if len(value) <= 60 else value[:57] + "..."
            text += f" (found {shown!r})"
        super().__init__(text)


class InsufficientDataError(HealthError):
    """The data is readable but does not hold what a calculation needs (e.g. no discharge)."""
