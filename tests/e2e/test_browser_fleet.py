"""The fleet page in a real browser (Debian's Chromium driven by Playwright; never a downloaded browser): an
operator signs in, the two SoH charts are drawn, the segment choice cuts the flagged packs, the flagged table's
CSV link downloads the rows shown, and a pack clicked in the SoH-against-age chart opens its telemetry summary —
without a console error. One small stored analysis (16 vehicles, 3 days at 5-minute samples, half of them faulty)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.browser import ARGS, CHROMIUM, artifacts_dir, csv_download_is_the_table, drawn, free_port
from tests.e2e.browser import require_chromium, serve, server_env, sign_in, watch


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    require_chromium()
    from batteryloop.access import Caller
    from batteryloop.config import Settings
    from batteryloop.fleet.analysis import analyze_with_summary
    from batteryloop.fleet.results import FleetResults
    from batteryloop.fleet.simulate import simulate
    from batteryloop.participants import Role
    from batteryloop.services import build_services
    from batteryloop.sim import pilot

    tmp = tmp_path_factory.mktemp("browser-fleet")
    port = free_port()
    svc = build_services(Settings(database_url=f"sqlite:///{tmp}/f.db", public_base_url=f"http://127.0.0.1:{port}",
                                  var_dir=tmp, rate_limit_per_minute=0))
    p = next(p for p in pilot.PARTICIPANTS if p["id"] == pilot.AUTOMAKER)
    svc.participants.create(p)
    token = svc.participants.issue_token(pilot.AUTOMAKER, "browser")
    simulate(tmp / "fleet-data", vehicles=16, days=3, seed=7, interval_s=300.0, fault_share=0.5, buckets=2)
    table, summary = analyze_with_summary(tmp / "fleet-data")
    FleetResults(tmp / "fleet").save(table, summary, Caller(p["id"], frozenset(Role(r) for r in p["roles"])))
    svc.store.dispose()
    with serve(server_env(tmp, port, "f.db"), port) as served:
        yield {"base": served, "token": token, "table": table}


@pytest.mark.slow
def test_fleet_page_charts_segment_download_and_drilldown(server: dict[str, Any], tmp_path: Path,
                                                          tmp_path_factory: pytest.TempPathFactory) -> None:
    from playwright.sync_api import sync_playwright

    base, table = server["base"], server["table"]
    shots = artifacts_dir(tmp_path_factory)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        ctx = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
        page = ctx.new_page()
        errors = watch(page)
        sign_in(page, base, server["token"], "/fleet")
        for fid in ("fleet-soh-segment", "fleet-soh-age"):
            drawn(page, fid)
        flagged = [r for r in table.iter_rows(named=True) if r["faults"]]
        assert page.locator("#fleet-flagged tbody tr").count() == sum(len(r["faults"].split(";")) for r in flagged)
        page.screenshot(path=str(shots / "fleet.png"), full_page=True)
        # the flagged table's CSV link downloads the rows the page shows
        csv_download_is_the_table(page, "fleet-flagged", tmp_path / "flagged.csv")
        # choosing a segment cuts the flagged packs to it
        seg = flagged[0]["segment"]
        page.select_option("#fleet-form select[name=segment]", seg)
        page.click("#fleet-form button[type=submit]")
        page.wait_for_load_state("networkidle")
        segs = page.eval_on_selector_all("#fleet-flagged tbody tr", "rs => rs.map(r => r.cells[1].innerText)")
        assert segs and set(segs) == {seg.replace("_", " ")}
        # a pack clicked in the SoH-against-age chart opens its telemetry summary
        drawn(page, "fleet-soh-age")
        box = page.locator("#fleet-soh-age .scatterlayer .point").first.bounding_box()
        page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        page.wait_for_url(f"{base}/fleet/pack**")
        assert page.locator("#fleet-pack-summary tbody tr").count() >= 2
        page.screenshot(path=str(shots / "fleet-pack.png"), full_page=True)
        browser.close()
    assert not errors, errors
