"""State of health from real cycler exports, uploaded through HTTP into a passport."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from batteryloop.sim import pilot
from tests.lab import lab_passport


def H(client: Any, who: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {client.tokens[who]}"}


def test_upload_maccor_export_updates_passport(client: Any, data_dir: Path) -> None:
    pid = lab_passport(client, client.tokens[pilot.AUTOMAKER], 41)
    f = data_dir / "cyclers" / "PreDiag_000229_000229_truncated.034"
    files = {"files": (f.name, f.read_bytes(), "application/octet-stream")}
    # anonymous callers and other participants may not write health data
    assert client.post(f"/api/v1/passports/{pid}/state-of-health", files=files).status_code == 401
    r = client.post(f"/api/v1/passports/{pid}/state-of-health", params={"rated_capacity_ah": 5.0}, files=files,
                    headers=H(client, pilot.RECYCLER_EU))
    assert r.status_code == 403
    r = client.post(f"/api/v1/passports/{pid}/state-of-health", params={"rated_capacity_ah": 5.0}, files=files,
                    headers=H(client, pilot.AUTOMAKER))
    assert r.status_code == 200, r.text
    body = r.json()
    soh = body["state_of_health"]["soh_capacity_pct"]
    # remaining capacity / rated capacity, the Annex VII definition, from the file's own discharges
    assert abs(soh - 100 * body["state_of_health"]["remaining_capacity_ah"] / 5.0) < 1e-6
    assert 90 < soh < 100
    view = client.get(f"/api/v1/passports/{pid}", headers=H(client, pilot.RECYCLER_EU)).json()
    assert view["version"] == 2
    assert view["battery"]["state_of_health"]["soh_capacity_pct"] == round(soh, 4)
    assert view["battery"]["state_of_health"]["measured_at"].startswith("2019-12-17")
    hist = client.get(f"/api/v1/passports/{pid}/versions", headers=H(client, pilot.AUTOMAKER)).json()
    assert "PreDiag_000229_000229_truncated.034" in hist[-1]["reason"]


def test_bad_cycler_file_is_refused_and_nothing_changes(client: Any, data_dir: Path) -> None:
    pid = client.post("/api/v1/passports", json=next(pilot.generate_batteries(1, seed=42)),
                      headers=H(client, pilot.AUTOMAKER)).json()["passport_id"]
    good = (data_dir / "cyclers" / "test_Nova_Form-CH01-01_short.csv").read_bytes()
    for name, content in [("settings.mpl", (data_dir / "cyclers" / "test_loopsnewoutput_MB_CE1_short10k.mpl").read_bytes()),
                          ("cut.csv", good[: len(good) // 3]), ("empty.csv", b"")]:
        r = client.post(f"/api/v1/passports/{pid}/state-of-health", files={"files": (name, content, "text/csv")},
                        headers=H(client, pilot.AUTOMAKER))
        assert r.status_code == 422, (name, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
        assert r.json()["detail"]
    assert client.get(f"/api/v1/passports/{pid}").json()["version"] == 1


def test_ingest_history_then_soh_and_cycles(client: Any, data_dir: Path) -> None:
    pid = lab_passport(client, client.tokens[pilot.AUTOMAKER], 43)
    assert client.post(f"/api/v1/passports/{pid}/state-of-health", headers=H(client, pilot.AUTOMAKER)).status_code == 404
    f = data_dir / "cyclers" / "PreDiag_000229_000229_truncated.034"
    r = client.post(f"/api/v1/passports/{pid}/cycler-data", files={"file": (f.name, f.read_bytes())},
                    headers=H(client, pilot.RECYCLER_EU))
    assert r.status_code == 403
    r = client.post(f"/api/v1/passports/{pid}/cycler-data", files={"file": (f.name, f.read_bytes())},
                    headers=H(client, pilot.AUTOMAKER))
    assert r.status_code == 200, r.text
    assert r.json()["cycles"] >= 1
    # a recycler (legitimate interest) may compute it without writing; the public may not see cycles
    r = client.post(f"/api/v1/passports/{pid}/state-of-health", params={"rated_capacity_ah": 5.0, "write": False},
                    headers=H(client, pilot.RECYCLER_EU))
    assert r.status_code == 200 and "version" not in r.json()
    r = client.post(f"/api/v1/passports/{pid}/state-of-health", params={"rated_capacity_ah": 5.0},
                    headers=H(client, pilot.AUTOMAKER))
    assert r.status_code == 200 and r.json()["version"] == 2
    assert client.get(f"/api/v1/passports/{pid}/cycles").status_code == 401
    cyc = client.get(f"/api/v1/passports/{pid}/cycles", headers=H(client, pilot.RECYCLER_EU)).json()["cycles"]
    assert {"cycle", "charge_capacity_ah", "discharge_capacity_ah", "coulombic_efficiency"} <= set(cyc[0])
    g = client.post("/api/v1/health/grade", json={"battery_id": pid, "soh_capacity_pct": 83, "deep_discharge_events": 0})
    assert g.status_code == 200 and g.json()["grade"] in ("A", "B", "C")
    bad = client.post("/api/v1/health/grade", json={"battery_id": pid, "soh_capacity_pct": "high"})
    assert bad.status_code == 422 and "soh_capacity_pct" in bad.json()["detail"]


def test_passport_page_shows_capacity_curve_to_legitimate_interest(client: Any, data_dir: Path) -> None:
    pid = client.post("/api/v1/passports", json=next(pilot.generate_batteries(1, seed=44)),
                      headers=H(client, pilot.AUTOMAKER)).json()["passport_id"]
    f = data_dir / "cyclers" / "test_loopsnewoutput_MB_CE1_short10k.csv"
    assert client.post(f"/api/v1/passports/{pid}/cycler-data", files={"file": (f.name, f.read_bytes())},
                       headers=H(client, pilot.AUTOMAKER)).status_code == 200
    assert "capacity-fade" not in client.get(f"/p/{pid}").text
    client.cookies.set("batteryloop_token", client.tokens[pilot.REPAIRER])
    page = client.get(f"/p/{pid}").text
    client.cookies.clear()
    assert 'id="capacity-fade"' in page and "Capacity per cycle" in page
