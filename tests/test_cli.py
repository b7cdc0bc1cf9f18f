"""The command line, run as a user would (a subprocess with its own database)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from batteryloop.sim import pilot
from tests.conftest import database_url

pytestmark = pytest.mark.any_store  # the CLI's database is PostgreSQL in make test-postgres


def run(tmp: Path, *args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
    """Run the CLI in-process (Typer's runner) with its own database; same exit codes and streams."""
    from typer.testing import CliRunner

    from batteryloop.cli import app

    env = {"BATTERYLOOP_DATABASE_URL": database_url(tmp), "BATTERYLOOP_VAR_DIR": str(tmp / "var")}
    res = CliRunner().invoke(app, list(args), env=env, catch_exceptions=False)
    p = subprocess.CompletedProcess(list(args), res.exit_code, res.stdout, res.stderr)
    if ok:
        assert p.returncode == 0, p.stderr
    return p


def demo_pack(tmp: Path, where: str = "status = 'original'") -> dict[str, str]:
    """A pack of the demo pilot in ``tmp``'s database: its passport id, model and serial number."""
    from sqlalchemy import create_engine, text

    eng = create_engine(database_url(tmp))
    with eng.connect() as c:
        row = c.execute(text(f"SELECT id, model_id, serial_number FROM passports WHERE {where} ORDER BY id LIMIT 1")).first()
    eng.dispose()
    assert row is not None, f"no demo pack where {where}"
    return {"id": row[0], "model_id": row[1], "serial_number": row[2]}


SMALL_DEMO = ("demo", "--years", "2", "--no-dataspace", "--no-serve")


def run_subprocess(tmp: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The real entry point in its own process (a few calls, to prove `python -m batteryloop.cli` works)."""
    env = {**os.environ, "BATTERYLOOP_DATABASE_URL": database_url(tmp), "BATTERYLOOP_VAR_DIR": str(tmp / "var")}
    return subprocess.run([sys.executable, "-m", "batteryloop.cli", *args], capture_output=True, text=True, env=env,
                          timeout=120)


@pytest.mark.slow
def test_cli_end_to_end(tmp_path: Path) -> None:
    p = run_subprocess(tmp_path, "db", "upgrade")
    assert p.returncode == 0 and "database at revision" in p.stderr
    assert "passport" in run_subprocess(tmp_path, "--help").stdout
    run(tmp_path, "demo", "--packs", "30", "--years", "3", "--no-dataspace", "--no-serve")
    tokens = json.loads((tmp_path / "var" / "demo-tokens.json").read_text())
    assert set(tokens) == {p["id"] for p in pilot.PARTICIPANTS + pilot.LOOP_PARTICIPANTS}
    # import JSON lines; one bad line refuses the file and names the record and field
    lines = [json.dumps(r) for r in pilot.generate_batteries(20, seed=77)]
    good = tmp_path / "good.jsonl"
    good.write_text("\n".join(lines) + "\n")
    bad_rec = json.loads(lines[4])
    bad_rec["mass_kg"] = -1
    bad = tmp_path / "bad.jsonl"
    bad.write_text("\n".join(lines[:4] + [json.dumps(bad_rec)]) + "\n")
    p = run(tmp_path, "passport", "import", str(bad), "--as", pilot.AUTOMAKER, ok=False)
    assert p.returncode == 2 and "record 5" in p.stderr and "mass_kg" in p.stderr
    p = run(tmp_path, "passport", "import", str(good), "--as", pilot.AUTOMAKER)
    assert "stored 20 passports" in p.stderr
    pid = f"BL.{pilot.AUTOMAKER}.{json.loads(lines[0])['serial_number']}"
    public = json.loads(run(tmp_path, "passport", "show", pid).stdout)
    assert public["access_tiers"] == ["public"] and "state_of_health" not in public["battery"]
    full = json.loads(run(tmp_path, "passport", "show", pid, "--as", pilot.RECYCLER_EU).stdout)
    assert "state_of_health" in full["battery"]
    hist = json.loads(run(tmp_path, "passport", "history", pid).stdout)
    assert hist["verify"]["ok"] and hist["versions"][0]["reason"] == "issued"
    run(tmp_path, "passport", "qr", pid, "-o", str(tmp_path / "q.png"))
    assert (tmp_path / "q.png").read_bytes()[:4] == b"\x89PNG"
    run(tmp_path, "passport", "qr", pid, "-o", str(tmp_path / "q.svg"))
    assert b"<svg" in (tmp_path / "q.svg").read_bytes()
    exp = json.loads(run(tmp_path, "passport", "export", pid, "--tiers", "public").stdout)
    assert "state_of_health" not in exp["battery"]
    p = run(tmp_path, "passport", "export", pid, "--tiers", "secret", ok=False)
    assert p.returncode == 2 and "unknown access tier" in p.stderr
    p = run(tmp_path, "passport", "show", "BL.NO.SUCH", ok=False)
    assert p.returncode == 2 and "no passport" in p.stderr
    # a UTF-16 file with BOM is read as well as UTF-8
    one = dict(json.loads(lines[1]), serial_number="UTF16-0001")
    f16 = tmp_path / "one.json"
    f16.write_bytes(json.dumps(one).encode("utf-16"))
    created = json.loads(run(tmp_path, "passport", "create", str(f16), "--as", pilot.AUTOMAKER).stdout)
    assert created["passport_id"].endswith("UTF16-0001")


@pytest.mark.slow
def test_cli_health_and_circular(tmp_path: Path, data_dir: Path) -> None:
    maccor = data_dir / "cyclers" / "PreDiag_000229_000229_truncated.034"
    soh = json.loads(run(tmp_path, "health", "soh", str(maccor), "--rated-capacity-ah", "5").stdout)
    assert 90 < soh["soh_capacity_pct"] < 100
    p = run(tmp_path, "health", "soh", str(data_dir / "cyclers" / "test_loopsnewoutput_MB_CE1_short10k.mpl"), ok=False)
    assert p.returncode == 2 and "unrecognised cycler export" in p.stderr.replace("\n", " ")
    (tmp_path / "intake.json").write_text(json.dumps({"battery_id": "X", "soh_capacity_pct": 55.0}))
    assert json.loads(run(tmp_path, "health", "grade", str(tmp_path / "intake.json")).stdout)["grade"] == "recycle"
    (tmp_path / "bad.json").write_text(json.dumps({"soh_capacity_pct": "lots"}))
    assert run(tmp_path, "health", "grade", str(tmp_path / "bad.json"), ok=False).returncode == 2
    rec = json.loads(run(tmp_path, "circular", "recycle", "--chemistry", "NMC811", "--mass-kg", "500", "--process", "hydro").stdout)
    assert rec[0]["process"] == "hydro" and rec[0]["input_mass_kg"] == 500
    assert run(tmp_path, "circular", "recycle", "--chemistry", "XYZ", "--mass-kg", "500", ok=False).returncode == 2
    run(tmp_path, SMALL_DEMO[0], "--packs", "6", *SMALL_DEMO[1:])
    fp = json.loads(run(tmp_path, "circular", "footprint", "EM-NCA-75", "--country", "JP").stdout)
    assert fp["passport_fields"]["total_kgco2e_per_kwh"] > 0
    pid = demo_pack(tmp_path)["id"]
    route = json.loads(run(tmp_path, "circular", "route", pid, "--as", pilot.RECYCLER_EU).stdout)
    assert route["decision"]["recommended"]
    p = run(tmp_path, "circular", "route", pid, "--as", pilot.CELL_KR, ok=False)
    assert p.returncode == 2 and "legitimate interest" in p.stderr


@pytest.mark.slow
def test_cli_standard_formats(tmp_path: Path, fixtures_dir: Path) -> None:
    run(tmp_path, SMALL_DEMO[0], "--packs", "3", *SMALL_DEMO[1:])
    pid = demo_pack(tmp_path)["id"]
    cx = tmp_path / "cx.json"
    run(tmp_path, "passport", "export", pid, "--tiers", "all", "--format", "catenax", "-o", str(cx))
    assert json.loads(cx.read_text())["specVersion"].startswith("urn:io.catenax.battery.battery_pass")
    run(tmp_path, "passport", "export", pid, "--format", "aasx", "-o", str(tmp_path / "p.aasx"))
    assert (tmp_path / "p.aasx").read_bytes()[:2] == b"PK"
    # into a second, empty registry
    other = tmp_path / "other"
    other.mkdir()
    for p in pilot.PARTICIPANTS[:1]:
        run(other, "participant", "add", p["id"], p["name"], p["country"], "--role", "manufacturer")
    res = json.loads(run(other, "passport", "import-standard", str(cx), "--as", pilot.AUTOMAKER).stdout)
    assert res["passport"]["passport_id"] == pid and res["model_created"]
    bad = run(other, "passport", "import-standard",
              str(fixtures_dir / "catenax/io.catenax.battery.battery_pass/6.1.0/BatteryPass.json"),
              "--as", pilot.AUTOMAKER, ok=False)
    assert bad.returncode == 2 and "intoServiceDate" in bad.stderr


@pytest.mark.slow
def test_cli_lifetime_train_and_predict_forms(tmp_path: Path, data_dir: Path) -> None:
    """The exact command forms other tools call: train --data DIR -o MODEL; predict --model --cells -o."""
    sev = data_dir / "severson2019"
    train = tmp_path / "train"
    train.mkdir()
    lives = (sev / "cycle_lives" / "train_cycle_lives.csv").read_text().split()
    for n in range(1, 21):
        (train / f"cell{n}.csv.gz").symlink_to(sev / "train" / f"cell{n}.csv.gz")
    (train / "cycle_lives.csv").write_text("\n".join(lives[:20]) + "\n")
    cells = tmp_path / "cells"
    cells.mkdir()
    for n in (3, 7, 11):
        (cells / f"cell{n}.csv.gz").symlink_to(sev / "test1" / f"cell{n}.csv.gz")
    model = tmp_path / "model.bin"
    # two quick candidates (--candidates): the whole selection is trained in tests/health
    p = run(tmp_path, "health", "lifetime", "train", "--data", str(train), "-o", str(model),
            "--candidates", "severson_variance,trajectory_ridge")
    assert model.is_file() and json.loads(p.stdout)["train"]["rmse_cycles"] > 0
    assert json.loads(p.stdout)["candidate"] in {"severson_variance", "trajectory_ridge"}
    pred = tmp_path / "pred.csv"
    run(tmp_path, "health", "lifetime", "predict", "--model", str(model), "--cells", str(cells), "-o", str(pred))
    rows = pred.read_text().splitlines()
    assert rows[0] == "cell,predicted_cycle_life"
    got = {r.split(",")[0]: float(r.split(",")[1]) for r in rows[1:]}
    assert set(got) == {"cell3", "cell7", "cell11"} and all(100 < v < 3000 for v in got.values())
    # rul on the real CALCE cell, only cycles up to 200
    calce = sorted((data_dir / "calce" / "CS2_36").glob("*.xlsx"))
    assert calce
    out = json.loads(run(tmp_path, "health", "rul", *map(str, calce[:8]), "--upto-cycle", "150").stdout)
    assert {"predicted_eol_cycle", "lower", "upper"} <= set(out)
    # ingest into a pack, then soh PACK
    run(tmp_path, SMALL_DEMO[0], "--packs", "3", *SMALL_DEMO[1:])
    pid = demo_pack(tmp_path)["id"]
    maccor = data_dir / "cyclers" / "PreDiag_000229_000229_truncated.034"
    summary = tmp_path / "summary.csv"
    run(tmp_path, "health", "ingest", str(maccor), "--pack", pid, "--as", pilot.AUTOMAKER, "--summary", str(summary))
    header = summary.read_text().splitlines()[0].split(",")
    assert header[:1] == ["cycle"] and {"charge_capacity_ah", "discharge_capacity_ah", "charge_energy_wh",
                                        "discharge_energy_wh", "coulombic_efficiency"} <= set(header)
    # a 5 Ah lab cell from 2019 is not this 231 Ah pack made since: refused by name, nothing written
    before = json.loads(run(tmp_path, "passport", "history", pid).stdout)["versions"]
    p = run(tmp_path, "health", "soh", pid, "--as", pilot.AUTOMAKER, "--rated-capacity-ah", "5", ok=False)
    assert "rated_capacity_ah" in p.stderr + p.stdout and "per_cell" in p.stderr + p.stdout
    p = run(tmp_path, "health", "soh", pid, "--as", pilot.AUTOMAKER, ok=False)
    assert "soh_capacity_pct" in p.stderr + p.stdout
    assert json.loads(run(tmp_path, "passport", "history", pid).stdout)["versions"] == before


@pytest.mark.slow
def test_cli_passport_import_format_batterypass_and_bpnl_alias(tmp_path: Path) -> None:
    """The issue's forms: `passport import FILE --format batterypass [--lenient]`, export as Battery Pass, and
    the node's BPNL alias table (`formats bpnl-alias`)."""
    run(tmp_path, SMALL_DEMO[0], "--packs", "3", *SMALL_DEMO[1:])
    raw = demo_pack(tmp_path)
    pid = raw["id"]
    bp = tmp_path / "bp.json"
    run(tmp_path, "passport", "export", pid, "--tiers", "all", "--format", "batterypass", "-o", str(bp))
    assert json.loads(bp.read_text())["generalProductInformation"]["productIdentifier"] == pid
    # the flag the missing-alias error suggests is taken by the catenax export (issue 16), refused where no BPNL goes
    run(tmp_path, "passport", "export", pid, "--format", "catenax", "--bpnl", f"{pilot.CELL_KR}=BPNL00000003KR9Z")
    bad = run(tmp_path, "passport", "export", pid, "--format", "idta-samm", "--bpnl", f"{pilot.CELL_KR}=BPNL00000003KR9Z",
              ok=False)
    assert bad.returncode == 2 and "--bpnl applies to" in bad.stderr
    other = tmp_path / "other"
    other.mkdir()
    run(other, "participant", "add", pilot.AUTOMAKER, "EuroMotors AG", "DE", "--role", "manufacturer")
    defaults = ["--default", f"model_id={raw['model_id']}", "--default", "model_name=Pack",
                "--default", f"serial_number={raw['serial_number']}"]
    # strict refuses it, naming every property the consortium's 1.2 schemas require and the export leaves out
    strict = run(other, "passport", "import", str(bp), "--format", "batterypass", "--as", pilot.AUTOMAKER, *defaults,
                 ok=False)
    assert strict.returncode == 2 and "warrentyPeriod" in strict.stderr
    assert "preConsumerShare" not in strict.stderr  # exported since the recycled-content split (issue 18)
    res = json.loads(run(other, "passport", "import", str(bp), "--format", "batterypass", "--lenient",
                         "--as", pilot.AUTOMAKER, *defaults).stdout)
    assert res["passport"]["passport_id"] == pid and res["model_created"]
    run(other, "formats", "bpnl-alias", pilot.CELL_KR, "BPNL00000003KR9Z")
    assert (other / "var" / "bpnl_aliases.json").is_file()
    assert f"{pilot.CELL_KR}\tBPNL00000003KR9Z" in run(other, "formats", "bpnl-alias").stdout


def test_pilot_residual_value_cli(tmp_path: Path) -> None:
    """``batteryloop pilot residual-value``: a clear error before any pilot and for a bad option; after a pilot, the
    stored report's table as JSON or CSV (the same rows)."""
    run(tmp_path, "db", "upgrade")
    p = run(tmp_path, "pilot", "residual-value", ok=False)
    assert p.returncode == 2 and "no pilot has run on this store yet" in p.stderr and p.stdout == ""
    p = run(tmp_path, "pilot", "residual-value", "--region", "XX", ok=False)
    assert p.returncode == 2 and "--region='XX': must be KR, EU or all" in p.stderr
    run(tmp_path, "demo", "--packs", "30", "--years", "3", "--no-dataspace", "--no-serve")
    table = json.loads(run(tmp_path, "pilot", "residual-value", "--region", "all").stdout)
    assert table["fields"][:3] == ["year", "grade", "packs"] and table["new_pack_price_usd_per_kwh"] == 115.0
    csv_lines = run(tmp_path, "pilot", "residual-value", "--region", "all", "--format", "csv").stdout.strip().splitlines()
    assert csv_lines[0].startswith("year,grade,packs") and len(csv_lines) == len(table["rows"]) + 1
