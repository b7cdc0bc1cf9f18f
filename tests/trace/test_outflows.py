"""The outflow report on hand-built event histories: each finding kind, the as-of date, the silence rule
relative to each pack's own rhythm, filters, pages, CSV, and a bad parameter named in the error.

The rules (:func:`batteryloop.trace.outflows.pack_findings`) are checked on event bodies written here; the
query (:meth:`TraceQueries.outflows`), the API and the CLI on a ledger holding the small graph of
``test_queries`` (packs P1 and P2) and three more packs:

* P3 — a Korean pack (assembled in Ulsan) retired in Korea, remanufactured in the Netherlands 1 ms later
  and installed in Korea again 1 ms after that, with no shipment record: the case that went unflagged;
* P4 — reports every 30, 60, 30, 60 days (median 45 days), then falls silent;
* P5 — new, three events (two intervals): too few for a rhythm, the default threshold applies.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from batteryloop.errors import InvalidData
from batteryloop.sim import pilot
from batteryloop.sim import supply_chain as sim
from batteryloop.trace.client import ChainWriter
from batteryloop.trace.custody import DEFAULT_REGIONS
from batteryloop.trace.ledger import Ledger
from batteryloop.trace.outflows import CSV_COLUMNS, FINDING_KINDS, OutflowParams, SilenceRule, pack_findings, to_csv
from batteryloop.trace.queries import TraceQueries
from tests.trace.test_queries import T0, small_graph, use_events

EM = pilot.AUTOMAKER
REGIONS = {k: frozenset(v) for k, v in DEFAULT_REGIONS.items()}


def t(days: float = 0, ms: float = 0) -> str:
    return (T0 + dt.timedelta(days=days, milliseconds=ms)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def body(eid: str, kind: str, at: str, country: str, pack: str = "X", actor: str = EM, **kw: Any) -> dict[str, Any]:
    """An event body as the ledger stores it (the rules read kind, actor, time, place and data)."""
    return {"id": eid, "kind": kind, "actor": actor, "occurred_at": at, "place": {"country": country, "site": "s"},
            "subjects": [pack], **kw}


def assembled(pack: str, country: str, at: str) -> dict[str, Any]:
    return {"id": f"{pack}-made", "kind": "pack_assembly", "actor": EM, "occurred_at": at,
            "place": {"country": country, "site": "plant"}, "inputs": [{"lot": "m", "mass_kg": 1}],
            "outputs": [{"lot": pack, "kind": "pack", "mass_kg": 1}]}


def kinds(findings: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(f["kind"], f["event_id"]) for f in findings]


def run(pack: str, events: list[dict[str, Any]], as_of: str, **params: Any) -> list[dict[str, Any]]:
    return pack_findings(pack, events, as_of=dt.datetime.fromisoformat(as_of.replace("Z", "+00:00")),
                         regions=REGIONS, params=OutflowParams.parse(**params))


# ----------------------------------------------------------------------------------------- the rules alone
def test_silence_is_relative_to_the_packs_own_rhythm() -> None:
    """Events on days 0, 30, 90, 120 and 180: intervals 30, 60, 30, 60 days, median (30 + 60) / 2 = 45 days;
    threshold k × median = 1.5 × 45 = 67.5 days (above the 30-day floor). Last event on day 180: silent
    after day 247.5 — not on day 247 (a 67-day gap), yes on day 248 (68 days)."""
    evs = [assembled("X", "DE", t(0))] + [body(f"s{d}", "soh_update", t(d), "DE", data={"soh_capacity_pct": 99})
                                         for d in (30, 90, 120, 180)]
    assert run("X", evs, t(247)) == []
    [f] = run("X", evs, t(248))
    assert f["kind"] == "silent" and f["event_id"] == "s180" and f["threshold_basis"] == "rhythm"
    assert f["median_interval_days"] == 45.0 and f["threshold_days"] == 67.5 and f["gap_days"] == 68.0
    assert "1.5 × its median interval of 45.0 days" in f["message"]
    # k is the caller's: k = 3 gives 135 days, so day 248 is not silent, day 316 (136 days) is
    assert run("X", evs, t(248), k=3) == [] and run("X", evs, t(316), k=3)[0]["threshold_days"] == 135.0
    # the old fixed 365 days would have waited until day 546
    assert SilenceRule().threshold([dt.datetime(2026, 1, 1, tzinfo=dt.UTC)]) == (365.0, None, "default")


def test_silence_floor_default_and_removed() -> None:
    """A pack reporting daily (median 1 day, 1.5 × 1 = 1.5 days) is held to the 30-day floor; a pack with two
    intervals (fewer than 3) to the 365-day default; a pack reporting yearly (1.5 × 365 = 547.5 days) and then
    removed from its vehicle to 90 days at most; events less than a day apart are one report."""
    daily = [assembled("X", "DE", t(0))] + [body(f"d{d}", "soh_update", t(d), "DE", data={"soh_capacity_pct": 99})
                                           for d in range(1, 11)]
    assert run("X", daily, t(40)) == []  # last event day 10: a 30-day gap is not more than the floor
    [f] = run("X", daily, t(41))
    assert f["threshold_days"] == 30.0 and f["median_interval_days"] == 1.0 and f["threshold_basis"] == "rhythm"
    few = [assembled("X", "DE", t(0)), body("i", "installation", t(10), "DE", data={"vehicle_id": "V1"}),
           body("s", "soh_update", t(20), "DE", data={"soh_capacity_pct": 99})]
    assert run("X", few, t(385)) == []
    assert run("X", few, t(386))[0]["threshold_basis"] == "default"
    burst = few + [body("c", "change_of_owner", t(20, ms=50), "DE", data={"to_holder": pilot.BAAS})]
    assert run("X", burst, t(386))[0]["threshold_basis"] == "default"  # 50 ms is not an interval
    yearly = [assembled("X", "DE", t(0))] + [body(f"y{d}", "soh_update", t(d), "DE", data={"soh_capacity_pct": 99})
                                            for d in (365, 730, 1095)]
    assert run("X", yearly, t(1095 + 547)) == [] and run("X", yearly, t(1095 + 548))[0]["threshold_days"] == 547.5
    removed = yearly + [body("r", "removal", t(1100), "DE", data={"reason": "vehicle scrapped"})]
    assert run("X", removed, t(1190)) == []
    [f] = run("X", removed, t(1191))
    assert f["threshold_basis"] == "removed" and f["threshold_days"] == 90.0 and f["status"] == "removed"
    assert f["median_interval_days"] == 365.0
    # a pack at end of life, or exported with a record, is not expected to report
    gone = removed + [body("x", "export", t(1101), "DE", data={"destination_country": "NO"})]
    assert [f["kind"] for f in run("X", gone, t(1900))] == []


def test_korean_pack_to_the_netherlands_and_back_in_milliseconds() -> None:
    """KR → NL → KR, 1 ms apart, no shipment record: each move is a country change without a shipment record
    (the first also leaves KR, the second the EU, without an export) and an impossible move."""
    evs = [assembled("K", "KR", t(0)), body("inst", "installation", t(10), "KR", "K", data={"vehicle_id": "V"}),
           body("test", "retirement_test", t(900), "KR", "K", data={"soh_capacity_pct": 74, "decision": "remanufacture"}),
           body("reman", "remanufacturing", t(900, ms=1), "NL", "K"),
           body("back", "installation", t(900, ms=2), "KR", "K", data={"vehicle_id": "V2"})]
    got = run("K", evs, t(901))
    assert kinds(got) == [("country_change_without_shipment", "reman"), ("impossible_move", "reman"),
                          ("country_change_without_shipment", "back"), ("impossible_move", "back")]
    out, _, back, fast = got
    assert (out["from_country"], out["country"], out["from_region"]) == ("KR", "NL", "KR")
    assert "left KR without an export record" in out["message"]
    assert (back["from_country"], back["country"], back["from_region"]) == ("NL", "KR", "EU")
    assert fast["elapsed_seconds"] == 0.001 and "1 ms later" in fast["message"]
    # the same moves with export records and weeks at sea: nothing to report
    shipped = evs[:3] + [body("x1", "export", t(901), "KR", "K", data={"destination_country": "NL"}),
                         body("reman", "remanufacturing", t(935), "NL", "K"),
                         body("x2", "export", t(940), "NL", "K", data={"destination_country": "KR"}),
                         body("back", "installation", t(975), "KR", "K", data={"vehicle_id": "V2"})]
    assert run("K", shipped, t(976)) == []
    # an export record, but the pack is in the Netherlands 1 ms after it left Korea: impossible, though recorded
    hasty = shipped[:4] + [body("reman", "remanufacturing", t(901, ms=1), "NL", "K")]
    assert kinds(run("K", hasty, t(902))) == [("impossible_move", "reman")]
    # the minimum transit time is the caller's: 0 turns the check off
    assert run("K", hasty, t(902), min_transit_hours=0) == []


def test_moves_that_need_no_record() -> None:
    """A new pack or one in a vehicle moves within its region freely (the car crosses a border; a swap station
    abroad); a passport issued at the automaker's seat does not locate the pack. Once retired, it does not."""
    evs = [assembled("E", "HU", t(0)), body("pp", "passport_issued", t(1), "DE", "E", data={"passport_id": "E"}),
           body("inst", "installation", t(1, ms=5), "NL", "E", data={"vehicle_id": "V"}),
           body("sw", "swap", t(100), "FR", "E", data={"station": "Lille", "vehicle_id": "V"}),
           body("rm", "removal", t(200), "BE", "E", data={"reason": "state of health"}),
           body("col", "collection", t(201), "BE", "E", data={"origin": {"country": "BE", "site": "a"},
                                                            "destination": {"country": "DE", "site": "b"}}),
           body("test", "retirement_test", t(203), "DE", "E", data={"soh_capacity_pct": 70, "decision": "repurpose"})]
    assert run("E", evs, t(204)) == []
    moved = evs + [body("rep", "repurposing", t(210), "NL", "E")]  # retired, DE → NL without a transport
    assert kinds(run("E", moved, t(211))) == [("country_change_without_shipment", "rep")]
    # a transport declared to Germany, but the pack turns up in the Netherlands: that move is unrecorded
    astray = evs[:5] + [body("col", "collection", t(201), "BE", "E", data={"origin": {"country": "BE", "site": "a"},
                                                                         "destination": {"country": "DE", "site": "b"}}),
                        body("test", "retirement_test", t(203), "NL", "E", data={"soh_capacity_pct": 70})]
    [f] = run("E", astray, t(204))
    assert (f["kind"], f["from_country"], f["country"]) == ("country_change_without_shipment", "DE", "NL")
    # a transport out of the EU without an export record: left the region
    away = evs + [body("tr", "transport", t(210), "DE", "E", data={"origin": {"country": "DE", "site": "b"},
                                                                     "destination": {"country": "UA", "site": "c"}})]
    [f] = run("E", away, t(211))
    assert f["kind"] == "left_region_without_export" and f["from_region"] == "EU" and f["country"] == "UA"


def test_events_after_the_as_of_date_are_not_read() -> None:
    evs = [assembled("K", "KR", t(0)), body("reman", "remanufacturing", t(10), "NL", "K")]
    assert run("K", evs, t(5)) == []
    assert kinds(run("K", evs, t(11))) == [("country_change_without_shipment", "reman")]


@pytest.mark.parametrize(("given", "name", "rule"), [
    ({"k": -1}, "k", "positive"), ({"k": 0}, "k", "positive"), ({"k": "abc"}, "k", "number"),
    ({"floor_days": -3}, "floor_days", "non_negative"), ({"min_intervals": 1.5}, "min_intervals", "integer"),
    ({"kind": "lost"}, "kind", "enum"), ({"kind": ["silent", "nope"]}, "kind", "enum"),
    ({"as_of": "2025-13-01"}, "as_of", "date"), ({"as_of": "yesterday"}, "as_of", "date"),
    ({"limit": 0}, "limit", "positive"), ({"limit": 10**6}, "limit", "maximum"), ({"offset": -1}, "offset", "non_negative"),
    ({"min_transit_hours": float("nan")}, "min_transit_hours", "finite"),
    ({"country": "Germany"}, "country", "country_code"), ({"country": "éé"}, "country", "country_code"),
    # beyond what a time span or a UTC time can hold: a 422 naming the parameter, not a 500 (review finding)
    ({"as_of": "0001-01-01T00:00:00+01:00"}, "as_of", "range"), ({"as_of": "9999-12-31T23:59:59-01:00"}, "as_of", "range"),
    ({"min_transit_hours": 1e308}, "min_transit_hours", "maximum"), ({"removed_days": 1e12}, "removed_days", "maximum"),
    ({"floor_days": 36_501}, "floor_days", "maximum"), ({"offset": 2**64}, "offset", "maximum"),
    ({"k": 1e6}, "k", "maximum"), ({"participant": "somebody"}, "participant", "participant_id"),
])
def test_a_bad_parameter_is_named(given: dict[str, Any], name: str, rule: str) -> None:
    with pytest.raises(InvalidData) as e:
        OutflowParams.parse(**given)
    assert e.value.errors[0]["field"] == name and e.value.errors[0]["rule"] == rule
    assert e.value.detail.startswith(f"{name}: ")


def test_as_of_dates_and_kinds_parse() -> None:
    p = OutflowParams.parse(as_of="2025-12-31", kind="silent,impossible_move")
    assert p.as_of == dt.datetime(2025, 12, 31, 23, 59, 59, 999999, tzinfo=dt.UTC)  # a date: the end of that day
    assert p.kinds == ("silent", "impossible_move")
    assert OutflowParams.parse(as_of="2025-12-31T10:00:00+09:00").as_of == dt.datetime(2025, 12, 31, 1, tzinfo=dt.UTC)
    # a Korean business number without its dashes is the participant the ledger knows (review finding: it
    # silently matched nothing)
    assert OutflowParams.parse(participant="2118600017").participant == "211-86-00017"
    # the basic form of a date is a date too: the end of that day, as its extended form (it meant the start)
    assert OutflowParams.parse(as_of="20251231").as_of == p.as_of
    assert OutflowParams.parse(as_of="9999-12-31").as_of.year == 9999  # the last day a date can name: its end
    assert set(FINDING_KINDS) == {"country_change_without_shipment", "impossible_move", "left_region_without_export",
                                  "exported_before_end_of_life", "silent"}


# ------------------------------------------------------------------------------------- the query, on a ledger
def more_packs() -> list[dict[str, Any]]:
    """P3 (the KR → NL → KR case), P4 (a rhythm, then silence) and P5 (too few events), made from an ore lot."""
    def e(eid: str, kind: str, at: str, country: str, **kw: Any) -> dict[str, Any]:
        return {"id": eid, "kind": kind, "actor": EM, "occurred_at": at, "place": {"country": country, "site": "s"}, **kw}

    def made(pack: str, country: str, at: str) -> dict[str, Any]:
        return e(f"{pack}-made", "pack_assembly", at, country, inputs=[{"lot": "ore-x", "mass_kg": 10}],
                 outputs=[{"lot": pack, "kind": "pack", "mass_kg": 10, "elements_kg": {"Li": 0.1}, "model_id": "EM-K"}])

    soh = {"soh_capacity_pct": 90.0}
    return [
        {"id": "x-ore", "kind": "extraction", "actor": sim.MINE_CL, "occurred_at": t(0), "place": {"country": "CL", "site": "Atacama"},
         "outputs": [{"lot": "ore-x", "kind": "ore", "mass_kg": 1000, "elements_kg": {"Li": 10},
                      "origin": {"type": "primary", "country": "CL", "site": "Atacama"}}]},
        made("P3", "KR", t(1)),
        e("P3-inst", "installation", t(2), "KR", subjects=["P3"], data={"vehicle_id": "KMH0000000000003"}),
        e("P3-test", "retirement_test", t(20), "KR", subjects=["P3"], data={"soh_capacity_pct": 74.0, "decision": "remanufacture"}),
        e("P3-reman", "remanufacturing", t(20, ms=1), "NL", subjects=["P3"]),
        e("P3-back", "installation", t(20, ms=2), "KR", subjects=["P3"], data={"vehicle_id": "KMH0000000000004"}),
        made("P4", "DE", t(1)),
        *[e(f"P4-soh-{d}", "soh_update", t(d), "DE", subjects=["P4"], data=soh) for d in (31, 91, 121, 181)],
        made("P5", "DE", t(200)),
        e("P5-inst", "installation", t(201), "DE", subjects=["P5"], data={"vehicle_id": "WVW0000000000005"}),
        e("P5-soh", "soh_update", t(202), "DE", subjects=["P5"], data=soh),
        e("P3-soh", "soh_update", t(250), "KR", subjects=["P3"], data=soh),  # the last event in the ledger: day 250
    ]


@pytest.fixture
def q(ledger: Ledger, signers: Any, store: Any) -> TraceQueries:
    w = ChainWriter(signers)
    rep = ledger.ingest([w.wire(e) for e in small_graph() + use_events() + more_packs()])
    assert rep.ok, rep.error
    return TraceQueries(store)


def test_as_of_defaults_to_the_last_event(q: TraceQueries) -> None:
    """As of day 250 (the last event), not today: P4's last event is day 181, a 69-day gap over its 67.5-day
    threshold (median 45 days: intervals 30, 60, 30, 60); P5 (day 202, two intervals) is within its 365 days;
    P1 (in Ukraine since hour 13) has three events, too few for a rhythm, so 365 days: not silent either."""
    rep = q.outflows()
    assert rep["as_of_source"] == "last_event" and rep["as_of"] == (T0 + dt.timedelta(days=250)).isoformat()
    assert rep["parameters"]["silence"] == {"k": 1.5, "floor_days": 30.0, "default_days": 365.0, "min_intervals": 3,
                                            "removed_days": 90.0}
    found = {(f["pack"], f["kind"]) for f in rep["findings"]}
    assert found == {("P1", "left_region_without_export"), ("P3", "country_change_without_shipment"),
                     ("P3", "impossible_move"), ("P4", "silent")}
    assert rep["counts"] == {"country_change_without_shipment": 2, "impossible_move": 2,
                             "left_region_without_export": 1, "silent": 1}
    assert rep["total"] == 6 and rep["packs_checked"] == 5 and rep["packs"] == 3
    silent = next(f for f in rep["findings"] if f["kind"] == "silent")
    assert silent["threshold_days"] == 67.5 and silent["gap_days"] == 69.0
    # as of a date long after the last event (as the wall clock was, on a pilot that ended years ago) every
    # pack not exported or at end of life is silent: P1, P3, P4 and P5 (P2 was exported with a record)
    late = q.outflows(OutflowParams.parse(as_of=T0 + dt.timedelta(days=800)))
    assert late["as_of_source"] == "given" and late["counts"]["silent"] == 4
    # as of day 15: P3 had not moved yet, P4 not been silent
    early = q.outflows(OutflowParams.parse(as_of=T0 + dt.timedelta(days=15)))
    assert {(f["pack"], f["kind"]) for f in early["findings"]} == {("P1", "left_region_without_export")}


def test_filters(q: TraceQueries) -> None:
    def packs(**kw: Any) -> set[tuple[str, str]]:
        return {(f["pack"], f["kind"]) for f in q.outflows(OutflowParams.parse(**kw))["findings"]}

    assert packs(model="EM-K") == {("P3", "country_change_without_shipment"), ("P3", "impossible_move"),
                                   ("P4", "silent")}
    assert packs(model="EM-X") == {("P1", "left_region_without_export")}
    assert packs(kind="silent") == {("P4", "silent")}
    assert packs(kind=["impossible_move", "silent"]) == {("P3", "impossible_move"), ("P4", "silent")}
    assert packs(country="UA") == {("P1", "left_region_without_export")}
    assert packs(country="nl") == {("P3", "country_change_without_shipment"), ("P3", "impossible_move")}  # to or from
    assert packs(participant=pilot.BAAS) == {("P1", "left_region_without_export")}  # P1's holder
    assert packs(participant=pilot.RECYCLER_EU) == set()
    rep = q.outflows(OutflowParams.parse(kind="silent", model="EM-K"))
    assert rep["parameters"]["filters"] == {"model": "EM-K", "country": None, "kind": ["silent"], "participant": None}
    assert rep["total"] == 1 and rep["counts"] == {"silent": 1}


def test_pages_are_stable_and_complete(q: TraceQueries) -> None:
    whole = q.outflows(OutflowParams.parse(limit=None))
    assert whole["total"] == len(whole["findings"]) == 6 and whole["next_offset"] is None
    pages, offset = [], 0
    while offset is not None:
        page = q.outflows(OutflowParams.parse(limit=4 if not pages else 1, offset=offset))
        assert page["total"] == 6 and page["counts"] == whole["counts"]  # the counts are of all pages
        pages.append(page["findings"])
        offset = page["next_offset"]
    assert [len(p) for p in pages] == [4, 1, 1]
    assert [f for p in pages for f in p] == whole["findings"]  # no overlap, no gap, the same order
    assert q.outflows(OutflowParams.parse(limit=2, offset=2))["findings"] == whole["findings"][2:4]
    assert q.outflows(OutflowParams.parse(offset=50))["findings"] == []


def test_worker_processes_find_the_same(q: TraceQueries, store: Any) -> None:
    """A big ledger's report replays ranges of packs in worker processes: the same findings, in the same order."""
    one = TraceQueries(store).outflows(OutflowParams.parse(limit=None))
    two = TraceQueries(store).outflows(OutflowParams.parse(limit=None), workers=2)
    assert two["findings"] == one["findings"] and two["packs_checked"] == one["packs_checked"] == 5


def test_csv_columns_and_rows(q: TraceQueries) -> None:
    rep = q.outflows(OutflowParams.parse(limit=None))
    rows = list(csv.DictReader(io.StringIO(to_csv(rep["findings"]))))
    assert tuple(rows[0]) == CSV_COLUMNS
    assert [(r["pack"], r["kind"], r["event_id"]) for r in rows] == \
        [(f["pack"], f["kind"], f["event_id"]) for f in rep["findings"]]
    silent = next(r for r in rows if r["kind"] == "silent")
    assert (silent["threshold_days"], silent["median_interval_days"], silent["threshold_basis"]) == ("67.5", "45.0", "rhythm")
    move = next(r for r in rows if r["kind"] == "impossible_move" and r["event_id"] == "P3-reman")
    assert (move["from_country"], move["country"], move["model_id"]) == ("KR", "NL", "EM-K")


# ----------------------------------------------------------------------------------------- the API and the CLI
@pytest.fixture
def api(q: TraceQueries, store: Any) -> Iterator[Any]:
    from fastapi.testclient import TestClient

    from batteryloop.server import create_app
    from tests.conftest import make_services

    with TestClient(create_app(services=make_services(store))) as c:
        yield c


ADMIN = {"Authorization": "Bearer admin-secret-token"}


def test_api_answers_the_same_query(api: Any, q: TraceQueries) -> None:
    r = api.get("/api/v1/trace/outflows", headers=ADMIN)
    assert r.status_code == 200
    assert r.json()["counts"] == q.outflows()["counts"] and r.json()["as_of_source"] == "last_event"
    r = api.get("/api/v1/trace/outflows", params={"kind": "silent", "k": 3}, headers=ADMIN).json()
    assert r["total"] == 0 and r["parameters"]["silence"]["k"] == 3.0  # 3 × 45 = 135 days > 69
    r = api.get("/api/v1/trace/outflows", params={"limit": 2, "offset": 2}, headers=ADMIN).json()
    assert r["total"] == 6 and len(r["findings"]) == 2 and r["next_offset"] == 4
    csv_text = api.get("/api/v1/trace/outflows", params={"model": "EM-K"}, headers={**ADMIN, "Accept": "text/csv"})
    assert csv_text.headers["content-type"].startswith("text/csv") and csv_text.headers["x-total-count"] == "5"
    assert len(list(csv.DictReader(io.StringIO(csv_text.text)))) == 5
    assert api.get("/api/v1/trace/outflows", params={"format": "csv"}, headers=ADMIN).text.startswith("kind,pack,")
    for params, name in (({"k": -1}, "k"), ({"kind": "lost"}, "kind"), ({"as_of": "2025-02-30"}, "as_of"),
                         ({"k": "abc"}, "k"), ({"limit": 0}, "limit"), ({"as_of": "0001-01-01T00:00:00+01:00"}, "as_of"),
                         ({"min_transit_hours": "1e308"}, "min_transit_hours"), ({"offset": str(2**64)}, "offset")):
        bad = api.get("/api/v1/trace/outflows", params=params, headers=ADMIN)
        assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == name, (params, bad.json())
    assert api.get("/api/v1/trace/outflows").status_code == 401


def test_cli_outflows(tmp_path: Path) -> None:
    from tests.test_cli import run

    run(tmp_path, "demo", "--packs", "30", "--years", "3", "--no-serve", "--no-dataspace")
    rep = json.loads(run(tmp_path, "trace", "outflows", "--kind", "silent", "--limit", "5").stdout)
    assert rep["as_of_source"] == "last_event" and rep["parameters"]["filters"]["kind"] == ["silent"]
    text = run(tmp_path, "trace", "outflows", "--csv").stdout
    assert text.startswith(",".join(CSV_COLUMNS))
    bad = run(tmp_path, "trace", "outflows", "--k", "-1", ok=False)
    assert bad.returncode == 2 and "k: " in bad.stderr + bad.stdout
    bad = run(tmp_path, "trace", "outflows", "--as-of", "someday", ok=False)
    assert bad.returncode == 2 and "as_of" in bad.stderr + bad.stdout
