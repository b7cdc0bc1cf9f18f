"""Shared test fixtures: paths to the official fixtures and real data in ../shared, and the stores."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("BATTERYLOOP_SHARED", REPO.parent / "shared")).resolve()


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """The read-only ../shared folder (official fixtures and real data sets)."""
    if not SHARED.is_dir():
        pytest.fail(f"../shared not found at {SHARED}; set BATTERYLOOP_SHARED")
    return SHARED


@pytest.fixture(scope="session")
def fixtures_dir(shared_dir: Path) -> Path:
    return shared_dir / "fixtures"


@pytest.fixture(scope="session")
def data_dir(shared_dir: Path) -> Path:
    return shared_dir / "data"
