"""The fleet generator: deterministic, valid against the layout, and honest about what it injected."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from batteryloop.fleet.layout import read_packs, telemetry_files
from batteryloop.fleet.simulate import FAULTS, simulate
from batteryloop.fleet.validate import validate_folder


def files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_same_seed_same_files_other_seed_other_files(tmp_path: Path) -> None:
    kw = dict(vehicles=12, days=2, interval_s=300.0, fault_share=0.5, buckets=4)
    a = simulate(tmp_path / "a", seed=5, **kw)
    simulate(tmp_path / "b", seed=5, **kw)
    simulate(tmp_path / "c", seed=6, **kw)
    fa, fb, fc = files(tmp_path / "a"), files(tmp_path / "b"), files(tmp_path / "c")
    assert fa == fb
    assert fa.keys() != fc.keys() or any(fa[k] != fc[k] for k in fa)
    assert a["rows"] == 12 * 2 * 288 and sum(a["faults"].values()) == 6
    truth = pl.read_csv(tmp_path / "a" / "_truth.csv")
    assert truth.columns == ["pack_id", "fault"] and set(truth["fault"]) <= set(FAULTS) and truth.height == 6
    packs = read_packs(tmp_path / "a")
    assert set(truth["pack_id"]) <= set(packs["pack_id"]) and packs.height == 12
    assert set(packs["segment"]) <= {"car", "taxi", "bus", "truck", "two_wheeler"}


def test_generated_telemetry_passes_the_validator(tmp_path: Path) -> None:
    simulate(tmp_path / "f", vehicles=10, days=2, seed=1, interval_s=120.0, buckets=4)
    rep = validate_folder(tmp_path / "f")
    assert rep.ok, [str(p) for p in rep.problems[:5]]
    assert rep.rows == 10 * 2 * 720 and len(telemetry_files(tmp_path / "f")) == rep.files


def test_refusals(tmp_path: Path) -> None:
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "keep").write_text("mine")
    with pytest.raises(FileExistsError):
        simulate(tmp_path / "x", vehicles=1, days=1)
    with pytest.raises(ValueError, match="interval"):
        simulate(tmp_path / "y", vehicles=1, days=1, interval_s=7)
