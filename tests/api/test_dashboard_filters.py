"""The shared dashboard machinery as pure functions: how filters cut a pilot report (rows by year, model, region;
mappings keyed by model ids or regions; which dimensions each part could apply), how a filter is read from the
query and the cookie, and how a page's data tables are read (nested and layout tables, captions, scripts)."""

from __future__ import annotations

from batteryloop.web.downloads import cell_value, parse_tables
from batteryloop.web.filters import Tracked, filter_report, read

REPORT = {
    "models": [{"model_id": "M1"}, {"model_id": "M2"}],
    "summary": {"packs": 10},
    "cash_flows": [{"year": 2024, "usd": 1}, {"year": 2025, "usd": 2}],
    "decisions_sample": [{"year": 2025, "model": "M1", "region": "EU"}, {"year": 2025, "model": "M2", "region": "KR"}],
    "footprint": {"M1": {"total": 1}, "M2": {"total": 2}},
    "soh_by_year": [{"year": 2025, "models": {"M1": {"n": 3}, "M2": {"n": 4}}}],
    "second_life_by_year": [{"year": 2025, "EU": {"packs": 1}, "KR": {"packs": 2}}],
}


def test_rows_and_keyed_mappings_are_cut_and_the_dimensions_named() -> None:
    cut, applied = filter_report(REPORT, {"year": "2025", "model": "M1", "region": "EU"})
    assert cut["cash_flows"] == [{"year": 2025, "usd": 2}]
    assert cut["decisions_sample"] == [{"year": 2025, "model": "M1", "region": "EU"}]
    assert cut["footprint"] == {"M1": {"total": 1}}
    assert cut["soh_by_year"] == [{"year": 2025, "models": {"M1": {"n": 3}}}]
    assert cut["second_life_by_year"] == [{"year": 2025, "EU": {"packs": 1}}]
    assert cut["summary"] == {"packs": 10} and cut["models"] == REPORT["models"]  # nothing to cut: kept whole
    assert applied == {"cash_flows": {"year"}, "decisions_sample": {"year", "model", "region"}, "footprint": {"model"},
                       "soh_by_year": {"year", "model"}, "second_life_by_year": {"year", "region"}}
    assert REPORT["cash_flows"][0] == {"year": 2024, "usd": 1}  # the report itself is left as it was


def test_a_builder_applies_the_dimensions_of_the_parts_it_read() -> None:
    cut, applied = filter_report(REPORT, {"model": "M2"})
    t = Tracked(cut)
    t.get("footprint")
    _ = t["summary"]
    assert t.read == {"footprint", "summary"}
    assert set().union(*(applied.get(k, set()) for k in t.read)) == {"model"}


def test_query_over_cookie_empty_clears_and_a_bad_value_is_named() -> None:
    f, write = read([("model", "M2")], "year%3D2024%26model%3DM1")
    assert f.values == {"year": "2024", "model": "M2"} and write
    f, write = read([], "year%3D2024")
    assert f.values == {"year": "2024"} and not write
    f, _ = read([("year", "")], "year%3D2024%26region%3DEU")
    assert f.values == {"region": "EU"}
    f, _ = read([("year", "20x4"), ("plant", "p" * 101)], None)
    assert f.values == {} and len(f.errors) == 2  # in the order of the dimensions: region, model, plant, year
    assert f.errors[0].startswith("plant: at most 100 characters") and "year '20x4' is not a year" in f.errors[1]
    f, _ = read([("colour", "red")], "colour%3Dblue")  # not a dimension: ignored
    assert f.values == {}


def test_data_tables_are_read_as_the_reader_sees_them() -> None:
    html = """<table class="fields"><tr><td>layout</td></tr></table>
    <table class="grid" id="t1"><caption>The <b>caption</b></caption>
      <thead><tr><th>A</th><th>B</th></tr><tr><th>second header row</th></tr></thead>
      <tbody><tr><td>x<br>y</td><td><table class="nested"><tr><td>in</td><td>side</td></tr></table></td></tr>
      <tr><td>1,234.5</td><td>  12 %\n</td></tr></tbody><tfoot><tr><th>All</th><td>9</td></tr></tfoot></table>
    <script>var t = "<table class='grid'><tr><td>no</td></tr></table>";</script>
    <table class="grid scroll"><tr><td>no thead</td></tr></table>"""
    t1, t2 = parse_tables(html)
    assert (t1.key, t1.caption, t1.header) == ("t1", "The caption", ["A", "B"])
    # the first header row is the header; every other row follows in page order (a second header row too)
    assert t1.rows == [["second header row"], ["x y", "inside"], ["1,234.5", "12 %"], ["All", "9"]]
    assert (t2.key, t2.header, t2.rows) == ("grid-1", [], [["no thead"]])


def test_workbook_cells() -> None:
    assert cell_value("1,234") == 1234 and cell_value("1,234.5") == 1234.5 and cell_value("−3") == -3
    assert cell_value("12 %") == "12 %" and cell_value("—") == "—" and cell_value("2025") == 2025
    assert cell_value("1,23") == "1,23" and cell_value("EM-LFP-60") == "EM-LFP-60"
