"""The registry of cycler readers: one :class:`Reader` per export format, registered by its own module.

:mod:`batteryloop.health.readers` builds ``FORMATS``, :func:`~batteryloop.health.readers.detect_format`
and the dispatch of :func:`~batteryloop.health.readers.read_cycler_file` from what is registered here;
nothing else lists the formats.

Detection runs in two passes, each in ``priority`` order (lower first):

1. the *byte* sniffers (``sniff_bytes``: magic numbers, a ZIP's members) on the raw bytes — Parquet's
   ``PAR1``, the ``.xlsx`` ZIP;
2. if the first 64 KiB hold no NUL byte, the *text* sniffers (``sniff``) on the decoded head of the
   file (UTF-8, else Latin-1; ``\\r\\n`` made ``\\n``) — Novonix, Maccor, Arbin, Biologic, BDF.

The first reader whose sniffer says yes reads the file. The order matters where two formats could
claim the same head, so every registration gives its ``priority`` explicitly (built-ins use steps of
10: 10 Parquet, 20 Arbin .xlsx; 110 Novonix, 120 Maccor, 130 Arbin CSV, 140 Biologic, 150 BDF).
``FORMATS`` and the error messages ("unrecognised cycler export: expected an Arbin, Maccor, …") list
the readers in *registration* order, which is the import order in ``readers/__init__.py``.

How to add a reader (say, a Neware CSV export):

1. Write ``health/readers/neware.py`` with ``FORMAT = "neware_csv"``, a ``sniff(head: str) -> bool``
   that recognises the export from its first lines (never from the file name), and
   ``read(path: Path, data: bytes, tz: str = "UTC") -> CyclerData`` that fills the canonical series
   (:mod:`batteryloop.health.timeseries`: ``conform``, ``cumulative_columns``, ``increments``) and
   raises :class:`~batteryloop.health.errors.CyclerFileError` with the line and column of bad input
   (the helpers in ``_common`` do: ``require``, ``read_table``, ``decode``).
2. At the end of that module, register it::

       register(Reader(FORMAT, read, priority=160, sniff=sniff, header_name="Neware",
                       suffixes=(".csv",), title="Neware BTS CSV export"))

   ``header_name`` puts it into the "expected an Arbin, …, Neware … header" message; a binary
   format gives ``sniff_bytes`` instead, with ``content_name`` (the "binary content that is not an
   Excel workbook or …" message) and, if users should be told about it, ``suggest``. A reader that
   takes more keyword options names them in ``options`` (Biologic: ``("settings_path",)``).
3. Add one line ``from batteryloop.health.readers import neware`` to the import block of
   ``health/readers/__init__.py`` (where in the block sets its place in ``FORMATS``).
4. Tests: a small real export in the shared test data (``<data_dir>/cyclers/``) with a fixture for it in
   ``tests/health/conftest.py``; in ``tests/health/test_readers.py`` that ``detect_format`` names it
   (add it to ``test_formats_are_detected_from_content_not_name``, which also shows that no other
   sample is now taken for it), that ``read_cycler_file`` gives the cycles, capacities and timestamps
   computed independently from the raw columns, and that a truncated or wrong file raises
   ``CyclerFileError`` with its line and column; add the file to ``CYCLER_FILES`` of
   ``tests/fuzz/test_readers_fuzz.py``. ``tests/health/test_reader_registry.py`` pins the built-in
   order and messages: extend its expected tuples.

Tests that register a throwaway reader use :func:`registered` (it unregisters on exit).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from batteryloop.health.timeseries import CyclerData
from batteryloop.registry import Registry

#: ``read(path, data, tz, **options) -> CyclerData``
ReadFn = Callable[..., CyclerData]


@dataclass(frozen=True)
class Reader:
    """One cycler export format: how to recognise it and how to read it."""

    name: str  #: the format id (``CyclerData.source_format``, the ``format=`` argument)
    read: ReadFn  #: ``read(path: Path, data: bytes, tz: str, **options) -> CyclerData``
    priority: int  #: detection order within its pass (lower first); see the module docstring
    sniff: Callable[[str], bool] | None = None  #: text sniffer on the decoded head of the file
    sniff_bytes: Callable[[bytes], bool] | None = None  #: byte sniffer (magic numbers), run before the text pass
    header_name: str | None = None  #: text formats: named in "expected an … header"
    content_name: str | None = None  #: binary formats: named in "binary content that is not an …"
    suggest: str | None = None  #: binary formats: "or …" appended to the unrecognised-export message
    suffixes: tuple[str, ...] = ()  #: the file suffixes the exporter writes (documentation; detection ignores names)
    options: tuple[str, ...] = ()  #: keyword options of ``read`` beyond ``tz`` that read_cycler_file passes on
    title: str = ""  #: a one-line description

    def __post_init__(self) -> None:
        if self.sniff is None and self.sniff_bytes is None:
            raise ValueError(f"reader {self.name!r} needs a sniff or a sniff_bytes function")

    def read_file(self, path: Path, data: bytes, tz: str, **options: Any) -> CyclerData:
        """Read with the options this reader takes (others are ignored, as for any format without them)."""
        return self.read(path, data, tz, **{k: v for k, v in options.items() if k in self.options})


_REGISTRY: Registry[Reader] = Registry("cycler format")
register = _REGISTRY.register
unregister = _REGISTRY.unregister
registered = _REGISTRY.registered


def get(name: str) -> Reader | None:
    return _REGISTRY.get(name)


def names() -> tuple[str, ...]:
    """Every registered format, in registration order."""
    return tuple(_REGISTRY)


def readers() -> list[Reader]:
    """Every registered reader, in registration order."""
    return list(_REGISTRY.values())


def byte_sniffers() -> list[Reader]:
    """Readers with a byte sniffer, in detection order."""
    return sorted((r for r in _REGISTRY.values() if r.sniff_bytes is not None), key=lambda r: r.priority)


def text_sniffers() -> list[Reader]:
    """Readers with a text sniffer, in detection order."""
    return sorted((r for r in _REGISTRY.values() if r.sniff is not None), key=lambda r: r.priority)


def _either(words: list[str]) -> str:
    """``["a", "b", "c"]`` → ``"a, b or c"``."""
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]


def _article(word: str) -> str:
    return "an" if word[:1].lower() in "aeiou" else "a"


def binary_message() -> str:
    """Why binary content matching no byte sniffer is refused."""
    kinds = [r.content_name for r in _REGISTRY.values() if r.sniff_bytes is not None and r.content_name]
    if not kinds:
        return "binary content that no cycler reader recognises"
    return f"binary content that is not {_article(kinds[0])} {_either(kinds)}"


def unrecognised_message() -> str:
    """Why text matching no text sniffer is refused: the headers expected, then the binary formats suggested."""
    heads = [r.header_name for r in _REGISTRY.values() if r.sniff is not None and r.header_name]
    hints = [r.suggest for r in _REGISTRY.values() if r.suggest]
    msg = "unrecognised cycler export"
    if heads:
        msg += f": expected {_article(heads[0])} {_either(heads)} header"
        if hints:
            msg += ", or " + _either(hints)
    elif hints:
        msg += ": expected " + _either(hints)
    return msg


__all__ = ["ReadFn", "Reader", "binary_message", "byte_sniffers", "get", "names", "readers", "register",
           "registered", "text_sniffers", "unrecognised_message", "unregister"]
