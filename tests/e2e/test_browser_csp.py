"""The Content-Security-Policy in a real browser: every main page of the demo, signed in, draws what it drew
before (its Plotly charts) and the browser reports no policy violation and no console error."""

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
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, str]]]:
    require_chromium()
    tmp = tmp_path_factory.mktemp("csp")
    port = free_port()
    env = server_env(tmp, port, "demo.db")
    subprocess.run([sys.executable, "-m", "batteryloop.cli", "demo", "--packs", "300", "--no-dataspace", "--no-serve"],
                   env=env, check=True, capture_output=True, timeout=300)
    tokens = {k: v["token"] for k, v in json.loads((tmp / "demo-tokens.json").read_text()).items()}
    with serve(env, port) as base:
        yield base, tokens


@pytest.mark.slow
def test_main_pages_meet_no_policy_violation(demo: tuple[str, dict[str, str]]) -> None:
    from playwright.sync_api import sync_playwright

    base, tokens = demo
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
