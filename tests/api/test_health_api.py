"""State of health from real cycler exports, uploaded through HTTP into a passport."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from batteryloop.sim import pilot


def H(client: Any, who: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {client.tokens[who]}"}


def test_upload_maccor_export_updates_passport(client: Any, data_dir: Path) -> None:
    pid = client.post("/api/v1/passports", json=next(pilot.generate_batteries(1, seed=41)),
                      headers=H(client, pilot.AUTOMAKER)).json()["passport_id"]
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
    hist = client.get(f"/api/v1/passports/{pid}/versions").json()
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
