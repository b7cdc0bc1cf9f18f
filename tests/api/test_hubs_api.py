"""Hubs through HTTP and the command line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

HUB = {
    "name": "test-hub", "latitude_deg": 31.2, "pv_kwp": 200,
    "grid": {"import_limit_kw": 500, "export_limit_kw": 100, "currency": "CNY"},
    "ev_charging": {"sessions_per_day": 30, "kwh_per_session": 30},
    "packs": [{"pack_id": "P1", "chemistry": "NMC622", "nominal_energy_kwh": 70, "soh_fraction": 0.78},
              {"pack_id": "P2", "chemistry": "LFP", "nominal_energy_kwh": 60, "soh_fraction": 0.85}],
}


def test_simulate_and_vpp(client: Any) -> None:
    r = client.post("/api/v1/hubs/simulate", json={"config": HUB, "days": 7})
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["year"]["days"] == 7 and out["comparison"]["method"] == "rule_based"
    # the optimiser never costs more than the rule-based fallback on the same days
    assert out["comparison"]["this_total_cost"] <= out["comparison"]["total_cost"] + 1e-6
    bad = dict(HUB, packs=[dict(HUB["packs"][0], soh_fraction=1.5)])
    r = client.post("/api/v1/hubs/simulate", json={"config": bad, "days": 3})
    assert r.status_code == 422 and "soh_fraction" in r.json()["detail"]
    sig = {"request_kw": [0.0] * 14 + [30.0] * 6 + [0.0] * 4}
    r = client.post("/api/v1/hubs/vpp", json={"hubs": [HUB, dict(HUB, name="hub-2")], "signal": sig})
    assert r.status_code == 200, r.text
    v = r.json()
    assert v["requested_kwh"] == 180.0 and 0 <= v["delivered_kwh"] <= v["requested_kwh"] + 1e-6
    r = client.post("/api/v1/hubs/vpp", json={"hubs": [HUB], "signal": {"request_kw": [1.0] * 5}})
    assert r.status_code == 422 and "request_kw" in r.json()["detail"]


def test_hub_cli(tmp_path: Path) -> None:
    from tests.test_cli import run

    cfg = tmp_path / "hub.json"
    cfg.write_text(json.dumps(HUB))
    p = run(tmp_path, "hub", "simulate", str(cfg), "--days", "5")
    out = json.loads(p.stdout)  # stdout holds only the JSON (no solver banner)
    assert out["year"]["hub"] == "test-hub"
    cfg.write_text(json.dumps(dict(HUB, pv_kwp=-1)))
    p = run(tmp_path, "hub", "simulate", str(cfg), "--days", "5", ok=False)
    assert p.returncode == 2 and "pv_kwp" in p.stderr


def test_plan_from_repurposed_passports_and_operate(tmp_path: Path) -> None:
    from tests.test_cli import run

    from batteryloop.sim import pilot

    import sqlite3

    run(tmp_path, "demo", "--packs", "500", "--no-dataspace", "--no-serve")  # has live EU repurposed packs
    with sqlite3.connect(tmp_path / "cli.db") as c:  # the EU integrator's live repurposed packs in the pilot
        live = c.execute("SELECT count(*) FROM passports WHERE status = 'repurposed' AND economic_operator_id = ? "
                         "AND NOT archived AND successor_id IS NULL", (pilot.SECOND_LIFE_EU,)).fetchone()[0]
    assert live > 0
    hub = tmp_path / "hub.json"
    p = run(tmp_path, "hub", "plan", "--as", pilot.SECOND_LIFE_EU, "-o", str(hub))
    summary = json.loads(p.stdout)
    assert summary["packs"] == live and summary["hubs"] == 1
    cfg = json.loads(hub.read_text())
    # the Rotterdam operator's hub stands in Rotterdam: Dutch clock, euro tariff, Dutch sun, little swapping
    assert (cfg["site"], cfg["country"], cfg["latitude_deg"], cfg["utc_offset_hours"]) == ("Rotterdam", "NL", 51.92, 1.0)
    assert cfg["grid"]["tariff_set"] == "tou_tariffs_nl" and cfg["grid"]["currency"] == "EUR"
    assert cfg["swap"]["swaps_per_day"] == 15.0
    used = [pk["passport_id"] for st in cfg["strings"] for pk in st["packs"]]
    assert used and not set(used) & set(summary["excluded"])  # flagged packs never go in
    # someone without legitimate interest in those packs cannot plan with them
    p = run(tmp_path, "hub", "plan", "--as", pilot.CELL_KR, ok=False)
    assert p.returncode == 2
    dry = json.loads(run(tmp_path, "hub", "operate", str(hub), "--as", pilot.SECOND_LIFE_EU, "--days", "30", "--dry-run").stdout)
    assert {d["passport_id"] for d in dry} == set(used) and all(d["version"] is None for d in dry)
    done = json.loads(run(tmp_path, "hub", "operate", str(hub), "--as", pilot.SECOND_LIFE_EU, "--days", "30").stdout)
    assert all(d["version"] >= 2 for d in done)
    shown = json.loads(run(tmp_path, "passport", "show", used[0], "--as", pilot.SECOND_LIFE_EU).stdout)
    written = {d["passport_id"]: d for d in done}[used[0]]
    assert shown["battery"]["state_of_health"]["soh_capacity_pct"] == written["patch"]["state_of_health"]["soh_capacity_pct"]
    # the recycler may not write into the second-life operator's passports
    p = run(tmp_path, "hub", "operate", str(hub), "--as", pilot.RECYCLER_EU, "--days", "5", ok=False)
    assert p.returncode == 2


def test_hubs_page_follows_tiers(client: Any) -> None:
    from batteryloop.sim import pilot

    anon = client.get("/hubs")
    assert anon.status_code == 200 and "Sign in as a second-life operator" in anon.text
    client.cookies.set("batteryloop_token", client.tokens[pilot.SECOND_LIFE])
    none = client.get("/hubs")
    client.cookies.clear()
    assert "no repurposed passports" in none.text


def test_vpp_cli_default_signal(tmp_path: Path) -> None:
    from tests.test_cli import run

    cfg = tmp_path / "vpp.json"
    cfg.write_text(json.dumps({"hubs": [HUB, dict(HUB, name="hub-2")]}))
    out = json.loads(run(tmp_path, "hub", "vpp", str(cfg)).stdout)
    assert out["requested_kwh"] == 2 * 50 * 4  # 50 kW per hub for the four evening hours
    assert 0 < out["delivered_kwh"] <= out["requested_kwh"] + 1e-6
