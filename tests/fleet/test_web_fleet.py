"""The dashboard's fleet page on a stored analysis: what each reader sees (the policy's fleet.analysis.read), the
SoH-by-segment table against its own computation from the stored table, the flagged packs with their evidence,
the CSV download of what the page shows, and the drill-down to a pack's telemetry summary."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest
from lxml import html as lhtml

from batteryloop.access import Caller
from batteryloop.errors import Forbidden
from batteryloop.fleet.analysis import THRESHOLDS, analyze_with_summary
from batteryloop.fleet.results import FleetResults
from batteryloop.fleet.simulate import simulate
from batteryloop.participants import Role
from batteryloop.sim import pilot


@pytest.fixture(scope="module")
def analysed(tmp_path_factory: pytest.TempPathFactory) -> tuple[pl.DataFrame, pl.DataFrame]:
    root = tmp_path_factory.mktemp("fleet") / "f"
    simulate(root, vehicles=16, days=3, seed=7, interval_s=300.0, fault_share=0.5, buckets=2)
    return analyze_with_summary(root)


@pytest.fixture
def services(sqlite_store: Any) -> Any:
    """A page test, not a backend test: one store (SQLite, or PostgreSQL under BATTERYLOOP_TEST_STORE)."""
    from tests.conftest import make_services

    return make_services(sqlite_store)


def who(services: Any, pid: str) -> Caller:
    p = next(p for p in pilot.PARTICIPANTS if p["id"] == pid)
    services.participants.create(p)
    return Caller(pid, frozenset(Role(r) for r in p["roles"]))


def rows_of(page: str, table_id: str) -> list[list[str]]:
    t = lhtml.fromstring(page).get_element_by_id(table_id)
    return [[" ".join(c.text_content().split()) for c in tr if c.tag in ("td", "th")] for tr in t.iter("tr")]


def test_the_fleet_page_and_its_drill_down(services: Any, analysed: tuple[pl.DataFrame, pl.DataFrame]) -> None:
    from fastapi.testclient import TestClient

    from batteryloop.server import create_app

    table, summary = analysed
    op = who(services, pilot.AUTOMAKER)
    other = who(services, pilot.BAAS)
    res = FleetResults(services.settings.var_dir / "fleet")
    with pytest.raises(Forbidden):  # a participant stores analyses as itself only
        res.save(table, summary, other, operator=pilot.AUTOMAKER)
    meta = res.save(table, summary, op, source="test")
    assert [m["id"] for m in res.list(op)] == [meta["id"]] and res.list(other) == []
    tok_op = services.participants.issue_token(pilot.AUTOMAKER, "t")
    tok_other = services.participants.issue_token(pilot.BAAS, "t")
    with TestClient(create_app(services=services)) as http:
        assert 'id="fleet-signin"' in http.get("/fleet").text
        assert 'id="fleet-none"' in http.get("/fleet", cookies={"batteryloop_token": tok_other}).text
        denied = http.get(f"/fleet?analysis={meta['id']}", cookies={"batteryloop_token": tok_other})
        assert denied.status_code == 403 and table["pack_id"][0] not in denied.text
        http.cookies.clear()
        page = http.get("/fleet", cookies={"batteryloop_token": tok_op})
        assert page.status_code == 200 and 'id="fleet-soh-segment"' in page.text and 'id="fleet-soh-age"' in page.text
        # SoH by segment, computed here with NumPy from the stored table
        seg = {r[0]: r for r in rows_of(page.text, "fleet-segments")[1:]}
        for name, d in table.group_by("segment"):
            soh = d["soh_pct"].drop_nulls().to_numpy()
            r = seg[name[0].replace("_", " ")]
            assert int(r[1]) == d.height and int(r[2]) == soh.size and int(r[6]) == int((d["faults"] != "").sum())
            if soh.size:
                assert float(r[3]) == pytest.approx(np.median(soh), abs=0.006)
                assert float(r[4]) == pytest.approx(np.percentile(soh, 10), abs=0.006)
        # flagged packs: one row per flag, with the measure behind it at or over its threshold
        flagged = table.filter(pl.col("faults") != "")
        assert flagged.height >= 3
        rows = rows_of(page.text, "fleet-flagged")[1:]
        assert sorted(r[0] for r in rows) == sorted(p for p, f in zip(flagged["pack_id"], flagged["faults"])
                                                   for _ in f.split(";"))
        for r in rows:
            measure, value = r[3].split(" = ")[0], float(r[3].split(" = ")[1].split()[0])
            assert abs(value) >= THRESHOLDS[measure] * (1 - 1e-3) and float(r[4]) == THRESHOLDS[measure]
        # the CSV download holds the rows the page shows
        got = http.get("/fleet?format=csv&table=fleet-flagged", cookies={"batteryloop_token": tok_op})
        assert list(csv.reader(io.StringIO(got.text))) == rows_of(page.text, "fleet-flagged")
        # the segment choice cuts the flagged packs to that segment
        segname = flagged["segment"][0]
        cut = http.get(f"/fleet?segment={segname}", cookies={"batteryloop_token": tok_op}).text
        assert {r[1] for r in rows_of(cut, "fleet-flagged")[1:]} == {segname.replace("_", " ")}
        # drill-down: the pack's telemetry per mode adds up to its samples
        pid = flagged["pack_id"][0]
        assert f"/fleet/pack?analysis={meta['id']}&amp;pack={pid}" in page.text
        one = http.get(f"/fleet/pack?analysis={meta['id']}&pack={pid}", cookies={"batteryloop_token": tok_op})
        assert one.status_code == 200
        modes = rows_of(one.text, "fleet-pack-summary")[1:]
        row = table.filter(pl.col("pack_id") == pid).row(0, named=True)
        assert sum(int(m[3]) for m in modes) == row["samples"]
        assert {m[0] for m in modes} == set(summary.filter(pl.col("pack_id") == pid)["mode"])
        assert [r[0] for r in rows_of(one.text, "fleet-pack-evidence")[1:]] == [f.replace("_", " ") for f in row["faults"].split(";")]
        assert http.get(f"/fleet/pack?analysis={meta['id']}&pack=NOPE", cookies={"batteryloop_token": tok_op}).status_code == 404
        http.cookies.clear()
        assert http.get(f"/fleet/pack?analysis={meta['id']}&pack={pid}",
                        cookies={"batteryloop_token": tok_other}).status_code == 403


def test_stored_analyses_are_whole_or_absent(tmp_path: Path, analysed: tuple[pl.DataFrame, pl.DataFrame]) -> None:
    table, summary = analysed
    res = FleetResults(tmp_path)
    admin = Caller(is_admin=True)
    with pytest.raises(ValueError, match="--as"):
        res.save(table, summary, admin)

    class Boom(Exception):
        pass

    class Broken(pl.DataFrame):
        def write_parquet(self, *a: Any, **k: Any) -> None:  # type: ignore[override]
            raise Boom

    with pytest.raises(Boom):
        res.save(table, Broken(summary), admin, operator="X")
    assert list(tmp_path.iterdir()) == [] and res.list(admin) == []
    m = res.save(table, summary, admin, operator="X")
    assert [x["id"] for x in res.list(admin)] == [m["id"]]
