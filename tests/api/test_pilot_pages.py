"""The pilot dashboard (/pilot…) on real pilot runs: every page renders, every chart carries data, the
reference values behind the figures are listed, restricted detail stays with the overseers, and a store
without a pilot (or a report missing sections) gets a friendly page rather than an error."""

from __future__ import annotations

import copy
import json
import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import make_services

PAGES = ["/pilot", "/pilot/health", "/pilot/materials", "/pilot/footprint", "/pilot/routes", "/pilot/baas",
         "/pilot/outflows", "/pilot/dataspace", "/pilot/economics"]
ADMIN = {"Authorization": "Bearer admin-secret-token"}
FIGURE = re.compile(r'Plotly\.newPlot\("([\w-]+)", (.*),\n')


def figures(html: str) -> dict[str, list[dict[str, Any]]]:
    """The charts of a page: div id → the figure's data (the traces) as the page hands them to plotly.js."""
    out = {fid: json.loads(data) for fid, data in FIGURE.findall(html)}
    for fid in out:
        assert f'<div class="chart" id="{fid}"></div>' in html, f"chart {fid} has no div"
    return out


def _client(tmp: Path, config: Any = None, references: Any = None) -> Iterator[Any]:
    from fastapi.testclient import TestClient

    from batteryloop.api.app import create_app
    from batteryloop.sim.loop import run_pilot
    from batteryloop.store.db import Store

    store = Store(f"sqlite:///{tmp}/pilot.db")
    store.upgrade()
    svc = make_services(store)
    report = run_pilot(svc, config, references=references) if config is not None else None
    with TestClient(create_app(services=svc)) as c:
        c.report = report  # type: ignore[attr-defined]
        c.store = store  # type: ignore[attr-defined]
        yield c
    store.dispose()


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The brief's small pilot: 60 packs over 4 years, no data space."""
    from batteryloop.sim.loop import PilotConfig

    yield from _client(tmp_path_factory.mktemp("pilot-small"), PilotConfig(packs=60, years=4, dataspace=False))


@pytest.fixture(scope="module")
def rich(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A pilot long enough for retirements, routes and recycling, with the outflow rate raised through the
    reference override (so that packs leave the loop and the outflow report finds them)."""
    from batteryloop.reference import References
    from batteryloop.sim.loop import PilotConfig

    refs = References.default().override({"batteryloop_assumptions": {"pilot": {"illegal_outflow_fraction": 0.5}}})
    yield from _client(tmp_path_factory.mktemp("pilot-rich"), PilotConfig(packs=300, years=10, seed=42, dataspace=False),
                       references=refs)


@pytest.fixture
def empty(tmp_path: Path) -> Iterator[Any]:
    yield from _client(tmp_path)


@pytest.mark.parametrize("path", PAGES)
def test_no_pilot_yet_is_a_friendly_page(empty: Any, path: str) -> None:
    r = empty.get(path)
    assert r.status_code == 200
    assert 'id="no-pilot"' in r.text and "batteryloop demo" in r.text
    assert "Plotly.newPlot" not in r.text


# the charts each page must draw for the small run (60 packs, 4 years: no retirements yet)
SMALL_CHARTS = {
    "/pilot": {"overview-fleet", "overview-cash"},
    "/pilot/health": {"health-models", "health-usages"},
    "/pilot/materials": {"materials-sankey", "materials-recycled-Li", "materials-recycled-Ni", "materials-recycled-Co"},
    "/pilot/footprint": {"footprint-stages"},
    "/pilot/routes": set(),
    "/pilot/baas": {"baas-fleet", "baas-money"},  # the swap station runs from 20 leased packs
    "/pilot/outflows": set(),
    "/pilot/dataspace": set(),
    "/pilot/economics": {"economics-by-type", "economics-by-item", "economics-for-whom"},
}
RICH_CHARTS = {
    **SMALL_CHARTS,
    "/pilot/health": {"health-models", "health-usages", "health-second-life"},
    "/pilot/materials": SMALL_CHARTS["/pilot/materials"] | {"materials-recovered"},
    "/pilot/routes": {"routes-by-year", "routes-economics", "routes-soh"},
    "/pilot/outflows": {"outflows-rules", "outflows-simulated"},
    "/pilot/baas": {"baas-fleet", "baas-money", "baas-station"},
}


@pytest.mark.parametrize("path", PAGES)
def test_small_pilot_every_page_and_chart(small: Any, path: str) -> None:
    r = small.get(path)
    assert r.status_code == 200, r.text[:2000]
    figs = figures(r.text)
    assert SMALL_CHARTS[path] <= set(figs), f"{path}: charts {sorted(figs)}"
    for fid, data in figs.items():
        assert data, f"{path}: chart {fid} has no traces"
        assert any(t.get("x") or t.get("y") or t.get("link") or t.get("q1") for t in data), f"{fid} draws nothing"
    # the bundled plotly.js, never a CDN
    if figs:
        import plotly

        assert f'src="/static/vendor/plotly-{plotly.__version__}.min.js"' in r.text
    assert "cdn." not in r.text
    # the section navigation and the reference values behind the figures
    assert 'aria-label="Pilot dashboard sections"' in r.text and 'aria-current="page"' in r.text
    assert 'id="references"' in r.text and "unverified" in r.text
    assert f"Run {small.report['run_id']} " in r.text


@pytest.mark.slow
@pytest.mark.parametrize("path", PAGES)
def test_rich_pilot_every_page_and_chart(rich: Any, path: str) -> None:
    r = rich.get(path)
    assert r.status_code == 200, r.text[:2000]
    figs = figures(r.text)
    assert RICH_CHARTS[path] <= set(figs), f"{path}: charts {sorted(figs)}"
    assert all(figs.values())


def test_overview_states_the_run(small: Any) -> None:
    s = small.report["summary"]
    html = small.get("/pilot").text
    assert re.search(r'id="kpi-packs"><b>60</b>', html)
    assert f"<b>{s['passports']:,}</b><span>passports issued" in html
    assert f"<b>{s['ledger_events']:,}</b><span>ledger events verified ✓" in html
    assert s["ledger_verified"] is True
    for t, v in s["net_cash_usd_by_participant_type"].items():
        assert f"<td>{t}</td>" in html and f"{v:,.0f}" in html
    for path in PAGES[1:]:
        assert f'href="{path}"' in html
    # the top navigation leads here
    assert '<a href="/pilot">Pilot</a>' in html


def test_health_band_is_the_reports_percentiles(small: Any) -> None:
    figs = figures(small.get("/pilot/health").text)
    rows = small.report["soh_by_year"]
    model = next(iter(rows[-1]["models"]))
    traces = {t.get("name"): t for t in figs["health-models"]}
    assert traces[f"{model} mean"]["y"][-1] == rows[-1]["models"][model]["mean"]
    assert traces[f"{model} p10–p90"]["y"][-1] == rows[-1]["models"][model]["p10"]
    assert traces[f"{model} p10–p90"]["fill"] == "tonexty"


def test_materials_sankey_and_minimums(small: Any) -> None:
    html = small.get("/pilot/materials").text
    figs = figures(html)
    sankey = figs["materials-sankey"][0]
    links = small.report["material_flows"]["links"]
    assert sankey["type"] == "sankey" and len(sankey["link"]["value"]) == len(links)
    labels = sankey["node"]["label"]
    assert "refining" in labels and "cathode" in labels and any(n.startswith("mine ") for n in labels)
    # a line at each of the 2031 and 2036 minimums (Li: 6 % and 12 %)
    li = {t["name"]: t for t in figs["materials-recycled-Li"]}
    mins = small.report["recycled_content"]["minimums"]
    for date, m in mins.items():
        line = next(t for n, t in li.items() if n.startswith(f"minimum from {date[:4]}"))
        assert line["y"] == [pytest.approx(100 * m["Li"])] * 2
    # the recycled-content minimums are among the references listed, verified
    assert "recycled_content_min_fraction" in html and 'class="tag verified"' in html


def test_footprint_stacks_the_passport_stages(small: Any) -> None:
    figs = figures(small.get("/pilot/footprint").text)
    fp = small.report["footprint"]
    bars = [t for t in figs["footprint-stages"] if t["type"] == "bar"]
    assert len(bars) == 4
    raw = next(t for t in bars if t["name"] == "raw material acquisition")
    assert raw["y"] == [fp[m]["raw_material_kgco2e_per_kwh"] for m in raw["x"]]


def test_economics_cumulative_lines_sum_the_cash_flows(small: Any) -> None:
    html = small.get("/pilot/economics").text
    figs = figures(html)
    rows = small.report["cash_flows"]
    for t in figs["economics-by-type"]:
        if t["name"].endswith("(cumulative)"):
            who = t["name"].removesuffix(" (cumulative)")
            assert t["y"][-1] == pytest.approx(sum(r["usd"] for r in rows if r["participant_type"] == who), abs=0.05)
    assert 'id="pivot-table"' in html and "<caption>" in html


@pytest.mark.slow
def test_routes_page_aggregates_for_the_public_and_details_for_overseers(rich: Any) -> None:
    public = rich.get("/pilot/routes").text
    assert 'id="decisions-table"' in public and 'id="decisions-packs"' not in public
    # no pack's own decision (or its state of health) on the public page
    for d in rich.report["decisions_sample"]:
        assert d["pack"] not in public
    # means over fewer than three packs are withheld; the box plot only has routes with three packs or more
    groups = Counter((d["year"], d["route"]) for d in rich.report["decisions_sample"])
    rows = re.findall(r"<tr><td>(\d{4})</td><td>([\w-]+)</td><td class=\"num\">(\d+)</td>.*?</tr>", public)
    assert rows and len(rows) == len(groups)
    for year, route, n in rows:
        assert int(n) == groups[(int(year), route)]
        row = next(r for r in public.split("<tr>") if r.startswith(f"<td>{year}</td><td>{route}</td>"))
        assert (row.count("—") == 2) == (int(n) < 3), row
    routes = Counter(d["route"] for d in rich.report["decisions_sample"])
    boxes = figures(public).get("routes-soh", [])
    assert sorted(b["x"][0] for b in boxes) == sorted(r for r, n in routes.items() if n >= 3)
    assert boxes, "this run has routes with three decisions or more"
    admin = rich.get("/pilot/routes", headers=ADMIN).text
    assert 'id="decisions-packs"' in admin
    d = rich.report["decisions_sample"][0]
    assert f'href="/trace/{d["pack"]}"' in admin


@pytest.mark.slow
def test_outflow_findings_for_overseers_only(rich: Any) -> None:
    out = rich.report["outflows"]
    assert out["findings"], "the raised outflow rate should leave findings"
    public = rich.get("/pilot/outflows").text
    assert 'id="findings-restricted"' in public and 'id="findings-table"' not in public
    assert all(f["pack"] not in public for f in out["findings"])
    assert f"{len(out['simulated'])} packs left the loop in the simulation" in public
    admin = rich.get("/pilot/outflows", headers=ADMIN).text
    assert 'id="findings-table"' in admin
    f = out["findings"][0]
    assert f'<a href="/trace/{f["pack"]}">{f["pack"]}</a>' in admin
    assert f["rule"].replace("_", " ") in admin
    # an authority (by its participant token) sees them too; another participant does not
    from batteryloop.sim import pilot

    tokens = rich.report["_tokens"]
    authority = {"Authorization": f"Bearer {tokens[pilot.AUTHORITY]}"}
    assert 'id="findings-table"' in rich.get("/pilot/outflows", headers=authority).text
    recycler = {"Authorization": f"Bearer {tokens[pilot.RECYCLER_EU]}"}
    assert 'id="findings-table"' not in rich.get("/pilot/outflows", headers=recycler).text
    # the override of the outflow rate shows among the references
    assert "overridden" in public


def test_dataspace_null_says_so(small: Any) -> None:
    html = small.get("/pilot/dataspace").text
    assert 'id="no-dataspace"' in html and "no data space" in html


def test_missing_sections_say_not_in_this_run(tmp_path: Path, small: Any) -> None:
    """A report without most sections (an older run, or keys renamed) still renders every page."""
    from batteryloop.sim.loop import PilotConfig
    from batteryloop.sim.report import save_report

    for c in _client(tmp_path):
        rep = {k: v for k, v in copy.deepcopy(small.report).items() if k in ("summary", "config", "references")}
        rep["summary"] = {"packs": 60}
        save_report(c.store, PilotConfig(packs=60, years=4, dataspace=False), rep)
        for path in PAGES:
            r = c.get(path)
            assert r.status_code == 200, (path, r.text[:2000])
            assert not figures(r.text) or path == "/pilot"
            if path not in ("/pilot", "/pilot/dataspace"):
                assert "not in this run" in r.text, path


def test_dataspace_snapshot_is_rendered(tmp_path: Path, small: Any) -> None:
    """When the run has a data space, its nodes, credentials, agreements, contracts and transfers are tables."""
    from batteryloop.sim.loop import PilotConfig
    from batteryloop.sim.report import save_report

    for c in _client(tmp_path):
        rep = copy.deepcopy(small.report)
        rep.pop("_tokens", None)
        rep["dataspace"] = {
            "nodes": [{"name": "automaker", "space": "Catena-X", "did": "did:web:automaker.example", "url": "http://127.0.0.1:1/dsp"},
                      {"name": "cell maker JP", "space": "Ouranos", "did": "did:web:cell.example", "url": "http://127.0.0.1:2/dsp"}],
            "credentials": [{"holder": "automaker", "type": "MembershipCredential", "issuer": "did:web:issuer.example"}],
            "recognition_agreements": [{"from": "Catena-X", "to": "Ouranos", "scope": ["MembershipCredential"]}],
            "contracts": [{"agreement_id": "a1", "asset": "cfp", "provider": "cell maker JP", "consumer": "automaker"}],
            "transfers": [{"transfer_id": "t1", "asset": "cfp", "state": "COMPLETED"},
                          {"transfer_id": "t2", "asset": "passport", "state": "COMPLETED"}],
            "bridge": {"ok": True, "model_id": "EM-NCA-75"},
        }
        save_report(c.store, PilotConfig(packs=60, years=4, dataspace=False), rep)
        html = c.get("/pilot/dataspace").text
        for part in ("nodes", "credentials", "recognition_agreements", "contracts", "transfers", "bridge"):
            assert f'id="ds-table-{part}"' in html, part
        assert "did:web:automaker.example" in html and "Ouranos" in html
        figs = figures(html)
        assert figs["dataspace-transfers"][0]["y"] == [1, 1]
