"""A real browser (headless Chromium driven by Playwright) on the demo: the traceability explorer (search a pack,
its lineage graph, custody and chain verification) and the passport's view-as tier switch. Screenshots are
saved to $BATTERYLOOP_ARTIFACTS_DIR (default: a temporary directory) as artifacts."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.browser import ARGS, CHROMIUM, artifacts_dir, free_port, require_chromium, serve, server_env

@pytest.fixture(scope="module")
def demo_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, Any]]]:
    require_chromium()
    tmp = tmp_path_factory.mktemp("browser-trace")
    port = free_port()
    env = server_env(tmp, port, "demo.db")
    # without the data space: nothing here reads it, and its connector nodes and pulls took a third of the set-up
    subprocess.run([sys.executable, "-m", "batteryloop.cli", "demo", "--packs", "200", "--no-dataspace", "--no-serve"],
                   env=env, check=True, capture_output=True, timeout=300)
    participants = json.loads((tmp / "demo-tokens.json").read_text())
    with serve(env, port) as base:
        yield base, participants


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return artifacts_dir(tmp_path_factory)


@pytest.fixture(scope="module")
def packs(demo_server: tuple[str, dict[str, Any]]) -> dict[str, Any]:
    """From the demo, through the API: a traced pack (NMC or NCA), an LFP pack, the operator's token and a
    recycler's. Found by asking the server, so the test does not depend on how the demo numbers its packs."""
    from batteryloop.sim import lanzhou

    base, participants = demo_server
    out: dict[str, Any] = {}
    with httpx.Client(base_url=base, timeout=10) as http:
        for chem in ("NMC811", "NCA", "LFP"):
            items = http.get("/api/v1/passports", params={"chemistry": chem, "limit": 200}).json()["items"]
            for it in items:
                if it["battery"].get("predecessor_ids"):
                    continue  # a re-used or repurposed pack's new passport: traced under the original
                pid = it["passport_id"]
                op = it["battery"]["economic_operator_id"]
                if op == lanzhou.MAKER:
                    continue  # the Lanzhou fleets' packs: the maker's, not the automaker's (the tokens used here)
                token = participants[op]["token"]
                lin = http.get(f"/api/v1/trace/packs/{pid}/lineage", headers={"Authorization": f"Bearer {token}"})
                if chem == "LFP" and lin.status_code == 404 and "lfp" not in out:
                    out.update(lfp=pid, lfp_operator=token)
                elif chem != "LFP" and lin.status_code == 200 and "traced" not in out:
                    out.update(traced=pid, operator=token, lots=[lot["id"] for lot in lin.json()["lots"]])
    out["recycler"] = next(p["token"] for p in participants.values() if "recycler" in p["roles"])
    assert "traced" in out, "the demo traced no pack"
    return out


def _browser(p: Any) -> Any:
    return p.chromium.launch(executable_path=CHROMIUM, args=ARGS)


def _watch(page: Any) -> list[str]:
    """Console errors and uncaught exceptions of a page, and failed requests (nothing may go to a CDN).

    An error page's own status (401 sign-in prompt, 403, 404 not found) is logged by Chromium as "Failed to
    load resource" on that document: those documents are the answers under test, not errors of the page."""
    errors: list[str] = []
    error_documents: set[str] = set()

    def on_response(r: Any) -> None:
        if r.request.resource_type == "document" and r.status in (401, 403, 404):
            error_documents.add(r.url)

    def on_console(m: Any) -> None:
        if m.type != "error":
            return
        if m.text.startswith("Failed to load resource") and m.location.get("url") in error_documents:
            return
        errors.append(f"console {m.type}: {m.text} at {m.location.get('url')}")

    page.on("response", on_response)
    page.on("console", on_console)
    page.on("pageerror", lambda e: errors.append(f"pageerror: {e}"))
    page.on("requestfailed", lambda r: errors.append(f"request failed: {r.url}"))
    return errors


def _sign_in(page: Any, base: str, token: str, next_path: str) -> None:
    page.goto(f"{base}/login?next={next_path}")
    page.fill("input[name=token]", token)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}{next_path}")


@pytest.mark.slow
def test_search_a_pack_opens_its_lineage(demo_server: tuple[str, dict[str, Any]], packs: dict[str, Any],
                                         artifacts: Path) -> None:
    from playwright.sync_api import sync_playwright

    base, _ = demo_server
    pid = packs["traced"]
    with sync_playwright() as p:
        browser = _browser(p)
        page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
        errors = _watch(page)
        # anonymous: the explorer loads; a pack's lineage asks for a sign-in (the API answers 401)
        page.goto(f"{base}/trace")
        assert page.locator("h1").inner_text() == "Traceability explorer"
        page.screenshot(path=str(artifacts / "trace-search.png"), full_page=True)
        page.goto(f"{base}/trace/{pid}")
        assert "Sign in to see the trace" in page.locator("body").inner_text()
        assert not any(lot in page.content() for lot in packs["lots"] if lot != pid)
        page.screenshot(path=str(artifacts / "trace-anonymous.png"), full_page=True)
        # unknown ids: a not-found page
        page.goto(f"{base}/trace?q=NO-SUCH-PACK-0000")
        assert "No passport with ID" in page.locator("#not-found").inner_text()
        # the operator signs in and searches with the keyboard only: label → type → Enter
        _sign_in(page, base, packs["operator"], "/trace")
        box = page.get_by_label("Pack or passport ID, lot ID or event ID")
        box.focus()
        page.keyboard.type(pid)
        page.keyboard.press("Enter")
        page.wait_for_url(f"{base}/trace/{pid}")
        page.wait_for_selector("#lineage-graph .main-svg", timeout=20_000)
        assert page.locator("#lineage-graph path.sankey-link").count() >= 6
        assert page.locator("#lineage-graph .sankey-node").count() >= 8
        assert page.locator("#origin-shares .main-svg").count() >= 1
        assert page.locator("#custody tbody tr").count() >= 1
        assert page.locator("#lots tbody tr").count() >= 8
        assert "Chain verified" in page.locator("#verify-result").inner_text()
        page.screenshot(path=str(artifacts / "trace-lineage.png"), full_page=True)
        # from the trace to the passport and back
        page.click("#passport-link")
        page.wait_for_url(f"{base}/p/{pid}")
        page.click("#trace-link")
        page.wait_for_url(f"{base}/trace/{pid}")
        page.wait_for_selector("#lineage-graph .main-svg", timeout=20_000)
        # a lot of the pack opens from the lots table; its recall is for authorities, the operator is told so
        page.locator("#lots tbody a").first.click()
        page.wait_for_selector("#denied")
        assert not errors, errors
        browser.close()


@pytest.mark.slow
def test_pack_without_ledger_events_and_a_participant_without_access(
        demo_server: tuple[str, dict[str, Any]], packs: dict[str, Any], artifacts: Path) -> None:
    from playwright.sync_api import sync_playwright

    base, _ = demo_server
    with sync_playwright() as p:
        browser = _browser(p)
        page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
        errors = _watch(page)
        if "lfp" in packs:
            _sign_in(page, base, packs["lfp_operator"], "/trace")
            page.goto(f"{base}/trace/{packs['lfp']}")
            assert "LFP pack" in page.locator("#no-ledger").inner_text()
            assert page.locator(".js-plotly-plot").count() == 0
            page.screenshot(path=str(artifacts / "trace-lfp-no-ledger.png"), full_page=True)
        page.goto(f"{base}/logout")
        _sign_in(page, base, packs["recycler"], f"/trace/{packs['traced']}")
        assert "Not shown to you" in page.locator("#denied").inner_text()
        assert page.locator(".js-plotly-plot").count() == 0
        assert "Chain verified" in page.locator("#verify-result").inner_text()  # any participant may verify
        page.screenshot(path=str(artifacts / "trace-recycler-denied.png"), full_page=True)
        assert not errors, errors
        browser.close()


@pytest.mark.slow
def test_tier_switch_removes_restricted_fields_on_a_phone(demo_server: tuple[str, dict[str, Any]],
                                                          packs: dict[str, Any], artifacts: Path) -> None:
    from playwright.sync_api import sync_playwright

    base, _ = demo_server
    pid = packs["traced"]
    with sync_playwright() as p:
        browser = _browser(p)
        phone = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
        page = phone.new_page()
        errors = _watch(page)
        _sign_in(page, base, packs["operator"], f"/p/{pid}")
        body = page.locator("body").inner_text()
        assert "State of health" in body and "Supply chain (confidential" in body
        options = page.locator("#view-as option").evaluate_all("els => els.map(e => e.value)")
        assert options == ["public", "legitimate_interest", "authority", "operator"]
        assert page.evaluate("document.documentElement.scrollWidth") <= 390 + 1
        page.screenshot(path=str(artifacts / "passport-operator-phone.png"), full_page=True)
        # keyboard: the select is labelled; choose "Public" and submit
        page.get_by_label("View as").select_option("public")
        page.get_by_role("button", name="Show").press("Enter")
        page.wait_for_url(f"{base}/p/{pid}?view_as=public")
        html = page.content()
        for gone in ("State of health", "Dismantling", "Supply chain (confidential", "origin-shares", "Test reports"):
            assert gone not in html, gone  # absent from the page, not hidden by CSS
        body = page.locator("body").inner_text()
        assert "Carbon footprint" in body and "You are viewing this passport as Public" in body
        assert page.evaluate("document.documentElement.scrollWidth") <= 390 + 1
        page.screenshot(path=str(artifacts / "passport-view-as-public-phone.png"), full_page=True)
        page.get_by_label("View as").select_option("legitimate_interest")
        page.get_by_role("button", name="Show").click()
        page.wait_for_url(f"{base}/p/{pid}?view_as=legitimate_interest")
        html = page.content()
        assert "State of health" in html and "Test reports" not in html and "Supply chain (confidential" not in html
        # the trace page also fits a phone
        page.goto(f"{base}/trace/{pid}")
        page.wait_for_selector("#lineage-graph .main-svg", timeout=20_000)
        assert page.evaluate("document.documentElement.scrollWidth") <= 390 + 1
        page.screenshot(path=str(artifacts / "trace-lineage-phone.png"), full_page=True)
        assert not errors, errors
        browser.close()
