"""`batteryloop fleet …` on the command line: simulate, validate, analyze, and their refusals."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
from typer.testing import CliRunner

from batteryloop.cli import app


def run(*args: str) -> tuple[int, str]:
    res = CliRunner().invoke(app, list(args), catch_exceptions=False)
    return res.exit_code, res.stdout


def test_simulate_validate_analyze(tmp_path: Path) -> None:
    d = tmp_path / "f"
    code, out = run("fleet", "simulate", "--vehicles", "4", "--days", "1", "--interval-s", "300", "--seed", "3",
                    "--fault-share", "0.5", "-o", str(d))
    assert code == 0 and json.loads(out)["rows"] == 4 * 288
    code, out = run("fleet", "validate", str(d))
    assert code == 0 and json.loads(out)["ok"]
    code, out = run("fleet", "analyze", str(d), "-o", str(tmp_path / "p.csv"))
    assert code == 0 and json.loads(out)["packs"] == 4
    assert pl.read_csv(tmp_path / "p.csv")["pack_id"].len() == 4
    code, _ = run("fleet", "simulate", "--vehicles", "1", "--days", "1", "-o", str(d))
    assert code == 2  # not an empty folder


def test_refusals_are_named(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("time,vin,current\n2026-06-01T00:00:00Z,V1,x\n")
    code, out = run("fleet", "validate", str(bad), "--segment", "car")
    rep = json.loads(out)
    assert code == 1 and not rep["ok"] and any(p["rule"] == "type" and p["row"] == 2 for p in rep["problems"])
    code, _ = run("fleet", "analyze", str(tmp_path), "-o", str(tmp_path / "x.json"))
    assert code == 2
    code, _ = run("fleet", "analyze", str(tmp_path / "none"), "-o", str(tmp_path / "x.csv"))
    assert code == 2
