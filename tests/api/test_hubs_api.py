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
    assert v["requested_kwh"] == 180.0 and 0 <= v["delivered_kwh"] <= v["offered_kwh"] + 1e-6
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
