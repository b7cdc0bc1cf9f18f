"""The traceability explorer and the passport's view-as switch, by content: each page answers a caller what
the trace API answers them (status and data), unknown ids get a not-found page, restricted passport fields
leave the HTML when a reader switches down a tier."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from batteryloop.sim import pilot

ADMIN = "admin-secret-token"


def H(client: Any, who: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {ADMIN if who == 'admin' else client.tokens[who]}"}


def _figure(html: str, fig_id: str) -> list[dict[str, Any]]:
    m = re.search(r'Plotly\.newPlot\("' + re.escape(fig_id) + r'", (\[.*?\]),\s*\n', html, re.S)
    assert m, f"no figure {fig_id}"
    return json.loads(m.group(1))


def _packs(client: Any, n: int = 3, seed: int = 5) -> list[str]:
    out = []
    for rec in pilot.generate_batteries(n, seed=seed):
        r = client.post("/api/v1/passports", json=rec, headers=H(client, pilot.AUTOMAKER))
        assert r.status_code in (200, 201), r.text
        out.append(r.json()["passport_id"])
    return out


@pytest.fixture
def traced(client: Any) -> dict[str, Any]:
    """An NMC pack and an NCA pack with their supply chain in the ledger; an LFP pack without."""
    from batteryloop.sim.supply_chain import record_pilot

    nmc, lfp, nca = _packs(client)
    assert ".LFP-" in lfp
    rep = record_pilot(client.services.store, packs=[(nmc, "EM-NMC811-82"), (nca, "EM-NCA-75")])
    assert rep.ok
    lots = client.services.trace.lineage(nmc)["lots"]
    salt = next(lot["id"] for lot in lots if lot["id"].startswith("salt-Co"))
    event = client.services.trace.chain(nmc)[0]["event"]["id"]  # the pack assembly, signed by the automaker
    return {"nmc": nmc, "nca": nca, "lfp": lfp, "salt": salt, "event": event, "lots": lots}


def test_search_page_and_nav(client: Any) -> None:
    r = client.get("/trace")
    assert r.status_code == 200
    html = r.text
    assert '<label for="trace-q">' in html and 'id="trace-q" name="q" type="search"' in html
    assert '<button type="submit">Trace</button>' in html
    assert '<a href="/trace">Trace</a>' in client.get("/").text
    assert "cdn." not in html and "https://cdn" not in html


@pytest.mark.parametrize("who", [None, pilot.RECYCLER_EU, pilot.CELL_KR, pilot.AUTOMAKER, pilot.AUTHORITY, "admin"])
def test_pack_page_answers_what_the_api_answers(client: Any, traced: dict[str, Any], who: str | None) -> None:
    pid = traced["nmc"]
    headers = H(client, who) if who else {}
    api = client.get(f"/api/v1/trace/packs/{pid}/lineage", headers=headers)
    page = client.get(f"/trace/{pid}", headers=headers)
    assert page.status_code == api.status_code, (who, page.status_code, api.status_code)
    html = page.text
    supplier_lots = [lot["id"] for lot in traced["lots"] if lot["id"] != pid]
    if api.status_code == 200:
        assert all(lot in html for lot in supplier_lots if not lot.startswith("module"))
        sankey = _figure(html, "lineage-graph")
        assert sankey[0]["type"] == "sankey" and len(sankey[0]["link"]["value"]) >= 6
        assert len(sankey[0]["node"]["label"]) >= 8 and all(v > 0 for v in sankey[0]["link"]["value"])
        # the pack's node takes in exactly the pack's traced element mass (the attribution holds)
        labels = sankey[0]["node"]["label"]
        into_pack = sum(v for t, v in zip(sankey[0]["link"]["target"], sankey[0]["link"]["value"], strict=True)
                        if labels[t] == "pack")
        assert abs(into_pack - sum(api.json()["elements_kg"].values())) < 0.5
        assert 'id="custody"' in html and 'id="origin-table"' in html and 'id="verify-result"' in html
        assert "Chain verified" in html and ("Salar Andino" in html or "Pilbara" in html)
        assert f'href="/p/{pid}"' in html  # and back to the passport
    elif api.status_code == 401:
        assert "Sign in to see the trace" in html and "/login?next=" in html
        assert not any(lot in html for lot in supplier_lots) and "Plotly.newPlot" not in html
    else:
        assert api.status_code == 403 and 'id="denied"' in html
        assert not any(lot in html for lot in supplier_lots) and "Plotly.newPlot" not in html
        assert "Katanga" not in html and "Salar" not in html
        # any participant may verify a chain (GET /trace/verify?subject=): the page shows it too
        assert 'id="verify-result"' in html
        assert client.get("/api/v1/trace/verify", params={"subject": pid}, headers=headers).status_code == 200


def test_origin_shares_and_custody(client: Any, traced: dict[str, Any]) -> None:
    pid = traced["nmc"]
    html = client.get(f"/trace/{pid}", headers=H(client, pilot.AUTOMAKER)).text
    lin = client.services.trace.lineage(pid)
    table = html[html.index('id="origin-table"'):]
    table = table[:table.index("</table>")]
    for el in lin["origin_share"]:
        assert f'<th scope="row">{el}</th>' in table
    bars = _figure(html, "origin-shares")
    assert {b["name"] for b in bars} == {o.replace(":", " · ").replace("_", " ")
                                          for d in lin["origin_share"].values() for o in d}
    custody = client.services.trace.custody(pid)
    rows = html[html.index('id="custody"'):]
    rows = rows[:rows.index("</table>")]
    assert rows.count("<tr>") == 1 + len(custody["history"])
    assert "EuroMotors AG" in rows  # holders by name


def test_pack_without_ledger_events_says_so(client: Any, traced: dict[str, Any]) -> None:
    r = client.get(f"/trace/{traced['lfp']}", headers=H(client, pilot.AUTOMAKER))
    assert r.status_code == 200
    assert 'id="no-ledger"' in r.text and "LFP pack" in r.text and "Plotly.newPlot" not in r.text
    assert "nothing to verify" in r.text


def test_unknown_ids_get_a_not_found_page(client: Any, traced: dict[str, Any]) -> None:
    for who in (None, pilot.AUTOMAKER, pilot.AUTHORITY):
        headers = H(client, who) if who else {}
        r = client.get("/trace/BL.NO.SUCH-PACK", headers=headers)
        assert r.status_code == 404 and 'id="not-found"' in r.text and "BL.NO.SUCH-PACK" in r.text
        r = client.get("/trace", params={"q": "no-such-thing-42"}, headers=headers)
        assert r.status_code == 404 and 'id="not-found"' in r.text
    auth = H(client, pilot.AUTHORITY)
    assert client.get("/trace/lot/no-such-lot", headers=auth).status_code == 404
    assert client.get("/trace/event/no-such-event", headers=auth).status_code == 404
    # anonymous searches look up passports only: an existing lot is not revealed (the API answers 401)
    anon_lot = client.get("/trace", params={"q": traced["salt"]})
    anon_none = client.get("/trace", params={"q": "no-such-lot"})
    assert anon_lot.status_code == anon_none.status_code == 404
    assert anon_lot.text.replace(traced["salt"], "X") == anon_none.text.replace("no-such-lot", "X")


def test_search_opens_pack_lot_and_event(client: Any, traced: dict[str, Any]) -> None:
    auth = H(client, pilot.AUTHORITY)
    r = client.get("/trace", params={"q": f"  {traced['nmc']} "}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/trace/{traced['nmc']}"
    r = client.get("/trace", params={"q": traced["salt"]}, headers=auth, follow_redirects=False)
    assert r.headers["location"] == f"/trace/lot/{traced['salt']}"
    r = client.get("/trace", params={"q": traced["event"]}, headers=auth, follow_redirects=False)
    assert r.headers["location"] == f"/trace/event/{traced['event']}"
    # a lot: its recall (authorities, admin) lists the packs that contain it, as the recall API
    lot = client.get(f"/trace/lot/{traced['salt']}", headers=auth)
    recall = client.get("/api/v1/trace/recall", params={"key": traced["salt"], "all": "true"}, headers=auth).json()
    assert lot.status_code == 200 and f'href="/trace/{traced["nmc"]}"' in lot.text
    assert all(p["pack"] in lot.text for p in recall["packs"])
    # the API pages a recall: a page by pack id with the count of all, and no holders; a bad page is refused
    page = client.get("/api/v1/trace/recall", params={"key": traced["salt"], "limit": 1, "offset": 0}, headers=auth).json()
    assert page["packs"] == recall["packs"][:1] and page["count"] == recall["count"] >= 1 and "holders" not in page
    assert page["next_offset"] == (1 if recall["count"] > 1 else None)
    assert client.get("/api/v1/trace/recall", params={"key": traced["salt"], "limit": 0}, headers=auth).status_code == 422
    # without a page named, the API answers a page of RECALL_PAGE_DEFAULT (a big lot's whole answer is asked for)
    from batteryloop.trace.queries import RECALL_PAGE_DEFAULT

    default = client.get("/api/v1/trace/recall", params={"key": traced["salt"]}, headers=auth).json()
    assert default["limit"] == RECALL_PAGE_DEFAULT and default["offset"] == 0 and "holders" not in default
    assert default["packs"] == recall["packs"][:RECALL_PAGE_DEFAULT] and default["count"] == recall["count"]
    assert recall["holders"] and sum(recall["holders"].values()) == recall["count"] == len(recall["packs"])
    # all=true with a page is a contradiction, refused naming the page's fields
    r = client.get("/api/v1/trace/recall", params={"key": traced["salt"], "all": "true", "limit": 5}, headers=auth)
    assert r.status_code == 422 and "limit" in r.json()["detail"], r.text
    for who in (pilot.AUTOMAKER, pilot.RECYCLER_EU):
        assert client.get("/api/v1/trace/recall", params={"key": traced["salt"]},
                          headers=H(client, who)).status_code == 403
        r = client.get(f"/trace/lot/{traced['salt']}", headers=H(client, who))
        assert r.status_code == 403 and traced["nmc"] not in r.text
    assert client.get(f"/trace/lot/{traced['salt']}").status_code == 401
    # an event: to its actor (the automaker assembled the pack), authorities, the admin — as the API
    ev = traced["event"]
    for who, status in ((pilot.AUTOMAKER, 200), (pilot.AUTHORITY, 200), ("admin", 200), (pilot.RECYCLER_EU, 403)):
        api = client.get(f"/api/v1/trace/events/{ev}", headers=H(client, who)).status_code
        page = client.get(f"/trace/event/{ev}", headers=H(client, who))
        assert page.status_code == api == status
        assert ("pack assembly" in page.text) == (status == 200)
    assert client.get(f"/trace/event/{ev}").status_code == 401


def test_lot_page_pages_its_recall(client: Any, traced: dict[str, Any]) -> None:
    """The lot page reads one page of the recall (as the API's limit/offset), links the next and previous pages,
    and counts the holders of the packs it shows; a bad page is refused as the API refuses it."""
    auth = H(client, pilot.AUTHORITY)
    whole = client.get("/api/v1/trace/recall", params={"key": traced["salt"], "all": "true"}, headers=auth).json()
    ids = [p["pack"] for p in whole["packs"]]
    assert len(ids) >= 2, ids  # the NMC and NCA packs share the cobalt salt
    base = f"/trace/lot/{traced['salt']}"
    everything = client.get(base, headers=auth).text  # one page holds them all: no page links, every holder
    assert all(i in everything for i in ids) and 'id="recall-pages"' not in everything
    assert f"Recall: {len(ids)} packs" in everything and "of the packs shown" not in everything
    seen = []
    url: str | None = base + "?limit=1"
    while url is not None:
        r = client.get(url.replace("&amp;", "&"), headers=auth)
        assert r.status_code == 200 and f"Recall: {len(ids)} packs" in r.text
        table = r.text[r.text.index('id="recall"'):r.text.index("</table>", r.text.index('id="recall"'))]
        shown = [i for i in ids if f">{i}</a>" in table]
        assert len(shown) == 1 and "Holders of the packs shown" in r.text
        seen += shown
        nav = r.text[r.text.index('id="recall-pages"'):]
        assert f"Packs {len(seen)}–{len(seen)} of {len(ids)}" in nav
        assert ('rel="prev"' in nav) == (len(seen) > 1)
        m = re.search(r'rel="next" href="([^"]+)"', nav)
        url = m.group(1) if m else None
    assert seen == ids  # every pack once, in the order of the API's pages
    for bad in ({"offset": -1}, {"limit": 0}, {"limit": 1001}):
        assert client.get(base, params=bad, headers=auth).status_code == 422


def test_passport_page_links_to_its_trace(client: Any, traced: dict[str, Any]) -> None:
    pid = traced["nmc"]
    assert f'href="/trace/{pid}"' in client.get(f"/p/{pid}").text
    assert f'href="/p/{pid}"' in client.get(f"/trace/{pid}").text  # anonymous: the sign-in prompt links back


# ------------------------------------------------------------------------------ passport view-as
def _options(html: str) -> list[str]:
    return re.findall(r'<option value="([a-z_]+)"', html)


def test_view_as_switches_down_and_restricted_fields_leave_the_html(client: Any, traced: dict[str, Any]) -> None:
    pid = traced["nmc"]
    client.cookies.set("batteryloop_token", client.tokens[pilot.AUTOMAKER])
    try:
        full = client.get(f"/p/{pid}").text
        assert _options(full) == ["public", "legitimate_interest", "authority", "operator"]
        assert '<label for="view-as">View as</label>' in full
        assert "State of health" in full and "Supply chain (confidential" in full and "Dismantling" in full
        pub = client.get(f"/p/{pid}", params={"view_as": "public"})
        assert pub.status_code == 200
        html = pub.text
        assert 'id="switched"' in html and "<b>Public</b>" in html
        # absent from the HTML, not hidden: no field name, no value, no figure
        view = client.get(f"/api/v1/passports/{pid}", headers=H(client, pilot.AUTOMAKER)).json()
        soh = str(view["battery"]["state_of_health"]["soh_capacity_pct"])
        for gone in ("State of health", "Dismantling", "Supply chain (confidential", "origin-shares",
                     "Test reports", "Usage (legitimate interest)", f">{soh}<"):
            assert gone not in html, gone
        assert "Carbon footprint" in html  # the public part stays
        public_api = client.get(f"/api/v1/passports/{pid}").json()
        assert re.search(r'id="tiers-shown">You see: <span class="tier">public</span></p>', html)
        assert public_api["access_tiers"] == ["public"]
        li = client.get(f"/p/{pid}", params={"view_as": "legitimate_interest"}).text
        assert "State of health" in li and "Dismantling" in li
        assert "Test reports" not in li and "Supply chain (confidential" not in li
    finally:
        client.cookies.clear()


def test_view_as_never_goes_up(client: Any, traced: dict[str, Any]) -> None:
    pid = traced["nmc"]
    # a recycler holds public + legitimate interest: the switch offers no more
    client.cookies.set("batteryloop_token", client.tokens[pilot.RECYCLER_EU])
    try:
        html = client.get(f"/p/{pid}").text
        assert _options(html) == ["public", "legitimate_interest"]
        up = client.get(f"/p/{pid}", params={"view_as": "operator"}).text
        assert "You do not hold the tier" in up and "Operator only" not in up and "Test reports" not in up
        assert "Supply chain (confidential" not in up
        down = client.get(f"/p/{pid}", params={"view_as": "public"}).text
        assert "State of health" not in down and "Dismantling" not in down
    finally:
        client.cookies.clear()
    # anonymous: public only, no switch; asking for more changes nothing
    anon = client.get(f"/p/{pid}", params={"view_as": "authority"}).text
    assert 'id="view-as"' not in anon and "State of health" not in anon and "You do not hold the tier" in anon


def test_repurposed_passport_points_to_the_traced_original(client: Any, traced: dict[str, Any]) -> None:
    pid = traced["nmc"]
    # the operator lets the second-life operator repurpose it (no custody hand-over in this small ledger)
    r = client.post(f"/api/v1/passports/{pid}/delegations", headers=H(client, pilot.AUTOMAKER),
                    json={"grantee_id": pilot.SECOND_LIFE, "actions": ["passport.status.repurpose"]})
    assert r.status_code == 201, r.text
    r = client.post(f"/api/v1/passports/{pid}/status", json={"event": "repurpose"},
                    headers=H(client, pilot.SECOND_LIFE))
    assert r.status_code == 200, r.text
    new = client.services.passports.get_record(pid).successor_id
    assert new and new != pid
    page = client.get(f"/trace/{new}", headers=H(client, pilot.AUTHORITY))
    assert page.status_code == 200 and 'id="no-ledger"' in page.text
    assert f'href="/trace/{pid}"' in page.text and "continues an earlier one" in page.text
    old = client.get(f"/trace/{pid}", headers=H(client, pilot.AUTHORITY)).text
    assert f'href="/trace/{new}"' in old and "lineage-graph" in old


def test_recall_page_past_any_ledger_is_refused_by_name(client: Any, traced: dict[str, Any]) -> None:
    """An offset no store integer holds (SQLite's and PostgreSQL's OFFSET are 64-bit) is refused as bad input
    naming the offset, by the API and the lot page alike — not a 500 from the database driver."""
    auth = H(client, pilot.AUTHORITY)
    for huge in (2**53, 10**20):
        for url, params in ((f"/trace/lot/{traced['salt']}", {"offset": huge}),
                            ("/api/v1/trace/recall", {"key": traced["salt"], "limit": 5, "offset": huge})):
            r = client.get(url, params=params, headers=auth)
            assert r.status_code == 422, (url, huge, r.status_code)
            assert "offset" in r.json()["detail"], r.text
    # the largest accepted offset is simply past the end: an empty page with the count of all
    from batteryloop.trace.queries import MAX_RECALL_OFFSET

    page = client.get("/api/v1/trace/recall", params={"key": traced["salt"], "limit": 5, "offset": MAX_RECALL_OFFSET},
                      headers=auth).json()
    assert page["packs"] == [] and page["count"] >= 2 and page["next_offset"] is None


def test_lot_page_past_the_last_pack(client: Any, traced: dict[str, Any]) -> None:
    """A page past the last pack shows none and says so (not 'Packs 2–2 of 2' over an empty table), and its
    previous link leads to the last page, not to another empty one."""
    auth = H(client, pilot.AUTHORITY)
    n = client.get("/api/v1/trace/recall", params={"key": traced["salt"]}, headers=auth).json()["count"]
    base = f"/trace/lot/{traced['salt']}"
    for offset in (n, n + 50):
        r = client.get(base, params={"offset": offset, "limit": 1}, headers=auth)
        assert r.status_code == 200
        table = r.text[r.text.index('id="recall"'):r.text.index("</table>", r.text.index('id="recall"'))]
        assert '<a href="/trace/' not in table  # no pack on this page
        nav = r.text[r.text.index('id="recall-pages"'):]
        nav = nav[:nav.index("</nav>")]
        assert not re.search(r"Packs \d+–\d+ of", nav), nav
        assert f"past the last of the {n} packs" in nav, nav
        assert f'rel="prev" href="{base}?offset={n - 1}&amp;limit=1"' in nav, nav
        assert 'rel="next"' not in nav
