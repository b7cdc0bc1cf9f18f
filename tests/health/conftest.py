"""Fixtures of the health tests: paths to the real cycler exports in ../shared, read once per session."""

from __future__ import annotations

from pathlib import Path

import pytest

from batteryloop.health.readers import read_cell, read_cycler_file
from batteryloop.health.timeseries import CyclerData


@pytest.fixture(scope="session")
def cyclers_dir(data_dir: Path) -> Path:
    return data_dir / "cyclers"


@pytest.fixture(scope="session")
def arbin_file(cyclers_dir: Path) -> Path:
    return cyclers_dir / "FastCharge_000025_CH8.csv"


@pytest.fixture(scope="session")
def maccor_file(cyclers_dir: Path) -> Path:
    return cyclers_dir / "PreDiag_000229_000229_truncated.034"


@pytest.fixture(scope="session")
def novonix_file(cyclers_dir: Path) -> Path:
    return cyclers_dir / "test_Nova_Form-CH01-01_short.csv"


@pytest.fixture(scope="session")
def biologic_file(cyclers_dir: Path) -> Path:
    return cyclers_dir / "test_loopsnewoutput_MB_CE1_short10k.csv"


@pytest.fixture(scope="session")
def calce_files(data_dir: Path) -> list[Path]:
    files = sorted((data_dir / "calce" / "CS2_36").glob("*.xlsx"))
    assert len(files) == 26
    return files


@pytest.fixture(scope="session")
def calce_cell(calce_files: list[Path]) -> CyclerData:
    """The whole CALCE CS2_36 life, files ordered by their first time stamp."""
    return read_cell(calce_files, sort_by_time=True)


@pytest.fixture(scope="session")
def maccor_data(maccor_file: Path) -> CyclerData:
    return read_cycler_file(maccor_file)


@pytest.fixture(scope="session")
def biologic_data(biologic_file: Path) -> CyclerData:
    return read_cycler_file(biologic_file)


@pytest.fixture(scope="session")
def severson_dir(data_dir: Path) -> Path:
    return data_dir / "severson2019"


@pytest.fixture(scope="session")
def severson_train(severson_dir: Path):  # type: ignore[no-untyped-def]
    """The 41 training cells with their lives, read once for every lifetime test file."""
    from batteryloop.health.lifetime import load_curve_set

    return load_curve_set(severson_dir / "train", require_lives=True)


@pytest.fixture(scope="session")
def severson_test1(severson_dir: Path):  # type: ignore[no-untyped-def]
    from batteryloop.health.lifetime import load_curve_set

    return load_curve_set(severson_dir / "test1", require_lives=True)
