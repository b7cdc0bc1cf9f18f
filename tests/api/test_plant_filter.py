"""The dashboard's plant filter (issue 18): a plant is named by its site or its country; the passports list, the
recycled content per model, plant and year (/pilot/materials) and the route decisions by plant (/pilot/routes)
apply it, and the filter bar says so."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest

from batteryloop.sim import lanzhou
from batteryloop.web.filters import filter_report
from tests.conftest import make_services

ZWICKAU = "EuroMotors Pack Plant Zwickau"


def test_filter_report_matches_a_plant_by_site_or_country() -> None:
    rep = {"rows": [{"year": 2024, "plant": ZWICKAU, "plant_country": "DE"},
                    {"year": 2024, "plant": "EuroMotors Ulsan Assembly", "plant_country": "KR"},
                    {"year": 2024, "model_id": "M"}]}  # no plant: not cut by it
    by_site, applied = filter_report(rep, {"plant": ZWICKAU})
    assert [r.get("plant") for r in by_site["rows"]] == [ZWICKAU, None] and applied == {"rows": {"plant"}}
    by_country, _ = filter_report(rep, {"plant": "KR"})
    assert [r.get("plant_country") for r in by_country["rows"]] == ["KR", None]
    none, _ = filter_report(rep, {"plant": "Nowhere"})
    assert [r.get("plant") for r in none["rows"]] == [None]


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from fastapi.testclient import TestClient

    from batteryloop.server import create_app
    from batteryloop.sim.loop import PilotConfig, run_pilot
    from batteryloop.store.db import Store

    tmp = tmp_path_factory.mktemp("plant")
    store = Store(f"sqlite:///{tmp}/pilot.db")
    store.upgrade()
    s = make_services(store)
    rep = run_pilot(s, PilotConfig(packs=40, years=5, seed=3, dataspace=False, lanzhou=False))
    with TestClient(create_app(services=s)) as c:
        c.report = rep  # type: ignore[attr-defined]
        c.services = s  # type: ignore[attr-defined]
        yield c
    store.dispose()


def test_passports_list_by_plant_site_and_country(client: Any) -> None:
    s = client.services
    all_ = s.passports.search(_admin(), limit=500)["items"]
    want_site = {i["passport_id"] for i in all_ if i["battery"].get("manufacture_site") == ZWICKAU}
    want_kr = {i["passport_id"] for i in all_ if i["battery"].get("manufacture_country") == "KR"}
    assert want_site and want_kr
    page = s.passports.search(_admin(), manufacture_site=ZWICKAU, limit=500)["items"]
    assert {i["passport_id"] for i in page} == want_site
    r = client.get(f"/?plant={quote(ZWICKAU)}")
    assert r.status_code == 200
    shown = set(re.findall(r'href="/p/([A-Z0-9.\-]+)"', r.text))
    assert shown and shown <= want_site
    r = client.get("/?plant=KR")
    shown = set(re.findall(r'href="/p/([A-Z0-9.\-]+)"', r.text))
    assert shown and shown <= want_kr
    # a site with a quote or LIKE wildcards matches nothing rather than everything
    assert s.passports.search(_admin(), manufacture_site='Zwi%"', limit=5)["items"] == []
    assert s.passports.search(_admin(), manufacture_site="EuroMotors Pack Plant Zwicka_", limit=5)["items"] == []


def test_recycled_content_and_routes_by_plant(client: Any) -> None:
    rep = client.report
    rows = rep["recycled_content_by_plant"]
    assert {r["plant"] for r in rows} >= {ZWICKAU}
    # every pack of the run is in one (model, plant, year) group; the Lanzhou fleets' packs (sim/lanzhou.py) in
    # their maker's plant's
    lz = [r for r in rows if r["plant"] == lanzhou.MAKER_SITE[1]]
    assert sum(r["packs"] for r in rows) - sum(r["packs"] for r in lz) == rep["config"]["packs"]
    assert all(r["plant_country"] == "CN" for r in lz)
    if rep.get("lanzhou"):
        assert sum(r["packs"] for r in lz) == sum(g["passports"] for g in rep["lanzhou"]["segments"].values())
    html = client.get("/pilot/materials?plant=HU").text
    table = html[html.index('id="rc-plant-table"'):html.index("</table>", html.index('id="rc-plant-table"'))]
    assert "Debrecen" in table and "Zwickau" not in table and "Ulsan" not in table
    by_plant = rep["decision_groups_by_plant"]
    assert sum(g["packs"] for g in by_plant) == rep["summary"]["route_decisions"]
    html = client.get(f"/pilot/routes?plant={quote(ZWICKAU)}").text
    if any(g["plant"] == ZWICKAU for g in by_plant):
        table = html[html.index('id="decisions-by-plant"'):html.index("</table>", html.index('id="decisions-by-plant"'))]
        assert "Zwickau" in table and "Debrecen" not in table and "Ulsan" not in table
    assert 'data-applied="plant"' in html and 'data-not-applied="plant"' not in html
    assert 'data-applied="plant"' in client.get("/pilot/materials?plant=HU").text
    assert 'data-applied="plant"' in client.get("/?plant=KR").text


def _admin() -> Any:
    from batteryloop.access import Caller

    return Caller(None, frozenset(), True)
