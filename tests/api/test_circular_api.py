"""Circular decisions through HTTP, on the pilot's models and passports."""

from __future__ import annotations

from typing import Any

from batteryloop.sim import pilot


def H(client: Any, who: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {client.tokens[who]}"}


def test_model_footprint_computed_and_applied(client: Any) -> None:
    r = client.post("/api/v1/models/EM-LFP-60/carbon-footprint", json={"manufacturing_country": "CN"})
    assert r.status_code == 200, r.text
    fp = r.json()
    fields = fp["passport_fields"]
    stages = [fields[k] for k in ("raw_material_kgco2e_per_kwh", "main_production_kgco2e_per_kwh",
                                  "distribution_kgco2e_per_kwh", "end_of_life_kgco2e_per_kwh")]
    assert abs(sum(stages) - fields["total_kgco2e_per_kwh"]) < 0.001
    # functional unit of Annex II: 60 kWh x 60 cycles/yr (M1) x 8 warranty years
    assert fp["result"]["functional_unit"]["total_energy_kwh"] == 60 * 60 * 8
    assert fp["result"]["references"], "the result says which reference values it used"
    # a Chinese grid makes a larger footprint than a French one
    fr = client.post("/api/v1/models/EM-LFP-60/carbon-footprint", json={"manufacturing_country": "FR"}).json()
    assert fr["passport_fields"]["main_production_kgco2e_per_kwh"] < fields["main_production_kgco2e_per_kwh"]
    # applying needs the manufacturer; the passport then shows the computed total
    assert client.post("/api/v1/models/EM-LFP-60/carbon-footprint",
                       json={"manufacturing_country": "CN", "apply": True}).status_code == 401
    assert client.post("/api/v1/models/EM-LFP-60/carbon-footprint", json={"manufacturing_country": "CN", "apply": True},
                       headers=H(client, pilot.RECYCLER_EU)).status_code == 403
    r = client.post("/api/v1/models/EM-LFP-60/carbon-footprint", json={"manufacturing_country": "CN", "apply": True},
                    headers=H(client, pilot.AUTOMAKER))
    assert r.status_code == 200
    model = client.get("/api/v1/models/EM-LFP-60").json()
    assert model["data"]["carbon_footprint"]["total_kgco2e_per_kwh"] == fields["total_kgco2e_per_kwh"]
    assert model["version"] == 2
    # an override of a reference value changes the result, and the result records it
    over = client.post("/api/v1/models/EM-LFP-60/carbon-footprint", json={
        "manufacturing_country": "CN", "references": {"grid_factors": {"kgco2e_per_kwh": {"CN": 0.9}}}}).json()
    assert over["passport_fields"]["main_production_kgco2e_per_kwh"] > fields["main_production_kgco2e_per_kwh"]
    bad = client.post("/api/v1/models/EM-LFP-60/carbon-footprint", json={"manufacturing_country": "ZZ"})
    assert bad.status_code == 422 and "manufacturing_country" in bad.json()["detail"]


def test_pack_route_needs_legitimate_interest(client: Any) -> None:
    rec = next(pilot.generate_batteries(1, seed=31))
    rec["state_of_health"]["soh_capacity_pct"] = 76.0
    pid = client.post("/api/v1/passports", json=rec, headers=H(client, pilot.AUTOMAKER)).json()["passport_id"]
    assert client.post(f"/api/v1/passports/{pid}/route", json={}).status_code == 401
    assert client.post(f"/api/v1/passports/{pid}/route", json={}, headers=H(client, pilot.CELL_JP)).status_code == 403
    r = client.post(f"/api/v1/passports/{pid}/route", json={}, headers=H(client, pilot.RECYCLER_EU))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["decision"]["soh_fraction"] == 0.76
    assert body["grade"]["grade"] in ("A", "B", "C", "recycle")
    ranking = body["decision"]["ranking"]
    assert ranking and body["decision"]["recommended"] == ranking[0]["route"]


def test_recycle_and_route_endpoints(client: Any) -> None:
    r = client.post("/api/v1/circular/recycle", json={"chemistry": "NMC622", "mass_kg": 1000, "process": "hydro"})
    assert r.status_code == 200, r.text
    res = r.json()[0]
    assert res["process"] == "hydro"
    bad = client.post("/api/v1/circular/recycle", json={"chemistry": "NMC999", "mass_kg": 1000})
    assert bad.status_code == 422 and "chemistry" in bad.json()["detail"]
    d = client.post("/api/v1/circular/route", json={"chemistry": "LFP", "capacity_kwh": 60, "soh_fraction": 0.8})
    assert d.status_code == 200 and d.json()["ranking"]
    refs = client.get("/api/v1/circular/references").json()
    assert any("eu_2023_1542" in str(x) for x in refs)
