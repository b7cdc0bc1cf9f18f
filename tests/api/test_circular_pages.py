"""The circular pages, by content: what an anonymous reader, a participant without legitimate interest and a
recycler (legitimate interest) each see; the charts are plotly figures built server-side."""

from __future__ import annotations

import json
import re
from typing import Any

from batteryloop.sim import pilot


def H(client: Any, who: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {client.tokens[who]}"}


def _figure(html: str, fig_id: str) -> list[dict[str, Any]]:
    """The data of the Plotly.newPlot call for ``fig_id`` (the figure the page draws)."""
    m = re.search(r'Plotly\.newPlot\("' + re.escape(fig_id) + r'", (\[.*?\]),\s*\n', html, re.S)
    assert m, f"no figure {fig_id}"
    return json.loads(m.group(1))


def _process_row(html: str, process: str) -> str:
    """The Annex XII row of ``process`` on the compliance page."""
    m = re.search(r'<tr class="process" id="process-' + process + r'">(.*?)</tr>', html, re.S)
    assert m, f"no Annex XII row for {process}"
    return m.group(1)


def _retired_packs(client: Any) -> dict[str, float]:
    """Three packs: two retired (SoH 72 % original, one declared waste at 65 %), one healthy (SoH 95 %)."""
    out = {}
    for i, soh in enumerate((72.0, 95.0, 65.0)):
        rec = next(pilot.generate_batteries(1, seed=200 + i))
        rec["state_of_health"]["soh_capacity_pct"] = soh
        r = client.post("/api/v1/passports", json=rec, headers=H(client, pilot.AUTOMAKER))
        assert r.status_code in (200, 201), r.text
        out[r.json()["passport_id"]] = soh
    waste = [p for p, s in out.items() if s == 65.0][0]
    r = client.post(f"/api/v1/passports/{waste}/status", json={"event": "waste"}, headers=H(client, pilot.AUTOMAKER))
    assert r.status_code == 200, r.text
    return out


def test_index_and_nav(client: Any) -> None:
    r = client.get("/circular")
    assert r.status_code == 200
    for href in ("/circular/routes", "/circular/economics", "/circular/compliance"):
        assert f'href="{href}"' in r.text
    assert '<a href="/circular">Circular</a>' in client.get("/").text


def test_routes_page_is_cut_to_legitimate_interest(client: Any) -> None:
    packs = _retired_packs(client)
    retired = [p for p, s in packs.items() if s < 80]
    healthy = [p for p, s in packs.items() if s >= 80][0]
    anon = client.get("/circular/routes")
    assert anon.status_code == 200 and "legitimate interest" in anon.text
    assert not any(p in anon.text for p in packs) and "Plotly.newPlot" not in anon.text
    # a cell maker holds no legitimate interest in these packs: nothing read, nothing counted
    cell = client.get("/circular/routes", headers=H(client, pilot.CELL_JP))
    assert cell.status_code == 200 and "No retired packs" in cell.text
    assert not any(p in cell.text for p in packs)
    # a recycler sees the retired packs ranked, the NPV bars and the flip points — not the healthy pack
    rec = client.get("/circular/routes", headers=H(client, pilot.RECYCLER_EU))
    assert rec.status_code == 200
    for p in retired:
        assert p in rec.text
    assert healthy not in rec.text
    assert rec.text.count('class="route-row"') == len(retired)
    bars = _figure(rec.text, "route-npv")
    assert {t["type"] for t in bars} == {"bar"} and len(bars[0]["x"]) == len(retired)
    # the bar heights are the API's NPVs for the same pack
    api = client.post(f"/api/v1/passports/{retired[0]}/route", json={}, headers=H(client, pilot.RECYCLER_EU)).json()
    best = api["decision"]["ranking"][0]
    trace = next(t for t in bars if t["name"] == best["route"])
    assert abs(trace["y"][sorted(retired).index(retired[0])] - best["npv_usd"]) < 1e-6
    assert "Flip points" in rec.text


def test_economics_page(client: Any) -> None:
    r = client.get("/circular/economics")
    assert r.status_code == 200
    rec = _figure(r.text, "recycling-value")
    assert [t["name"] for t in rec] == ["pyro", "hydro", "direct"]
    assert "NMC622" in rec[0]["x"] and "LFP" in rec[0]["x"]
    hydro = rec[1]
    # NMC811 is worth more to recycle than LFP by hydrometallurgy (Ni and Co)
    assert hydro["y"][hydro["x"].index("NMC811")] > hydro["y"][hydro["x"].index("LFP")]
    fee = _figure(r.text, "baas-nio")
    assert fee[0]["name"] == "NIO published fee" and 728 in fee[0]["y"] and 980 in fee[0]["y"]
    # our price on the page is the API's for the same terms (NIO's 70,000 RMB pack, 60 months, its buyout value)
    api = client.post("/api/v1/circular/baas/price", json={"pack_cost": 70000, "term_months": 60,
                                                           "residual_value": 70000 - 460 * 48,
                                                           "annual_discount_rate_fraction": 0.08,
                                                           "margin_fraction": 0.1}).json()
    assert abs(fee[1]["y"][0] - api["quote"]["monthly_price"]) < 1e-6
    cheaper = client.get("/circular/economics", params={"rate": 0.0, "margin": 0.0})
    assert _figure(cheaper.text, "baas-nio")[1]["y"][0] < fee[1]["y"][0]
    bad = client.get("/circular/economics", params={"rate": 2})
    assert bad.status_code == 422 and "annual_discount_rate_fraction" in bad.text


def test_compliance_page(client: Any) -> None:
    from batteryloop.sim.supply_chain import record_pilot

    form = client.get("/circular/compliance")
    assert form.status_code == 200 and "EM-LFP-60" in form.text and "Checks" not in form.text
    none = client.get("/circular/compliance", params={"model": "EM-LFP-60", "year": 2026})
    assert none.status_code == 200 and "no traced lots" in none.text
    assert "Art. 8 recycled content" not in none.text
    # Annex XII efficiency 65 % from end 2025, the whole pack the passport declares (428.3 kg: cells 60 × 4.24 =
    # 254.4 kg from BatPaC, hardware the rest, 173.9 kg; docs/circular.md): LFP hydro (60 × 0.90 × 1.708 + 0.765 ×
    # 173.9) / 428.3 = (92.232 + 133.0335) / 428.3 = 0.525953 and pyro (60 × 0.90 × 0.408 + 0.225 × 173.9) / 428.3
    # = 61.1595 / 428.3 = 0.142796 fail (Fe, the cathode's phosphate, the Al casing in the smelter lost), direct
    # (60 × 0.90 × 3.5444079 + 133.0335) / 428.3 = 0.757486 passes
    assert ">fail<" in none.text and "FAIL" in none.text
    lfp = {p: _process_row(none.text, p) for p in ("pyro", "hydro", "direct")}
    assert "52.6%" in lfp["hydro"] and "FAIL" in lfp["hydro"] and "cell Fe " in lfp["hydro"]
    assert "14.3%" in lfp["pyro"] and "FAIL" in lfp["pyro"] and "lost to slag" in lfp["pyro"]
    assert "75.7%" in lfp["direct"] and "PASS" in lfp["direct"]
    early = client.get("/circular/compliance", params={"model": "EM-LFP-60", "year": 2024})  # no target yet
    assert 'id="verdict">no target in force<' in early.text and "Annex XII met by" not in early.text
    assert "no target yet" in _process_row(early.text, "hydro")
    assert record_pilot(client.services.store, packs=[(f"BL.PG.{i:03d}", "EM-NCA-75") for i in range(6)]).ok
    anonymous = client.get("/circular/compliance", params={"model": "EM-NCA-75", "year": 2026})
    assert anonymous.status_code == 200 and "traced packs of EM-NCA-75" in anonymous.text
    assert "6 traced packs" not in anonymous.text and "per 100 kg" in anonymous.text  # no volume to a stranger
    r = client.get("/circular/compliance", params={"model": "EM-NCA-75", "year": 2026},
                   headers={"Authorization": f"Bearer {client.tokens[pilot.AUTOMAKER]}"})
    assert r.status_code == 200 and "6 traced packs" in r.text
    assert "Art. 8 recycled content Co" in r.text and "no target yet" in r.text
    # NCA by hand (REFERENCE.md, per kWh of cells): hydro 0.90 × (0.100 + 0.87 + 0.238 + 0.157) + 0.98 ×
    # (0.662 + 0.125) = 1.2285 + 0.77126 = 1.99976; pyro 0.98 × 0.787 + 0.90 × 0.238 = 0.98546. The passport
    # declares 449.1 kg: cells 75 × 3.08 = 231 kg, hardware 218.1 kg. hydro (75 × 1.99976 + 0.765 × 218.1) / 449.1
    # = (149.982 + 166.8465) / 449.1 = 0.705474: PASS; pyro (75 × 0.98546 + 0.225 × 218.1) / 449.1 = 122.982 /
    # 449.1 = 0.273841: FAIL, the Al casing to slag
    nca = {p: _process_row(r.text, p) for p in ("pyro", "hydro", "direct")}
    assert "70.5%" in nca["hydro"] and "PASS" in nca["hydro"]
    assert "27.4%" in nca["pyro"] and "FAIL" in nca["pyro"] and "pack hardware Al" in nca["pyro"]
    assert re.search(r'id="verdict">PASS<', r.text)  # the model can be recycled in compliance (hydro, direct)
    assert "Annex XII met by direct, hydro" in r.text
    fig = _figure(r.text, "compliance-checks")
    assert fig[0]["type"] == "bar" and any("Art. 8 recycled content Co" in x for x in fig[0]["x"])
    assert "mass_balance" in r.text and "eu_2023_1542" in r.text  # allocation rule and references shown
    phys = client.get("/circular/compliance", params={"model": "EM-NCA-75", "year": 2026,
                                                      "rule": "physical_segregation"})
    assert "physical segregation" in phys.text
    assert client.get("/circular/compliance", params={"model": "NOPE", "year": 2026}).status_code == 404


def test_compliance_page_defaults_to_the_latest_year_the_model_was_made(client: Any) -> None:
    """A year without packs has no recycled content to check: without a year the page takes the latest year in
    which the model's packs were made (2021 and 2022 here; another model's 2024 pack does not count), not the
    calendar year."""
    for i, (model, made) in enumerate((("EM-LFP-60", "2021-03-01"), ("EM-LFP-60", "2022-06-30"),
                                       ("EM-NCA-75", "2024-01-10"))):
        rec = dict(next(pilot.generate_batteries(1, seed=300 + i)), model_id=model, manufacture_date=made,
                   serial_number=f"CY-{i:04d}")
        rec.pop("putting_into_service_date", None)
        r = client.post("/api/v1/passports", json=rec, headers=H(client, pilot.AUTOMAKER))
        assert r.status_code in (200, 201), r.text
    page = client.get("/circular/compliance", params={"model": "EM-LFP-60"})
    assert page.status_code == 200
    assert re.search(r'name="year"[^>]*value="(\d{4})"', page.text).group(1) == "2022"
    page = client.get("/circular/compliance")  # no model chosen: the latest year of any pack
    assert re.search(r'name="year"[^>]*value="(\d{4})"', page.text).group(1) == "2024"
