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

from batteryloop.sim import pilot
from tests.conftest import make_services

PAGES = ["/pilot", "/pilot/health", "/pilot/materials", "/pilot/footprint", "/pilot/routes", "/pilot/baas", "/pilot/lanzhou",
         "/pilot/outflows", "/pilot/dataspace", "/pilot/economics", "/pilot/residual-value"]
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

    from batteryloop.server import create_app
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
    reference override (so that packs leave the loop and the outflow report finds them), and second life made
    cheap — no balance of system, a fifth of the reference fade — so that the route decision repurposes packs
    and the hubs run (at the reference figures a 300-pack pilot may repurpose none: docs/circular.md)."""
    from batteryloop.reference import References
    from batteryloop.sim.loop import PilotConfig

    refs = References.default().override({
        "batteryloop_assumptions": {"pilot": {"illegal_outflow_fraction": 0.5}},
        "stationary_storage_costs": {"second_life_bos_usd_per_kwh": 0.0},
        "second_life_degradation": {"fade_per_fec_at_ref_fraction": {"NMC": 2e-5, "NCA": 2.4e-5, "LFP": 8e-6}}})
    yield from _client(tmp_path_factory.mktemp("pilot-rich"), PilotConfig(packs=300, years=10, seed=42, dataspace=False),
                       references=refs)


@pytest.fixture(scope="module")
def with_ds(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A short pilot WITH the data space (five connector nodes on loopback, about 5 s): the bridge and a
    passport pull, so that /pilot/dataspace renders a real snapshot."""
    from batteryloop.sim.loop import PilotConfig

    yield from _client(tmp_path_factory.mktemp("pilot-ds"), PilotConfig(packs=80, years=3, dataspace=True))


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
    "/pilot/residual-value": set(),  # no pack retires in four years
    "/pilot/lanzhou": {"lz-swaps", "lz-soh"},
}
RICH_CHARTS = {
    **SMALL_CHARTS,
    "/pilot/health": {"health-models", "health-usages", "health-second-life"},
    "/pilot/materials": SMALL_CHARTS["/pilot/materials"] | {"materials-recovered"},
    "/pilot/routes": {"routes-by-year", "routes-economics", "routes-soh"},
    "/pilot/outflows": {"outflows-rules", "outflows-simulated"},
    "/pilot/baas": {"baas-fleet", "baas-money", "baas-station"},
    "/pilot/residual-value": {"residual-by-grade"},
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


def test_health_by_cohort_follows_the_packs_of_a_build_year(small: Any) -> None:
    """A fleet mean mixes new packs with old: the cohort chart splits the packs in vehicles by build year. Each
    year's cohorts together are the packs in vehicles (fleet_by_year counts them separately), and their
    pack-weighted mean is the fleet's (the per-model means weighted the same way)."""
    figs = figures(small.get("/pilot/health").text)
    assert figs["health-cohorts"]
    for row, fleet in zip(small.report["soh_by_year"], small.report["fleet_by_year"], strict=True):
        co, mo = row["cohorts"], row["models"]
        assert sum(v["n"] for v in co.values()) == fleet["in vehicles"] == sum(v["n"] for v in mo.values())
        assert all(v["age_years"] == row["year"] - int(b) for b, v in co.items())
        if co:
            w = sum(v["n"] * v["mean"] for v in co.values()) / sum(v["n"] for v in co.values())
            assert w == pytest.approx(sum(v["n"] * v["mean"] for v in mo.values()) / sum(v["n"] for v in mo.values()),
                                      abs=0.01)
    first = figs["health-cohorts"][0]
    assert first["name"] == f"built {small.report['years'][0]}" and first["x"][0] == 0


def test_footprint_stacks_the_passport_stages(small: Any) -> None:
    figs = figures(small.get("/pilot/footprint").text)
    fp = small.report["footprint"]
    bars = [t for t in figs["footprint-stages"] if t["type"] == "bar"]
    assert len(bars) == 4
    raw = next(t for t in bars if t["name"] == "raw material acquisition")
    assert raw["y"] == [fp[m]["raw_material_kgco2e_per_kwh"] for m in raw["x"]]
    # the text says what the method did: the pilot's footprints subtract no recycling credit, so no stage is
    # negative and the page must not say it can be
    assert all(v["end_of_life_kgco2e_per_kwh"] >= 0 for v in fp.values())
    text = " ".join(small.get("/pilot/footprint").text.split())
    assert "credit for recovered material is not subtracted" in text and "can be negative" not in text


def test_footprint_page_lists_every_reference_value_its_stages_used(small: Any) -> None:
    """The page says "Reference values this page's figures used": it listed 14 (GREET factors, cycles a year)
    and left out the grid factor of each cell maker's country — the figure that makes EM-NMC811-82's main
    production 682.1445 kWh × 0.43 (KR) — the IPCC heat factor, BatPaC's masses, distribution and the end of
    life's inputs. Each of those is now listed (the run's own values)."""
    from batteryloop.web.pilot.pages import references_for

    keys = {(r["set"], r["key"]) for r in references_for(small.report, "footprint")}
    run_keys = {(r["set"], r["key"]) for r in small.report["references"]}
    for want in [("grid_factors", "kgco2e_per_kwh.KR"), ("grid_factors", "kgco2e_per_kwh.CN"),
                 ("ipcc_2006", "combustion_kgco2_per_mj.natural_gas"), ("batpac_5", "kg_per_kwh_cell.NMC811.cell_mass"),
                 ("batteryloop_assumptions", "distribution.truck_kgco2e_per_tkm"),
                 ("batteryloop_assumptions", "process_input_kgco2e.NaOH_per_kg"),
                 ("everbatt_2023", "process_inputs_per_kg_spent_battery.hydro.H2SO4_kg"),
                 ("greet_everbatt_ghg", "material_kgco2e_per_kg.NMC811")]:
        assert want in run_keys and want in keys, want
    # and nothing the footprint did not use: no route economics, no second-life figures, no prices
    assert not any(k.startswith("route.") or "price" in k for _, k in keys)


def test_the_pages_list_the_end_of_second_life_by_its_one_key(small: Any) -> None:
    """The end of second life is one key, ``batteryloop_assumptions.second_life_end_soh_fraction``, read by the
    pilot's retirements, the route decision and the hubs (the pilot once read ``pilot.second_life_end_soh_pct``):
    the pages whose figures rest on it list it (the health page listed only the pilot's old key)."""
    from batteryloop.web.pilot.pages import references_for

    key = ("batteryloop_assumptions", "second_life_end_soh_fraction")
    assert key in {(r["set"], r["key"]) for r in small.report["references"]}
    for section in ("health", "routes", "economics", "residual", "lanzhou"):
        assert key in {(r["set"], r["key"]) for r in references_for(small.report, section)}, section


def test_every_page_scope_names_reference_values_that_exist() -> None:
    """A scope naming a key that moved or went away lists nothing, silently: each (set, key prefix) of a page names
    at least one value of the default reference data."""
    from batteryloop.reference import References
    from batteryloop.web.pilot.pages import REFERENCE_SCOPES

    refs = References.default()
    for section, scope in REFERENCE_SCOPES.items():
        for set_name, prefix in scope:
            if not set_name:  # any set: matched on the key alone, footprint inputs included
                continue
            keys = [k for n in refs.names() if n.startswith(set_name) for k, _ in refs.set(n).leaves()]
            assert keys and any(k.startswith(prefix) for k in keys), (section, set_name, prefix)


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
    from batteryloop.web.pilot.routes import route_label

    rows = re.findall(r"<tr><td>(\d{4})</td><td>([^<]+)</td><td class=\"num\">(\d+)</td>.*?</tr>", public)
    assert rows
    for year, route, n in rows:
        row = next(r for r in public.split("<tr>") if r.startswith(f"<td>{year}</td><td>{route}</td>"))
        assert (row.count("—") == 2) == (int(n) < 3), row
    # every decision is counted, not a sample: the table's packs per year are the year's route counts, which the
    # simulator tallied on its own (routes_by_year), and they add up to the summary's decisions
    per_year = Counter()
    for year, _, n in rows:
        per_year[int(year)] += int(n)
    assert per_year == {r["year"]: sum(v for k, v in r.items() if k != "year") for r in rich.report["routes_by_year"]
                        if sum(v for k, v in r.items() if k != "year")}
    assert sum(per_year.values()) == rich.report["summary"]["route_decisions"]
    assert f"All {rich.report['summary']['route_decisions']} decisions" in " ".join(public.split())
    routes = Counter({route_label(r): q["n"] for r, q in rich.report["decision_groups"]["soh_by_route"].items()})
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
    assert f["kind"].replace("_", " ") in admin
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


def _text(html: str) -> str:
    """The page's text, tags dropped and white space collapsed (for sentences that span markup)."""
    import html as html_

    return re.sub(r"\s+", " ", html_.unescape(re.sub(r"<[^>]+>", " ", html))).strip()


def test_dataspace_page_tells_the_real_snapshot(with_ds: Any) -> None:
    """/pilot/dataspace on a real run: one card per data space with its nodes (organisation, role, participant id,
    shortened DID with the full value at hand, credentials with their issuers' names), the recognition agreements
    as sentences, the bridge as steps with its figures, a chart of the transfers between nodes and the passport
    pulls linked to the passport and its trace."""
    ds = with_ds.report["dataspace"]
    names = with_ds.report["names"]
    # the whole snapshot is for the authorities (and each contract for its two parties: the next test)
    r = with_ds.get("/pilot/dataspace", headers={"Authorization": f"Bearer {with_ds.report['_tokens'][pilot.AUTHORITY]}"})
    assert r.status_code == 200, r.text[:2000]
    html, text = r.text, _text(r.text)
    # the generic dict-to-table rendering is gone
    assert 'id="ds-table-nodes"' not in html and 'id="ds-table-bridge"' not in html
    by_did = {n["did"]: n for n in ds["nodes"]}
    spaces = {n["space"] for n in ds["nodes"]}
    assert spaces == {"catena-x", "ouranos"}
    for sp in spaces:
        card = html.split(f'id="space-{sp}"', 1)[1].split("</section>", 1)[0]
        for n in (n for n in ds["nodes"] if n["space"] == sp):
            assert f'id="node-{n["name"]}"' in card, n["name"]
            node = card.split(f'id="node-{n["name"]}"', 1)[1].split("</li>", 1)[0]
            assert n["participant_id"] in node
            if n["participant_id"] in names:
                assert names[n["participant_id"]] in node
            # the DID: shown (shortened if long) with the full value in a title and in the folded identifiers
            assert f'title="{n["did"]}"' in node and n["did"] in node.split("<details>", 1)[1]
            for cr in n["credentials"]:
                issuer = by_did.get(cr["issuer"])
                assert issuer is not None, "the demo's credentials are issued by its own issuers"
                label = {"cx-issuer": "Catena-X issuer", "ou-issuer": "Ouranos issuer"}[issuer["name"]]
                assert f"by {label}</small>" in node, (n["name"], cr)
                assert cr["id"] in node  # the credential's id, in its tag's title and the folded identifiers
    # recognition agreements as sentences
    assert "Catena-X accepts Membership and Certification credentials issued in Ouranos" in text
    for a in ds["agreements"]:
        assert f"<code>{a['id']}</code>" in html
    # the bridge, step by step, with its figures
    b = ds["bridge"]
    steps = _text(html.split('id="bridge-steps"', 1)[1].split("</ol>", 1)[0])
    for word in ("Trade request", "aggregated, certified footprint", "Commitment checked", "Certification accepted",
                 "NCA model footprint"):
        assert word in steps, word
    assert names[b["supplier"]] in steps and b["model_id"] in steps
    for v in b["supplier_cfp_kgco2e_per_kwh"].values():
        assert f"{v:,.1f}" in steps
    assert f"{float(b['committed_total']):,.2f}" in steps and "✓ matches" in steps
    assert f'title="{b["agreement_id"]}"' in html and f'title="{b["commitment_root"]}"' in html
    cert = b["certifications"][0]
    assert cert["certificateId"] in steps and cert["ground"].removeprefix("agreement:") in steps
    assert "Ouranos issuer (Ouranos)" in steps
    assert f"{b['pack_carbon_footprint']['total_kgco2e_per_kwh']:.4f} kg CO₂e per kWh" in steps
    assert b["kept_confidential"] in text and 'id="kept-confidential"' in html
    # the chart of completed transfers between nodes: names resolved from the DIDs, one link per pair and dataset
    figs = figures(html)
    sankey = figs["dataspace-flows"][0]
    assert sankey["type"] == "sankey"
    labels = sankey["node"]["label"]
    assert not any(lb.startswith("did:") for lb in labels)
    automaker = next(n for n in ds["nodes"] if n["name"] == "automaker")
    cellmaker = next(n for n in ds["nodes"] if n["name"] == "cellmaker")
    src = labels.index(f"{names[cellmaker['participant_id']]} (Japanese cell maker)")
    dst = labels.index(f"{names[automaker['participant_id']]} (automaker)")
    links = list(zip(sankey["link"]["source"], sankey["link"]["target"], sankey["link"]["value"], sankey["link"]["label"],
                     strict=True))
    assert (src, dst, 1, "cell carbon footprint") in links
    # every completed transfer is counted once (both connectors record it)
    provider_side = sum(1 for n in ds["nodes"] for t in n["transfers"]
                        if t["role"] == "provider" and t["state"] == "COMPLETED")
    assert sum(sankey["link"]["value"]) == provider_side
    pairs = {t["name"]: t for t in figs["dataspace-pairs"]}
    assert sum(pairs["transfers completed"]["x"]) == provider_side
    # the passport pulls, linked to the passport and its trace
    assert ds["passport_pulls"], "a 3-year run with 80 packs retires a pack in the EU"
    table = html.split('id="pulls-table"', 1)[1].split("</table>", 1)[0]
    for p in ds["passport_pulls"]:
        assert f'href="/p/{p["passport_id"]}"' in table and f'href="/trace/{p["pack"]}"' in table
        assert f'title="{p["agreement_id"]}"' in table
        assert p["negotiation_state"].lower() in table and p["transfer_state"].lower() in table
        assert ", ".join(t.replace("_", " ") for t in p["tiers"]) in table
    years = [int(y) for y in re.findall(r"<tr><td>(\d{4})</td>", table)]
    assert years == sorted(years)
    # the pulled passport resolves on this node
    p = ds["passport_pulls"][0]
    assert with_ds.get(f"/p/{p['passport_id']}").status_code == 200
    # the footprint page points at the bridge for the NCA model
    assert 'href="/pilot/dataspace#bridge"' in with_ds.get("/pilot/footprint").text


def test_dataspace_page_copes_with_partial_and_unknown_parts(tmp_path: Path, small: Any) -> None:
    """A snapshot with only some parts (and a part the page does not know) renders: missing parts say so,
    unknown parts fall back to a table, long ids are shortened with the full value in a title."""
    from batteryloop.sim.loop import PilotConfig
    from batteryloop.sim.report import save_report

    long_did = "did:web:connector.automaker.example.com%3A8443:participants:BPNL000000000EM1"
    for c in _client(tmp_path):
        rep = copy.deepcopy(small.report)
        rep.pop("_tokens", None)
        rep["dataspace"] = {
            "nodes": [{"name": "automaker", "space": "catena-x", "participant_id": "BPNL000000000EM1", "did": long_did,
                       "url": "http://127.0.0.1:1", "credentials": [{"type": "unverifiable", "error": "expired"}],
                       "negotiations": [], "transfers": []}],
            "agreements": [], "bridge": None, "passport_pulls": [],
            "audit": [{"at": "2025-01-01", "what": "started"}],
        }
        save_report(c.store, PilotConfig(packs=60, years=4, dataspace=False), rep)
        r = c.get("/pilot/dataspace")
        assert r.status_code == 200, r.text[:2000]
        html = r.text
        assert 'id="space-catena-x"' in html and "EuroMotors AG" in html
        assert f'title="{long_did}"' in html and f">{long_did}<" not in html.split("<details>", 1)[0]
        assert "unverifiable" in html and "expired" in html
        assert "Recognition agreements: not in this run." in html and "The bridge: not in this run." in html
        assert "No passport was pulled in this run" in html
        assert 'id="ds-table-audit"' in html and "started" in html
        assert not figures(html)


def test_dataspace_page_shows_a_contract_to_its_parties_only(with_ds: Any) -> None:
    """Who exchanged what with whom is custody and sourcing information: an anonymous visitor or a third company
    sees the nodes, credentials and agreements, and counts — not the supplier behind the automaker's cells, not
    which recycler pulled which pack under which agreement; each party sees its own contracts."""
    ds = with_ds.report["dataspace"]
    tokens = with_ds.report["_tokens"]
    names = with_ds.report["names"]
    supplier = names[ds["bridge"]["supplier"]]
    pull = ds["passport_pulls"][0]
    for headers in ({}, {"Authorization": f"Bearer {tokens[pilot.SECOND_LIFE_EU]}"}):
        html = with_ds.get("/pilot/dataspace", headers=headers).text
        assert 'id="contracts-table"' not in html and 'id="pulls-table"' not in html and 'id="bridge-steps"' not in html
        assert pull["pack"] not in html and pull["agreement_id"] not in html and "dataspace-flows" not in html
        assert supplier not in html.split('id="bridge"', 1)[1]  # the node list may name the company; not as supplier
        assert 'id="contracts-withheld"' in html and 'id="pulls-withheld"' in html and 'id="bridge-withheld"' in html
        assert f"{len(ds['passport_pulls'])} passport" in _text(html.split('id="pulls-withheld"', 1)[1])
    # the recycler sees the pulls it made, and its own contracts only
    html = with_ds.get("/pilot/dataspace", headers={"Authorization": f"Bearer {tokens[pilot.RECYCLER_EU]}"}).text
    assert pull["pack"] in html and 'id="pulls-table"' in html and 'id="bridge-steps"' not in html
    table = html.split('id="contracts-table"', 1)[1].split("</table>", 1)[0]
    assert supplier not in table and "cell carbon footprint" not in table
    # the automaker sees the bridge with its supplier
    html = with_ds.get("/pilot/dataspace", headers={"Authorization": f"Bearer {tokens[pilot.AUTOMAKER]}"}).text
    assert 'id="bridge-steps"' in html and supplier in html.split('id="bridge-steps"', 1)[1]


def test_current_report_keys_are_read(tmp_path: Path, small: Any) -> None:
    """The pages read the report's current keys: swap-station KPIs per year in USD, the second-life hubs'
    storage net value / whole-hub cash / solar, recycled content of the first and last year."""
    from batteryloop.sim.loop import PilotConfig
    from batteryloop.sim.report import save_report

    for c in _client(tmp_path):
        rep = copy.deepcopy(small.report)
        rep.pop("_tokens", None)
        year = rep["baas_by_year"][-1]["year"]
        rep["baas_by_year"][-1]["station"] = {
            "stations": 1.2, "swaps_served_per_year": 65318, "service_level_fraction": 0.98,
            "peak_charging_share_fraction": 0.83, "energy_charged_kwh_per_year": 3206033.3,
            "swap_revenue_usd_per_year": 692270.64, "gross_margin_usd_per_year": 365936.36}
        rep["second_life_by_year"] = [
            {"year": year - 1, "EU": {"operator": "BPNL000000000SL8", "operator_name": "Rotterdam City Storage BV",
                                      "hub": "Rotterdam hub", "packs": 2, "usable_kwh": 100.0,
                                      "note": "fewer than 4 repurposed packs: no hub string yet"}},
            {"year": year, "EU": {"operator": "BPNL000000000SL8", "operator_name": "Rotterdam City Storage BV",
                                  "hub": "Rotterdam hub", "packs": 44, "usable_kwh": 2350.4, "hub_packs": 40, "strings": 10,
                                  "hub_pv_used_kwh": 543661.5, "hub_net_cash_usd": 373519.89,
                                  "energy_delivered_kwh": 709575.6, "storage_net_value_usd": 51742.23,
                                  "co2_avoided_kg": 366581.3, "lcos_usd_per_kwh": {"second_life": 0.1837, "new": 0.0819},
                                  "cycles_per_year": 303.3, "tariffs": "CNY time-of-use (reference set)"}}]
        save_report(c.store, PilotConfig(packs=60, years=4, dataspace=False), rep)
        html = c.get("/pilot/baas").text
        figs = figures(html)
        money = {t["name"]: t for t in figs["baas-money"]}
        assert money["swap revenue"]["y"][-1] == 692270.64
        assert money["swap stations' gross margin"]["y"][-1] == 365936.36
        fleet = {t["name"]: t for t in figs["baas-fleet"]}
        assert fleet["swaps served by the stations per year (right axis)"]["y"][-1] == 65318
        station = html.split('id="station-table"', 1)[1].split("</table>", 1)[0]
        for v in ("65,318", "98.0 %", "83.0 %", "3,206,033", "692,271", "365,936", "1.20"):
            assert v in station, v
        assert "baas-station" in figs
        html = c.get("/pilot/health").text
        hubs = html.split('id="hubs-table"', 1)[1].split("</table>", 1)[0]
        for v in ("51,742", "373,520", "543,662 kWh", "709,576", "366,581", "0.184 / 0.082", "303", "40 in 10 strings"):
            assert v in hubs, v
        assert f"EU {year - 1} (fewer than 4 repurposed packs: no hub string yet)" in _text(html)
        html = c.get("/pilot").text
        s = rep["summary"]
        model, els = next((m, e) for m, e in s["recycled_content_pct_last_year"].items() if e.get("Li") is not None)
        first = s["recycled_content_pct_first_year"][model]["Li"]
        assert f"{first:.2f} % → <b>{els['Li']:.2f} %</b>" in html


def test_small_groups_are_withheld_on_the_health_page(tmp_path: Path, small: Any) -> None:
    """A state-of-health mean over fewer than three packs would be those packs' own: withheld in the chart and table."""
    from batteryloop.sim.loop import PilotConfig
    from batteryloop.sim.report import save_report

    for c in _client(tmp_path):
        rep = copy.deepcopy(small.report)
        rep.pop("_tokens", None)
        rep["soh_by_year"][-1]["second_life"] = {"n": 2, "mean": 77.7}
        rep["soh_by_year"][-2]["second_life"] = {"n": 5, "mean": 80.1}
        save_report(c.store, PilotConfig(packs=60, years=4, dataspace=False), rep)
        html = c.get("/pilot/health").text
        sl = {t["name"]: t for t in figures(html)["health-second-life"]}
        assert sl["mean state of health (%, left axis)"]["y"] == [80.1]
        assert sl["packs in second life (right axis)"]["y"] == [5, 2]
        assert "77.7" not in html and "withheld" in html


def test_residual_value_page_api_and_csv_agree(rich: Any) -> None:
    """Kia's question (issue 18): the residual value of retired Korean packs by grade and year beside what buyers
    paid — the page's table, the API's JSON and its CSV are the report's table; Korea's rules are listed with
    what REFERENCE.md is silent on."""
    from batteryloop.sim.report import MIN_GROUP, residual_value_of

    whole = residual_value_of(rich.report, "KR")
    want = residual_value_of(rich.report, "KR", min_group=MIN_GROUP)
    assert want["rows"], "the rich pilot retires Korean packs"
    got = rich.get("/api/v1/pilot/residual-value", params={"region": "KR"})
    assert got.status_code == 200 and got.json() == json.loads(json.dumps(want))
    # a row of one or two packs would be those packs' own state of health and price: withheld from the public, the
    # count and kWh kept; the authority reads the whole table
    small = [r for r in got.json()["rows"] if r["packs"] < MIN_GROUP]
    assert small, "the rich pilot has a year and grade with fewer than three Korean packs"
    assert all(r["withheld"] and r["mean_soh_pct"] is None and r["paid_usd"] is None and r["residual_value_usd"] is None
               for r in small)
    assert all("withheld" not in r and r["mean_soh_pct"] is not None for r in got.json()["rows"] if r["packs"] >= MIN_GROUP)
    authority = {"Authorization": f"Bearer {rich.report['_tokens'][pilot.AUTHORITY]}"}
    assert rich.get("/api/v1/pilot/residual-value", params={"region": "KR"}, headers=authority).json() == \
        json.loads(json.dumps(whole))
    one = next(r for r in whole["rows"] if r["packs"] < MIN_GROUP)
    page_text = _text(rich.get("/pilot/residual-value").text)
    assert f"{one['mean_soh_pct']:.1f}" not in page_text.split(f"{one['year']} {one['grade']} {one['packs']} ", 1)[1][:80]
    assert "withheld: fewer than 3 packs" in page_text
    csv_text = rich.get("/api/v1/pilot/residual-value", params={"region": "KR", "format": "csv"})
    assert csv_text.status_code == 200 and csv_text.headers["content-type"].startswith("text/csv")
    lines = csv_text.text.strip().splitlines()
    assert lines[0].split(",")[:3] == ["year", "grade", "packs"] and len(lines) == len(want["rows"]) + 1
    page = rich.get("/pilot/residual-value")
    text = _text(page.text)
    for r in want["rows"]:
        assert f"{r['year']} {r['grade']} {r['packs']} " in text
    assert "REFERENCE.md is silent" in text and "14 Feb 2025" in text
    assert rich.get("/api/v1/pilot/residual-value", params={"region": "XX"}).status_code == 422
    eu = rich.get("/pilot/residual-value", params={"region": "EU"})
    assert eu.status_code == 200 and 'aria-current="page">EU<' in eu.text


def test_the_residual_value_api_and_page_agree_on_who_reads_it_whole(rich: Any) -> None:
    """The residual-value API and the dashboard's pages ask one helper of the policy module whether a caller reads the
    pilot's findings pack by pack (access.pilot_findings_visible): the authority reads the whole table on both, the
    automaker, an unrelated participant (a cell maker) and an anonymous visitor get the small groups withheld on both."""
    from batteryloop.access import ANONYMOUS, Caller, pilot_findings_visible
    from batteryloop.participants import Role

    tokens = rich.report["_tokens"]
    callers = {"authority": (pilot.AUTHORITY, Role.AUTHORITY, True), "automaker": (pilot.AUTOMAKER, Role.MANUFACTURER, False),
               "unrelated": (pilot.CELL_JP, Role.SUPPLIER, False), "anonymous": (None, None, False)}
    for name, (pid, role, whole) in callers.items():
        headers = {"Authorization": f"Bearer {tokens[pid]}"} if pid else {}
        caller = Caller(pid, frozenset({role})) if pid else ANONYMOUS
        assert pilot_findings_visible(caller) is whole, name
        rows = rich.get("/api/v1/pilot/residual-value", params={"region": "KR"}, headers=headers).json()["rows"]
        page = _text(rich.get("/pilot/residual-value", params={"region": "KR"}, headers=headers).text)
        api_withheld = any(r.get("withheld") for r in rows)
        page_withheld = "withheld: fewer than 3 packs" in page
        assert api_withheld is page_withheld is (not whole), (name, api_withheld, page_withheld)


def test_one_helper_decides_who_reads_the_pilots_findings() -> None:
    """The access rule's name is spelt in the policy module alone: no other module (the API, the pages) decides
    ``pilot.findings.read`` itself; they ask access.pilot_findings_visible (or authorize with access.PILOT_FINDINGS)."""
    import ast

    import batteryloop
    from batteryloop.access import PILOT_FINDINGS

    root = Path(batteryloop.__file__).parent
    spelt = []
    for path in sorted(root.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        docs = {id(n.body[0].value) for n in ast.walk(tree)
                if isinstance(n, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and n.body
                and isinstance(n.body[0], ast.Expr) and isinstance(n.body[0].value, ast.Constant)}
        if any(isinstance(n, ast.Constant) and n.value == PILOT_FINDINGS and id(n) not in docs for n in ast.walk(tree)):
            spelt.append(str(path.relative_to(root)))
    assert spelt == ["access.py"], spelt
    for mod in ("api/pilot.py", "web/pilot/residual.py", "web/pilot/routes.py", "web/pilot/outflows.py"):
        assert "pilot_findings_visible(c)" in (root / mod).read_text(encoding="utf-8"), mod


def test_residual_value_page_says_what_buyers_paid_is(rich: Any) -> None:
    """The pilot's "buyers paid" is the route operator's payment to the seller, a fixed share of the booked value
    (batteryloop_assumptions.pilot.seller_share_of_route_value_fraction, 0.4): every row's paid / value is that
    share, e.g. a 2,140 $ payment for a 5,350 $ pack. A buyer reading the column as a market finding is misled
    unless the page says so; it does, with the assumption's name and value."""
    from batteryloop.sim.report import residual_value_of

    share = next(r["value"] for r in rich.report["references"]
                 if r["key"] == "pilot.seller_share_of_route_value_fraction")
    assert share == 0.4
    rows = residual_value_of(rich.report, "all")["rows"]
    assert rows and all(r["paid_usd"] == pytest.approx(share * r["residual_value_usd"], rel=1e-6, abs=0.01)
                        for r in rows if r["residual_value_usd"] > 0)
    text = _text(rich.get("/pilot/residual-value").text)
    assert "pays the seller a fixed 40 % of the value its route decision booked" in text
    assert "seller_share_of_route_value_fraction" in text and "not observed prices" in text


def test_baas_stations_are_station_equivalents(rich: Any) -> None:
    """The pilot scales one simulated station (up to 300 taxis) to the leased fleet: 345 taxis were shown as "1.15"
    under "Stations (one per up to 300 taxis)", which reads as a count of stations built (it would be two). The
    column is the scale factor — 1 up to 300 leased taxis, then taxis ÷ 300 — and the page says so."""
    rows = [r for r in rich.report["baas_by_year"] if (r.get("station") or {}).get("stations") is not None]
    assert rows, "the rich pilot leases enough packs for a station"
    for r in rows:  # the factor: one station up to 300 leased taxis, then the fleet over 300
        assert r["station"]["stations"] == round(r["leased_packs"] / min(r["leased_packs"], 300), 2)
    text = _text(rich.get("/pilot/baas").text)
    assert "Station-equivalents (1 up to 300 leased taxis, then taxis ÷ 300)" in text
    assert "one per up to 300 taxis" not in text


def test_applying_recycled_content_tells_a_repurposer_nothing_of_others_packs(rich: Any) -> None:
    """Review finding: a second-life operator applying a year's balance got every group of the year — the
    automaker's models, plants and pack counts (its volumes) — with ``not_permitted`` counts. Its repurposed
    passports declare no Art. 8 figure (Art. 8(4)), so none of a year's packs is its to write: every year one
    generic refusal (review finding F6), naming no group, passport or operator, the same as for a year without
    packs."""
    tokens = rich.report["_tokens"]
    sl = {"Authorization": f"Bearer {tokens[pilot.SECOND_LIFE_EU]}"}
    details = set()
    for year in [r["year"] for r in rich.report["fleet_by_year"]] + [1990]:
        r = rich.post("/api/v1/trace/recycled-content/apply", params={"year": year}, headers=sl)
        assert r.status_code == 403 and "groups" not in r.text and "BL." not in r.text, r.text
        assert pilot.AUTOMAKER not in r.text
        details.add(r.json()["detail"])
    assert len(details) == 1
