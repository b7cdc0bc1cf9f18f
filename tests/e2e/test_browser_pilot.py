"""The pilot dashboard in a real browser (headless Debian Chromium driven by Playwright, never a downloaded
browser): a small pilot is run in-process on a SQLite file, ``batteryloop serve`` serves that file, and every
/pilot page loads with no console error, no horizontal overflow at 1280 px (neither the page nor a card or table
scrolling sideways), and every Plotly chart drawn with data. The pilot runs with its data space, so that the
data-space page shows real connector nodes, the bridge and passport pulls. A screenshot of each page goes to $BATTERYLOOP_ARTIFACTS_DIR (default: a temporary directory)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.browser import ARGS, CHROMIUM, artifacts_dir, free_port, require_chromium, serve, server_env

PAGES = ["/pilot", "/pilot/health", "/pilot/materials", "/pilot/footprint", "/pilot/routes", "/pilot/baas",
         "/pilot/outflows", "/pilot/dataspace", "/pilot/economics"]
ADMIN_TOKEN = "pilot-e2e-admin-token"


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return artifacts_dir(tmp_path_factory)


@pytest.fixture(scope="module")
def pilot_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    require_chromium()
    from batteryloop.services import build_services
    from batteryloop.config import Settings
    from batteryloop.reference import References
    from batteryloop.sim.loop import PilotConfig, run_pilot

    tmp = tmp_path_factory.mktemp("browser-pilot")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    url = f"sqlite:///{tmp}/pilot.db"
    env = server_env(tmp, port, "pilot.db", BATTERYLOOP_ADMIN_TOKEN=ADMIN_TOKEN)
    # the pilot, in-process, through the services; a raised outflow rate (a reference override) so that
    # the outflow pages have findings to draw
    svc = build_services(Settings(database_url=url, public_base_url=base, var_dir=tmp, admin_token=ADMIN_TOKEN,
                                  rate_limit_per_minute=0))
    refs = References.default().override({"batteryloop_assumptions": {"pilot": {"illegal_outflow_fraction": 0.5}}})
    report = run_pilot(svc, PilotConfig(packs=120, years=8, seed=2, dataspace=True), references=refs)
    svc.store.dispose()
    with serve(env, port) as served:
        yield {"base": served, "report": report}


def _watch(page: Any) -> list[str]:
    errors: list[str] = []
    page.on("console", lambda m: errors.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(f"pageerror: {e}"))
    page.on("requestfailed", lambda r: errors.append(f"request failed: {r.url}"))
    page.on("response", lambda r: errors.append(f"HTTP {r.status}: {r.url}") if r.status >= 400 else None)
    return errors


INNER_OVERFLOW = """() => [...document.querySelectorAll('.card, .scroll, table, .chart')]
  .filter(e => e.scrollWidth > e.clientWidth + 1)
  .map(e => `${e.id || e.className || e.tagName}: ${e.scrollWidth} > ${e.clientWidth}`)"""

# per chart: how many drawn marks it has (bars, points, line paths, Sankey nodes and links, boxes)
MARKS = """el => el.querySelectorAll(
  'svg .point, svg path.js-line, svg .sankey-node, svg .sankey-link, svg .boxes path, svg path.js-fill').length"""


def _check_charts(page: Any, path: str) -> dict[str, int]:
    ids = page.eval_on_selector_all(".chart", "els => els.map(e => e.id)")
    drawn = {}
    for fid in ids:
        chart = page.locator(f"#{fid}")
        chart.locator("svg.main-svg").first.wait_for(state="attached", timeout=15_000)
        assert chart.evaluate("el => el.classList.contains('js-plotly-plot')"), f"{path}: {fid} not drawn by plotly"
        assert chart.evaluate("el => (el.data || []).length") > 0, f"{path}: {fid} has no traces"
        drawn[fid] = chart.evaluate(MARKS)
        assert drawn[fid] > 0, f"{path}: {fid} drew no marks"
    return drawn


@pytest.mark.slow
def test_every_pilot_page_renders_its_charts(pilot_server: dict[str, Any], artifacts: Path) -> None:
    from playwright.sync_api import sync_playwright

    base = pilot_server["base"]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        # the authority's view: every chart (a stranger's /pilot/dataspace has no contract to draw)
        page = browser.new_page(viewport={"width": 1280, "height": 900},
                                extra_http_headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
        errors = _watch(page)
        charted = {}
        for path in PAGES:
            page.goto(base + path)
            page.wait_for_load_state("networkidle")
            assert page.locator("h1").first.inner_text().startswith("Pilot dashboard"), path
            charted[path] = _check_charts(page, path)
            # a desktop page: nothing sticks out sideways at 1280 px, and no card or table hides columns in a
            # sideways scroll
            assert page.evaluate("document.documentElement.scrollWidth") <= 1280 + 1, path
            assert page.evaluate(INNER_OVERFLOW) == [], path
            # the reference values behind the figures are listed on every page
            assert page.locator("#references").count() == 1, path
            name = "pilot" if path == "/pilot" else path.strip("/").replace("/", "-")
            page.screenshot(path=str(artifacts / f"{name}.png"), full_page=True)
            assert not errors, f"{path}: {errors}"
        browser.close()
    # the pages that must draw charts on this run did
    for path in PAGES:
        assert charted[path], f"{path} drew no chart"
    assert "materials-sankey" in charted["/pilot/materials"]
    assert {"dataspace-flows", "dataspace-pairs"} <= set(charted["/pilot/dataspace"])


@pytest.mark.slow
def test_dataspace_page_in_the_browser(pilot_server: dict[str, Any], artifacts: Path) -> None:
    """The tailored data-space page: a card per space, the full DID one click away, the bridge's steps, and a
    pulled passport's link opening its public page."""
    from playwright.sync_api import sync_playwright

    base = pilot_server["base"]
    ds = pilot_server["report"]["dataspace"]
    assert ds and ds["passport_pulls"], "the run pulls passports over DSP"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        # a stranger sees the nodes and counts, not who exchanged what with whom
        anonymous = browser.new_page(viewport={"width": 1280, "height": 900})
        anonymous.goto(base + "/pilot/dataspace")
        assert anonymous.locator("#pulls-withheld").is_visible() and anonymous.locator("#pulls-table").count() == 0
        assert anonymous.locator("#bridge-withheld").is_visible() and anonymous.locator("#dataspace-flows").count() == 0
        anonymous.close()
        page = browser.new_page(viewport={"width": 1280, "height": 900},
                                extra_http_headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
        errors = _watch(page)
        page.goto(base + "/pilot/dataspace")
        page.wait_for_load_state("networkidle")
        assert page.locator("#space-catena-x .ds-node").count() == sum(n["space"] == "catena-x" for n in ds["nodes"])
        assert page.locator("#space-ouranos .ds-node").count() == sum(n["space"] == "ouranos" for n in ds["nodes"])
        node = page.locator("#node-automaker")
        did = next(n["did"] for n in ds["nodes"] if n["name"] == "automaker")
        full = node.locator("details .full").first
        assert not full.is_visible()
        node.locator("details summary").click()
        assert full.is_visible() and full.inner_text() == did
        assert page.locator("#bridge-steps li").count() == 5
        assert page.locator("#agreement-list li").count() == len(ds["agreements"])
        # a DSP transfer chart drawn with links between named nodes
        labels = page.locator("#dataspace-flows").evaluate("el => el.data[0].node.label")
        assert labels and not any(lb.startswith("did:") for lb in labels)
        page.screenshot(path=str(artifacts / "pilot-dataspace-open.png"), full_page=True)
        pull = ds["passport_pulls"][0]
        page.locator(f'#pulls-table a[href="/p/{pull["passport_id"]}"]').click()
        page.wait_for_load_state("networkidle")
        assert page.url == f"{base}/p/{pull['passport_id']}"
        assert not errors, errors
        browser.close()


@pytest.mark.slow
def test_keyboard_reaches_the_sections_and_overseer_sees_findings(pilot_server: dict[str, Any],
                                                                  artifacts: Path) -> None:
    from playwright.sync_api import sync_playwright

    base = pilot_server["base"]
    findings = pilot_server["report"]["outflows"]["findings"]
    assert findings
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        errors = _watch(page)
        page.goto(base + "/pilot")
        # tab through the page until the section navigation's "Economics" link has the focus, then open it
        for _ in range(40):
            page.keyboard.press("Tab")
            if page.evaluate("document.activeElement && document.activeElement.textContent.trim()") == "Economics":
                break
        else:
            pytest.fail("the Economics section link is not reachable by keyboard")
        page.keyboard.press("Enter")
        page.wait_for_url(base + "/pilot/economics")
        assert page.locator('.pilot-nav a[aria-current="page"]').inner_text() == "Economics"
        # the public outflow page keeps the findings back; the node admin sees them, each pack linked to its trace
        page.goto(base + "/pilot/outflows")
        assert page.locator("#findings-restricted").count() == 1 and page.locator("#findings-table").count() == 0
        admin = browser.new_context(viewport={"width": 1280, "height": 900},
                                    extra_http_headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
        apage = admin.new_page()
        aerrors = _watch(apage)
        apage.goto(base + "/pilot/outflows")
        apage.wait_for_load_state("networkidle")
        link = apage.locator("#findings-table a").first
        assert link.get_attribute("href") == f"/trace/{findings[0]['pack']}"
        assert apage.evaluate("document.documentElement.scrollWidth") <= 1280 + 1
        apage.screenshot(path=str(artifacts / "pilot-outflows-admin.png"), full_page=True)
        assert not errors and not aerrors, errors + aerrors
        browser.close()
