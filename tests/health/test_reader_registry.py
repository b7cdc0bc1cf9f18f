"""The cycler-reader registry: the built-in order and messages, and a throwaway reader registered,
detected, read through ``read_cycler_file`` and removed again (the extension point works and leaks nothing)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest

from batteryloop.health import readers
from batteryloop.health.errors import CyclerFileError
from batteryloop.health.readers import FORMATS, detect_format, read_cycler_file, registry
from batteryloop.health.readers._common import decode
from batteryloop.health.timeseries import CyclerData, conform, cumulative_columns, increments

TOY = "toy_csv"


def _toy_sniff(head: str) -> bool:
    return head.startswith("# toy cycler\n")


def _toy_read(path: Path, data: bytes, tz: str = "UTC", scale: float = 1.0) -> CyclerData:
    rows = [line.split(";") for line in decode(path, data).splitlines()[2:] if line.strip()]
    t, cyc, i, v, q = (np.array([float(r[k]) for r in rows]) for k in range(5))
    charge = np.where(i > 0, increments(q), 0.0)
    discharge = np.where(i < 0, increments(q), 0.0)
    frame = pl.DataFrame({"time_s": t, "cycle": cyc.astype(np.int64), "current_a": i * scale, "voltage_v": v,
                          **cumulative_columns(charge, discharge, np.zeros(len(t)), np.zeros(len(t)))})
    return CyclerData(conform(frame), TOY, [str(path)], {"tz": tz, "scale": scale})


TOY_FILE = "# toy cycler\ntime;cycle;current;voltage;capacity\n0;1;1.0;3.6;0.0\n10;1;1.0;3.7;0.5\n20;1;-1.0;3.5;0.25\n"


def test_builtin_formats_order_and_messages_are_unchanged() -> None:
    assert FORMATS == ("arbin_csv", "arbin_xlsx", "maccor", "novonix", "biologic", "bdf", "parquet")
    assert [r.name for r in registry.byte_sniffers()] == ["parquet", "arbin_xlsx"]
    assert [r.name for r in registry.text_sniffers()] == ["novonix", "maccor", "arbin_csv", "biologic", "bdf"]
    assert registry.unrecognised_message() == (
        "unrecognised cycler export: expected an Arbin, Maccor, Novonix, Biologic or Battery Data "
        "Format header, or an Arbin .xlsx workbook")
    assert registry.binary_message() == "binary content that is not an Excel workbook or Parquet file"


def test_a_registered_reader_is_detected_and_read_then_gone(tmp_path: Path) -> None:
    p = tmp_path / "run.toy"
    p.write_text(TOY_FILE)
    with pytest.raises(CyclerFileError, match="unrecognised"):
        detect_format(p.read_bytes(), p)
    toy = registry.Reader(TOY, _toy_read, priority=200, sniff=_toy_sniff, header_name="Toy",
                          suffixes=(".toy",), options=("scale",), title="a test format")
    with registry.registered(toy):
        assert detect_format(p.read_bytes(), p) == TOY
        data = read_cycler_file(p, tz="Europe/Berlin")
        assert data.source_format == TOY and data.rows == 3
        assert data.frame.get_column("current_a").to_list() == [1.0, 1.0, -1.0]
        # charge 0.5 Ah on the way up, then 0.25 Ah of the counter's fresh count on discharge
        assert data.frame.get_column("charge_capacity_ah").to_list()[-1] == pytest.approx(0.5)
        assert data.frame.get_column("discharge_capacity_ah").to_list()[-1] == pytest.approx(0.25)
        assert data.metadata == {"tz": "Europe/Berlin", "scale": 1.0}
        assert registry.names()[-1] == TOY and TOY not in FORMATS  # FORMATS: the built-ins
        assert "Battery Data Format or Toy header" in registry.unrecognised_message()
        with pytest.raises(ValueError, match="already registered"):
            registry.register(toy)
    assert registry.get(TOY) is None and TOY not in registry.names()
    with pytest.raises(CyclerFileError, match="unknown format 'toy_csv'"):
        read_cycler_file(p, format=TOY)
    assert registry.unrecognised_message().endswith("Battery Data Format header, or an Arbin .xlsx workbook")


def test_a_higher_priority_reader_is_sniffed_first(tmp_path: Path) -> None:
    """Priority, not registration order, decides which sniffer sees a file first."""
    p = tmp_path / "a.csv"
    p.write_text("Data_Point,Test_Time,Cycle_Index,Current,Voltage,Charge_Capacity,Discharge_Capacity\n1,0,1,0,3.6,0,0\n")
    assert detect_format(p.read_bytes(), p) == "arbin_csv"
    greedy = registry.Reader("greedy", _toy_read, priority=0, sniff=lambda head: True)
    with registry.registered(greedy):
        assert detect_format(p.read_bytes(), p) == "greedy"
    assert detect_format(p.read_bytes(), p) == "arbin_csv"


def test_a_reader_needs_a_sniffer() -> None:
    with pytest.raises(ValueError, match="sniff"):
        registry.Reader("mute", _toy_read, priority=1)


def test_the_package_exposes_the_registry() -> None:
    assert readers.registry is registry
    assert all(registry.get(name) is not None for name in FORMATS)
