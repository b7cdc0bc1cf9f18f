"""A real browser (headless Chromium driven by Playwright) on the demo: the public page a QR code
opens on a phone, signing in, the dashboard's charts, and the Content-Security-Policy on every main page (one
demo for all: the CSP test had a demo of its own, 300 packs, before it moved here)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator

import pytest

from batteryloop.sim import pilot
from tests.e2e.browser import ARGS, CHROMIUM, free_port, require_chromium, serve, server_env

# page → a chart it draws (None: a page without charts)
PAGES = {"/": "#soh-hist", "/pilot": None, "/pilot/health": None, "/pilot/materials": None, "/pilot/routes": None,
         "/hubs": None, "/circular": None, "/circular/routes": None, "/trace": None, "/login": None}
# records the violations the page meets, before any of its scripts runs
LISTEN = ("window.__csp = []; document.addEventListener('securitypolicyviolation', "
          "e => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI + ' ' + (e.sample || '')));")


@pytest.fixture(scope="module")
def demo_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, str]]]:
    require_chromium()
    tmp = tmp_path_factory.mktemp("browser")
    port = free_port()
    env = server_env(tmp, port, "demo.db")
    subprocess.run([sys.executable, "-m", "batteryloop.cli", "demo", "--packs", "500", "--no-dataspace", "--no-serve"],
                   env=env, check=True, capture_output=True, timeout=300)
    tokens = {k: v["token"] for k, v in json.loads((tmp / "demo-tokens.json").read_text()).items()}
    import sqlite3

    with sqlite3.connect(tmp / "demo.db") as c:  # a pack still in a vehicle
        tokens["_pack"] = c.execute("SELECT id FROM passports WHERE status = 'original' ORDER BY id LIMIT 1").fetchone()[0]
    with serve(env, port) as base:
        yield base, tokens


@pytest.mark.slow
def test_phone_reads_public_page_then_recycler_signs_in(demo_server: tuple[str, dict[str, str]]) -> None:
    from playwright.sync_api import sync_playwright

    base, tokens = demo_server
    pid = tokens["_pack"]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        phone = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
        page = phone.new_page()
        page.goto(f"{base}/p/{pid}")
        assert page.locator("h1").first.inner_text() == "Battery passport"
        assert pid in page.content()
        body = page.locator("body").inner_text()
        assert "Carbon footprint" in body and "State of health" not in body and "Dismantling" not in body
        # nothing sticks out sideways on a phone
        assert page.evaluate("document.documentElement.scrollWidth") <= 390 + 1
        # the QR code image loads
        assert page.evaluate("document.querySelector('img.qr').naturalWidth") > 0
        page.click("text=sign in")
        page.fill("input[name=token]", tokens[pilot.RECYCLER_EU])
        page.click("button[type=submit]")
        page.wait_for_url(f"{base}/p/{pid}")
        body = page.locator("body").inner_text()
        assert "State of health" in body and "Dismantling information" in body
        assert "Test reports" not in body  # a recycler is not an authority
        # the dashboard draws the fleet charts with the bundled plotly.js
        page.goto(f"{base}/")
        page.wait_for_selector("#soh-hist .main-svg", timeout=20_000)
        assert page.locator("#status-bars .main-svg").count() >= 1
        browser.close()


@pytest.mark.slow
def test_second_life_operator_sees_its_hub(demo_server: tuple[str, dict[str, str]]) -> None:
    from playwright.sync_api import sync_playwright

    base, tokens = demo_server
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_context(viewport={"width": 1200, "height": 900}).new_page()
        page.goto(f"{base}/login?next=/hubs")
        page.fill("input[name=token]", tokens[pilot.SECOND_LIFE_EU])
        page.click("button[type=submit]")
        for chart in ("power_stack", "stored_energy", "pack_soh"):
            page.wait_for_selector(f"#{chart} .main-svg", timeout=60_000)
        text = page.locator("body").inner_text()
        assert "balanced strings" in text and "saved vs rule-based" in text
        # packs left out are listed with the reason, when intake grading left any out
        if "Packs left out" in text:
            assert "safety flag" in text or "spread" in text
        browser.close()


@pytest.mark.slow
def test_qr_code_on_the_page_opens_the_public_passport(demo_server: tuple[str, dict[str, str]]) -> None:
    """Read the QR code off the rendered page (as a phone camera would) and follow it."""
    import base64

    import numpy as np
    import zxingcpp
    from playwright.sync_api import sync_playwright

    base, tokens = demo_server
    pid = tokens["_pack"]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True).new_page()
        page.goto(f"{base}/p/{pid}")
        page.wait_for_function("document.querySelector('img.qr') && document.querySelector('img.qr').complete")
        # the pixels of the QR image as drawn by the browser, grey levels, 8 px per module
        pixels = page.evaluate("""() => {
            const img = document.querySelector('img.qr');
            const c = document.createElement('canvas');
            c.width = img.naturalWidth * 8; c.height = img.naturalHeight * 8;
            const g = c.getContext('2d'); g.fillStyle = '#fff'; g.fillRect(0, 0, c.width, c.height);
            g.imageSmoothingEnabled = false; g.drawImage(img, 0, 0, c.width, c.height);
            const d = g.getImageData(0, 0, c.width, c.height).data;
            const out = new Uint8Array(c.width * c.height);
            for (let i = 0; i < out.length; i++) out[i] = d[4 * i];
            // the bytes as one base64 string: the same pixels, not millions of numbers in a JSON array
            let s = '';
            for (let i = 0; i < out.length; i += 0x8000) s += String.fromCharCode.apply(null, out.subarray(i, i + 0x8000));
            return {w: c.width, h: c.height, px: btoa(s)};
        }""")
        grey = np.frombuffer(base64.b64decode(pixels["px"]), dtype=np.uint8).reshape(pixels["h"], pixels["w"])
        found = zxingcpp.read_barcodes(grey)
        assert len(found) == 1 and found[0].format == zxingcpp.BarcodeFormat.QRCode
        link = found[0].text
        assert link == f"{base}/p/{pid}"
        page.goto(link)
        assert page.locator("h1").first.inner_text() == "Battery passport" and pid in page.content()
        browser.close()


@pytest.mark.slow
def test_main_pages_meet_no_policy_violation(demo_server: tuple[str, dict[str, str]]) -> None:
    """The Content-Security-Policy in a real browser: every main page of the demo, signed in, draws what it drew
    before (its Plotly charts) and the browser reports no policy violation and no console error."""
    from playwright.sync_api import sync_playwright

    base, tokens = demo_server
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        context = browser.new_context(viewport={"width": 1200, "height": 900})
        context.add_init_script(LISTEN)
        page = context.new_page()
        console: list[str] = []
        page.on("console", lambda m: console.append(f"{m.type}: {m.text}") if m.type in ("error", "warning") else None)
        page.goto(f"{base}/login?next=/")
        page.fill("input[name=token]", tokens[pilot.AUTHORITY])
        page.click("button[type=submit]")
        page.wait_for_url(f"{base}/")
        drawn = 0
        for path, chart in PAGES.items():
            resp = page.goto(base + path)
            assert resp is not None and resp.status == 200, path
            assert "frame-ancestors 'none'" in resp.headers["content-security-policy"]
            if chart:
                page.wait_for_selector(f"{chart} .main-svg", timeout=20_000)
            page.wait_for_load_state("networkidle")
            drawn += page.locator(".main-svg").count()
            assert page.evaluate("window.__csp") == [], path
        assert drawn > 0  # the charts did draw under the policy
        assert not [m for m in console if "Content Security Policy" in m or m.startswith("error")], console
        # control: an injected inline script is refused, and the listener above sees it
        try:
            page.add_script_tag(content="window.__ran = 1")
        except Exception:  # noqa: BLE001 - Playwright may report the refused script as an error
            pass
        assert page.evaluate("window.__ran") is None
        assert any(v.startswith("script-src") for v in page.evaluate("window.__csp"))
        assert any("Content Security Policy" in m for m in console), console
        browser.close()
