"""The dashboard's shared machinery on a real pilot run: every data table of every page downloads as CSV and as
Excel holding the rows the page showed (the page's HTML read independently with lxml), a filter set on one page
is applied on the next (and pages that cannot apply it say so), the per-pack drill-down, and the zero-carbon
page showing the ledger of the run's hub parks."""

from __future__ import annotations

import copy
import csv
import io
import re
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import make_services

ADMIN = "admin-secret-token"
PAGES = ["/", "/pilot", "/pilot/health", "/pilot/materials", "/pilot/footprint", "/pilot/routes", "/pilot/baas",
         "/pilot/outflows", "/pilot/economics", "/alerts", "/zero-carbon", "/circular/economics"]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A 60-pack, 4-year pilot; an alert rule evaluated (so /alerts has rows); and a second report made the latest,
    the same run with hub park figures for two years in the EU and one in Korea (for /zero-carbon)."""
    from fastapi.testclient import TestClient

    from batteryloop.access import Caller
    from batteryloop.server import create_app
    from batteryloop.sim.loop import PilotConfig, run_pilot
    from batteryloop.sim.report import latest_report, save_report
    from batteryloop.store.db import Store

    tmp = tmp_path_factory.mktemp("dash")
    store = Store(f"sqlite:///{tmp}/dash.db")
    store.upgrade()
    svc = make_services(store)
    cfg = PilotConfig(packs=60, years=4, dataspace=False)
    run_pilot(svc, cfg)
    svc.alerts.create_rule(Caller(is_admin=True), {"name": "weak", "kind": "soh_below", "params": {"threshold_pct": 99},
                                                   "channel": "email", "target": "ops@example.org"})
    svc.alerts.evaluate(Caller(is_admin=True))
    rep = copy.deepcopy(latest_report(store))
    y0 = rep["summary"]["start_year"]
    park = {"consumption_kwh": 1000.0, "pv_kwh": 600.0, "import_kwh": 500.0, "export_kwh": 20.0,
            "import_without_storage_kwh": 560.0, "storage_discharge_kwh": 80.0}
    for row in rep["second_life_by_year"]:
        y = row["year"]
        if y >= y0 + 2:
            row["EU"]["park"] = {"country": "NL", **park, "import_kwh": 500.0 - 10 * (y - y0)}
        if y == y0 + 3:
            row["KR"]["park"] = {"country": "KR", **park}
    save_report(store, cfg, rep)
    with TestClient(create_app(services=svc)) as c:
        c.cookies.set("batteryloop_token", ADMIN)
        c.y0 = y0  # type: ignore[attr-defined]
        c.models = sorted(m["model_id"] for m in rep["models"])  # type: ignore[attr-defined]
        yield c
    store.dispose()


# ------------------------------------------------------------------------------------ downloads
def html_tables(html: str) -> list[tuple[str, list[list[str]]]]:
    """(key, rows: every row of its head, body and foot in page order) of each data table (``table.grid`` not inside another
    table), read with lxml — not with the code under test; a line break reads as a space, as a reader sees it."""
    import lxml.html

    doc = lxml.html.fromstring(re.sub(r"<br\s*/?>", " ", html))
    out = []
    grids = [t for t in doc.iter("table") if "grid" in (t.get("class") or "").split()
             and not any(a.tag == "table" for a in t.iterancestors())]
    for n, t in enumerate(grids):
        rows = []
        for sec in [x for x in t if x.tag in ("thead", "tbody", "tfoot")] or [t]:
            for tr in sec.findall("tr"):
                cells = [" ".join(c.text_content().split()) for c in tr if c.tag in ("th", "td")]
                if cells:
                    rows.append(cells)
        out.append((t.get("id") or f"grid-{n}", rows))
    return out


def _same(xlsx_value: Any, text: str) -> bool:
    if xlsx_value is None:
        return text == ""
    if isinstance(xlsx_value, (int, float)):
        return abs(float(text.replace(",", "")) - xlsx_value) < 1e-9
    return str(xlsx_value) == text


def test_every_table_downloads_as_csv_and_xlsx_with_the_pages_rows(site: Any) -> None:
    from openpyxl import load_workbook

    checked = {}
    for path in PAGES:
        page = site.get(path)
        assert page.status_code == 200, path
        tables = html_tables(page.text)
        assert tables, f"{path} shows no data table"
        for i, (key, rows) in enumerate(tables):
            sep = "&" if "?" in path else "?"
            got = site.get(f"{path}{sep}format=csv&table={key}")
            assert got.status_code == 200, (path, key, got.text[:200])
            assert got.headers["content-type"].startswith("text/csv")
            assert "attachment" in got.headers["content-disposition"]
            assert list(csv.reader(io.StringIO(got.content.decode("utf-8")))) == rows, (path, key)
            checked[(path, key)] = len(rows)
            if i:  # the workbook of each page's first table (each download renders the page again)
                continue
            xl = site.get(f"{path}{sep}format=xlsx&table={key}")
            assert xl.status_code == 200 and xl.content[:2] == b"PK"
            ws = load_workbook(io.BytesIO(xl.content)).active
            sheet = [list(r) for r in ws.iter_rows(values_only=True)]
            assert len(sheet) == len(rows), (path, key)
            for srow, hrow in zip(sheet, rows, strict=True):
                assert all(_same(v, t) for v, t in zip(srow, hrow + [""] * (len(srow) - len(hrow)), strict=True)), \
                    (path, key, srow, hrow)
    assert len(checked) >= 25
    # numbers are numbers in the workbook: the overview's net cash per participant type
    ws = load_workbook(io.BytesIO(site.get("/pilot?format=xlsx&table=cash-table").content)).active
    assert all(isinstance(r[1], (int, float)) for r in ws.iter_rows(min_row=2, values_only=True))


def test_a_download_is_cut_to_what_the_reader_was_shown(site: Any) -> None:
    site.cookies.delete("batteryloop_token")
    try:
        # the per-pack route decisions are an overseer's: an anonymous reader's page has no such table
        r = site.get("/pilot/routes?format=csv&table=decisions-packs")
        assert r.status_code == 404 and "decisions-packs" in r.json()["detail"]
        assert site.get("/alerts?format=csv&table=alerts-table").status_code == 404
    finally:
        site.cookies.set("batteryloop_token", ADMIN)
    assert site.get("/pilot?format=csv&table=nope").json()["detail"].startswith("this page has no data table 'nope'")
    assert site.get("/pilot?format=pdf&table=cash-table").headers["content-type"].startswith("text/html")


# ------------------------------------------------------------------------------------ filters
def _packs_models(html: str) -> set[str]:
    [(_, rows)] = [t for t in html_tables(html) if t[0] == "grid-1"]  # the registry's packs table
    return {r[1] for r in rows[1:]}


def test_a_filter_set_on_one_page_is_applied_on_the_next(site: Any) -> None:
    a, b = site.models[0], site.models[1]
    site.get("/?region=&model=&plant=&year=")
    assert len(_packs_models(site.get("/").text)) > 1
    r = site.get(f"/pilot/health?model={a}")
    assert 'data-applied="model"' in r.text and "batteryloop_filters=" in r.headers["set-cookie"]
    groups = {row[1] for row in dict(html_tables(r.text))["soh-table"][1:]}
    assert any(a in g for g in groups) and not any(b in g for g in groups)  # by model: the one model left
    # the next page, with nothing in its query: the registry lists that model's packs only
    home = site.get("/")
    assert _packs_models(home.text) == {a} and 'data-applied="model"' in home.text
    # a page whose data have no model says it cannot apply it
    trace = site.get("/trace")
    assert 'data-not-applied="model"' in trace.text and "cannot apply" in trace.text
    # the year joins it; the economics page cuts its years; a download of it carries the same filters
    y = site.y0 + 1
    site.get(f"/pilot/routes?year={y}")
    econ = site.get("/pilot/economics")
    assert dict(html_tables(econ.text))["year-table"][0][1:] == [str(y)]  # one column: the year's
    csv_rows = list(csv.reader(io.StringIO(site.get("/pilot/economics?format=csv&table=year-table").text)))
    assert csv_rows[0][1:] == [str(y)]
    # a bad year is named and ignored; clearing removes every filter
    bad = site.get("/?year=nineteen")
    assert "year &#39;nineteen&#39; is not a year" in bad.text  # named (HTML-escaped quotes)
    site.get("/?region=&model=&plant=&year=")
    assert len(_packs_models(site.get("/").text)) > 1 and "data-applied" not in site.get("/").text


def test_zero_carbon_page_shows_the_parks_ledger_and_applies_region_and_year(site: Any) -> None:
    from batteryloop.hubs.ledger import zero_carbon_ledger

    site.get("/?region=&model=&plant=&year=")
    page = site.get("/zero-carbon")
    t = dict(html_tables(page.text))
    eu = t["zero-carbon-EU"]
    y0 = site.y0
    assert [r[0] for r in eu[1:]] == [str(y0 + 2), str(y0 + 3), "All years"]
    led = zero_carbon_ledger([{"year": y0 + 2, "consumption_kwh": 1000, "pv_kwh": 600, "import_kwh": 480,
                               "export_kwh": 20, "import_without_storage_kwh": 560, "storage_discharge_kwh": 80}], "NL")
    f = led["grid_kgco2e_per_kwh"]
    # year 2: import 480 kWh → share 52.0 %, grid 480 f, avoided (560 − 480) f
    assert eu[1][6] == "52.0" and eu[1][7] == f"{480 * f:,.0f}" and eu[1][8] == f"{80 * f:,.0f}"
    assert "zero-carbon-KR" in t and 'id="ledger-EU"' in page.text
    only = dict(html_tables(site.get(f"/zero-carbon?region=KR&year={y0 + 3}").text))
    assert list(only) == ["zero-carbon-KR"] and [r[0] for r in only["zero-carbon-KR"][1:]] == [str(y0 + 3), "All years"]
    site.get("/?region=&model=&plant=&year=")


def test_drill_down_points_open_each_pack(site: Any) -> None:
    html = site.get("/").text
    m = re.search(r'Plotly\.newPlot\("pack-points", (.*?),\n', html)
    assert m, "the registry draws its listed packs"
    import json

    traces = json.loads(m.group(1))
    paths = [cd[0] for tr in traces for cd in tr["customdata"]]
    listed = {r[0] for r in dict(html_tables(html))["grid-1"][1:]}
    assert paths and {p.removeprefix("/p/") for p in paths} <= listed
    assert all(p.startswith("/p/") for p in paths)
    assert "plotly_click" in html  # the click handler that follows a point's path
    pack = site.get(paths[0])
    assert pack.status_code == 200 and 'id="trace-link"' in pack.text
