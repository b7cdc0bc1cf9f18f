"""The operators' daily tools in a real browser (Debian's Chromium driven by Playwright; never a downloaded
browser): a filter set in the filter bar of one page is applied on the next, a table's "CSV" link downloads the
rows the page shows, a pack drawn in a chart opens its page when clicked, and the new pages — the hubs' virtual
power plant, the parks' zero-carbon ledger, the alerts — draw their charts and tables without a console error.

One small store: a 40-pack, 3-year pilot; twelve repurposed packs of the EU second-life integrator (three
models, so three hubs of one string each); an alert rule evaluated; the run's report with hub park figures."""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.browser import ARGS, CHROMIUM, artifacts_dir, csv_download_is_the_table, drawn, free_port
from tests.e2e.browser import require_chromium, serve, server_env, sign_in, watch

ADMIN_TOKEN = "dashops-e2e-admin-token"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    require_chromium()
    from batteryloop.access import Caller
    from batteryloop.config import Settings
    from batteryloop.participants import Role
    from batteryloop.services import build_services
    from batteryloop.sim import pilot
    from batteryloop.sim.loop import PilotConfig, run_pilot
    from batteryloop.sim.report import latest_report, save_report

    tmp = tmp_path_factory.mktemp("browser-dashops")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    svc = build_services(Settings(database_url=f"sqlite:///{tmp}/d.db", public_base_url=base, var_dir=tmp,
                                  admin_token=ADMIN_TOKEN, rate_limit_per_minute=0))
    cfg = PilotConfig(packs=40, years=3, seed=3, dataspace=False)
    run_pilot(svc, cfg)
    p = svc.participants.get(pilot.SECOND_LIFE_EU)
    sl = Caller(p["id"], frozenset(Role(r) for r in p["roles"]))
    for i, r in enumerate(pilot.generate_batteries(12, seed=77, today=dt.date(2026, 3, 1))):
        r = copy.deepcopy(r)
        r.update(economic_operator_id=pilot.SECOND_LIFE_EU, status="repurposed")
        r["state_of_health"].update(soh_capacity_pct=80.0 + 0.1 * i, self_discharge_pct_per_month=1.0,
                                    ohmic_resistance_increase_pct=5.0)
        r["usage"].update(deep_discharge_events=0, max_operating_temperature_c=40.0)
        svc.passports.create_passport(r, sl)
    admin = Caller(is_admin=True)
    svc.alerts.create_rule(admin, {"name": "weak packs", "kind": "soh_below", "params": {"threshold_pct": 99},
                                   "channel": "email", "target": "ops@example.org"})
    svc.alerts.evaluate(admin)
    rep = copy.deepcopy(latest_report(svc.store))
    for k, row in enumerate(rep["second_life_by_year"]):
        row["EU"]["park"] = {"country": "NL", "consumption_kwh": 1000.0 + 100 * k, "pv_kwh": 600.0,
                             "import_kwh": 500.0, "export_kwh": 20.0, "import_without_storage_kwh": 560.0,
                             "storage_discharge_kwh": 80.0}
    save_report(svc.store, cfg, rep)
    models = sorted(m["model_id"] for m in rep["models"])
    svc.store.dispose()
    with serve(server_env(tmp, port, "d.db", BATTERYLOOP_ADMIN_TOKEN=ADMIN_TOKEN), port) as served:
        yield {"base": served, "models": models}


@pytest.mark.slow
def test_filters_downloads_drilldown_and_the_new_pages(server: dict[str, Any], tmp_path: Path,
                                                        tmp_path_factory: pytest.TempPathFactory) -> None:
    from playwright.sync_api import sync_playwright

    base, model = server["base"], server["models"][0]
    shots = artifacts_dir(tmp_path_factory)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        ctx = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
        page = ctx.new_page()
        errors = watch(page)
        # signed in as the node admin the way a reader signs in (the cookie goes with downloads too)
        sign_in(page, base, ADMIN_TOKEN, "/pilot/health")
        # 1. set the model in the filter bar of the fleet-health page …
        page.fill("#filterbar input[name=model]", model)
        page.click("#filterbar button[type=submit]")
        page.wait_for_load_state("networkidle")
        assert page.locator('#filter-note [data-applied="model"]').count() == 1
        # … and it is applied on the next page, reached through the navigation (no query in its URL)
        page.click("header.top a[href='/']")
        page.wait_for_load_state("networkidle")
        assert "?" not in page.url
        assert page.locator('#filter-note [data-applied="model"]').inner_text() == f"model = {model}"
        models = page.eval_on_selector_all("table.grid >> nth=1", "ts => [...ts[0].tBodies[0].rows].map(r => r.cells[1].innerText)")
        assert models and set(models) == {model}
        # 2. a pack drawn in the chart opens its page when clicked
        drawn(page, "pack-points")
        box = page.locator("#pack-points .scatterlayer .point").first.bounding_box()
        page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        page.wait_for_url(f"{base}/p/**")
        assert page.locator("#trace-link").count() == 1 and page.locator("#alerts-link").count() == 1
        # 3. the VPP page cannot apply a model filter and says so; its charts and tables are drawn
        page.goto(base + "/vpp")
        page.wait_for_load_state("networkidle")
        assert page.locator('#filter-note [data-not-applied="model"]').count() == 1
        for fid in ("vpp-offer", "vpp-net"):
            drawn(page, fid)
        assert page.locator("#vpp-hubs tbody tr").count() == 3 and page.locator("#vpp-hours tbody tr").count() == 24
        page.screenshot(path=str(shots / "vpp.png"), full_page=True)
        # 4. the hours table's CSV link downloads the rows the page shows
        assert csv_download_is_the_table(page, "vpp-hours", tmp_path / "hours.csv").suggested_filename == \
            "vpp-vpp-hours.csv"
        # 5. the zero-carbon ledger and the alerts
        page.goto(base + "/zero-carbon")
        page.wait_for_load_state("networkidle")
        drawn(page, "ledger-EU")
        assert page.locator("#zero-carbon-EU tbody tr").count() >= 1
        page.screenshot(path=str(shots / "zero-carbon.png"), full_page=True)
        page.goto(base + "/alerts?region=&model=&plant=&year=")
        page.wait_for_load_state("networkidle")
        assert page.locator("#alerts-table tbody tr").count() >= 1
        assert page.locator("a[data-table='alerts-table'][data-format='xlsx']").count() == 1
        assert page.evaluate("document.documentElement.scrollWidth") <= 1280 + 1
        assert not errors, errors
        browser.close()
