"""The mass balance kept as the ledger grows (trace.mb_summary, issue 19) gives the figures of the full
recomputation over the whole material graph (massbalance.mass_balance) on the same ledger, refreshed in steps
as events arrive — including recovered material going back into cathodes, and lots their own account
consumes (intermediates, which hold no credit of their own)."""

from __future__ import annotations

import threading
from typing import Any

import orjson
import pytest
from sqlalchemy import func, select

from batteryloop.identity import ParticipantService
from batteryloop.sim.registry_bulk import RegistryGenerator
from batteryloop.sim.supply_chain import demo_signers, register_participants
from batteryloop.store import trace_tables as tt
from batteryloop.trace.ledger import Ledger
from batteryloop.trace.mb_summary import MassBalanceSummary
from batteryloop.trace.queries import TraceQueries


def _waste(ev: Any, lot: str, el: str, kg: float, mass: float, post: bool) -> str:
    """The events behind the waste a recycler recovers ``kg`` of ``el`` from (recycled material is recovered,
    never minted): primary material made into cells at the Japanese cell maker's first-life line — rejected cells
    (pre-consumer), or modules later used and collected (post-consumer). Returns the waste lot's id."""
    from batteryloop.sim import pilot
    from batteryloop.sim.supply_chain import MINE_AU

    t, els = "2024-01-01T00:00:00.000000Z", {el: kg}
    ev(f"w-{lot}-1", "extraction", MINE_AU, t, "Greenbushes", [], [
        {"elements_kg": els, "kind": "material", "lot": f"w-{lot}-m", "mass_kg": mass, "material": f"{el} salt",
         "origin": {"country": "AU", "site": "Greenbushes", "type": "primary"}}])
    ev(f"w-{lot}-2", "cell_production", pilot.CELL_JP, t, "first-life line", [{"lot": f"w-{lot}-m", "mass_kg": mass}], [
        {"elements_kg": els, "kind": "cell_batch", "lot": f"w-{lot}-c", "mass_kg": mass}])
    if not post:
        return f"w-{lot}-c"
    ev(f"w-{lot}-3", "module_assembly", pilot.CELL_JP, t, "first-life line", [{"lot": f"w-{lot}-c", "mass_kg": mass}], [
        {"elements_kg": els, "kind": "module", "lot": f"w-{lot}-mod", "mass_kg": mass}])
    return f"w-{lot}-mod"


def _wire(n: int) -> list[dict[str, Any]]:
    events = []
    for chunk in RegistryGenerator(n, packs_per_batch=10, eol_share=0.6, chunk_passports=60, seed=3).chunks():
        events += [{**orjson.loads(r[8]), "signature": r[9]} for r in chunk.rows["trace_events"]]
    return events


def _same(a: Any, b: Any) -> None:
    if isinstance(a, dict):
        assert set(a) == set(b)
        for k in a:
            _same(a[k], b[k])
    elif isinstance(a, float):
        assert a == pytest.approx(b, rel=1e-9, abs=1e-12)
    else:
        assert a == b


def _check_all(q: TraceQueries, store: Any) -> int:
    """Every model-year (and each plant's) and a sample of packs: kept sums == full recomputation."""
    with store.read() as conn:
        groups = conn.execute(select(tt.trace_lots.c.model_id, func.substr(tt.trace_lots.c.produced_at, 1, 4))
                              .where(tt.trace_lots.c.kind == "pack").distinct()).all()
        packs = [r[0] for r in conn.execute(select(tt.trace_lots.c.id).where(tt.trace_lots.c.kind == "pack")
                                            .order_by(tt.trace_lots.c.id))]
    n = 0
    for model, year in groups:
        kept = q.recycled_content(model_id=model, year=int(year))
        full = q.recycled_content(model_id=model, year=int(year), incremental=False)
        _same(kept, full)
        n += kept["elements"]["Li"]["recycled_kg"] > 0 or kept["elements"]["Co"]["recycled_kg"] > 0
    model, year = max(groups)
    plant = sorted(q.recycled_content(model_id=model, year=int(year))["by_plant"])[-1]
    _same(q.recycled_content(model_id=model, year=int(year), plant=plant),
          q.recycled_content(model_id=model, year=int(year), plant=plant, incremental=False))
    _same(q.recycled_content(model_id=model), q.recycled_content(model_id=model, incremental=False))
    for p in packs[::40] + packs[-2:]:
        _same(q.recycled_content(pack_id=p), q.recycled_content(pack_id=p, incremental=False))
    return n


def test_kept_mass_balance_equals_the_full_recomputation_as_events_arrive(store: Any) -> None:
    register_participants(ParticipantService(store), demo_signers())
    wire = _wire(180)
    ledger = Ledger(store)
    q = TraceQueries(store)
    cut = len(wire) * 3 // 5
    assert ledger.ingest(wire[:cut], workers=1).ok
    _check_all(q, store)  # the first refresh folds in what is there
    assert ledger.ingest(wire[cut:], workers=1).ok
    assert MassBalanceSummary(store).refresh() == len(wire) - cut  # only the new events are read
    with_recycled = _check_all(q, store)
    assert with_recycled >= 2, "later model-years should carry recovered material"
    assert MassBalanceSummary(store).refresh() == 0


def test_intermediates_and_recycled_sources_by_hand(store: Any) -> None:
    """A small account by hand: a refiner makes a precursor, ships a fifth of it and consumes the rest itself in
    the same year (an intermediate for that part), with 10 kg of certified recovered Li among 100 kg Li in; the
    packs then hold 10 % recycled Li."""
    register_participants(ParticipantService(store), demo_signers())
    from batteryloop.sim import pilot
    from batteryloop.sim.supply_chain import CAM_KR, MINE_CL, REFINER_CN
    from batteryloop.trace.canonical import GENESIS, canonical_json, sha256_hex

    signers = demo_signers()
    heads: dict[str, str] = {}
    events: list[dict[str, Any]] = []

    def ev(eid: str, kind: str, actor: str, at: str, site: str, inputs: list[Any], outputs: list[Any]) -> None:
        chain = sorted({*(i["lot"] for i in inputs), *(o["lot"] for o in outputs)})
        body = {"actor": actor, "data": {"max_loss_pct": 5.0} if kind in ("refining", "cathode_production") else {},
                "id": eid, "inputs": inputs,
                "kind": kind, "occurred_at": at, "outputs": outputs, "place": {"country": "KR", "site": site},
                "prev": {s: heads.get(s, GENESIS) for s in chain}, "subjects": []}
        h = sha256_hex(canonical_json(body))
        for s in chain:
            heads[s] = h
        events.append({**body, "signature": signers[actor].sign_hash(h)})

    origin = {"country": "CL", "site": "Atacama", "type": "primary"}
    ev("e1", "extraction", MINE_CL, "2024-01-02T00:00:00.000000Z", "Atacama", [], [
        {"elements_kg": {"Li": 90.0}, "kind": "material", "lot": "li-prim", "mass_kg": 500.0,
         "material": "lithium carbonate", "origin": origin}])
    ev("e2", "material_recovery", pilot.RECYCLER_EU, "2024-01-03T00:00:00.000000Z", "Hydromet", [
        {"lot": _waste(ev, "li-rec", "Li", 10.0, 60.0, True), "mass_kg": 60.0}], [
        {"elements_kg": {"Li": 10.0}, "kind": "material", "lot": "li-rec", "mass_kg": 60.0,
         "material": "recycled lithium carbonate",
         "origin": {"certified_by": pilot.RECYCLER_EU, "country": "DE", "site": "Hydromet", "type": "post_consumer"}}])
    ev("e3", "refining", REFINER_CN, "2024-02-01T00:00:00.000000Z", "Yichun", [
        {"lot": "li-prim", "mass_kg": 500.0}, {"lot": "li-rec", "mass_kg": 60.0}], [
        {"elements_kg": {"Li": 100.0}, "kind": "material", "lot": "pre", "mass_kg": 550.0, "material": "precursor"}])
    # 110 kg of the precursor go to the cathode plant (another account) first …
    ev("e4", "cathode_production", CAM_KR, "2024-03-01T00:00:00.000000Z", "Gwangyang", [
        {"lot": "pre", "mass_kg": 110.0}], [
        {"elements_kg": {"Li": 20.0}, "kind": "material", "lot": "cam-a", "mass_kg": 108.0, "material": "NMC"}])
    # … then the refiner consumes the rest itself, the same year: "pre" becomes an intermediate
    ev("e5", "refining", REFINER_CN, "2024-04-01T00:00:00.000000Z", "Yichun", [
        {"lot": "pre", "mass_kg": 440.0}], [
        {"elements_kg": {"Li": 79.0}, "kind": "material", "lot": "salt", "mass_kg": 430.0, "material": "Li salt"}])
    ev("e6", "cathode_production", CAM_KR, "2024-05-01T00:00:00.000000Z", "Gwangyang", [
        {"lot": "salt", "mass_kg": 430.0}], [
        {"elements_kg": {"Li": 78.0}, "kind": "material", "lot": "cam-b", "mass_kg": 420.0, "material": "NMC"}])
    ev("e7", "pack_assembly", pilot.AUTOMAKER, "2024-06-01T00:00:00.000000Z", "Wolfsburg", [
        {"lot": "cam-a", "mass_kg": 108.0}, {"lot": "cam-b", "mass_kg": 420.0}], [
        {"elements_kg": {"Li": 49.0}, "kind": "pack", "lot": "P1", "mass_kg": 264.0, "model_id": "EM-NMC811-82"},
        {"elements_kg": {"Li": 49.0}, "kind": "pack", "lot": "P2", "mass_kg": 264.0, "model_id": "EM-NMC811-82"}])
    ledger = Ledger(store)
    q = TraceQueries(store)
    summary = MassBalanceSummary(store)
    for i in range(0, len(events), 2):  # refreshed after every two events
        rep = ledger.ingest(events[i:i + 2], workers=1)
        assert rep.ok, rep.error
        summary.refresh()
    kept = q.recycled_content(model_id="EM-NMC811-82", year=2024)
    # by hand: the refiner's account 2024 takes 10 kg recovered Li in; "pre" (550 kg, 100 kg Li) was consumed
    # inside for 440 kg (an intermediate for that part: 80 kg Li leave the demand) and shipped for 110 kg (final:
    # 20 kg Li); with "salt" (79 kg Li) the demand is 99 kg: rate 10/99. cam-a's 20 kg Li from "pre" carry
    # 20 × 10/99, cam-b's 78 of salt's 79 carry 79 × 10/99 → the cathode account receives 10 kg over its final
    # 20 + 78 kg Li: rate 10/98; the packs take all of both: 98 × 10/98 = 10 kg of their 98.
    # (Were all of "pre" counted as a final lot, the refiner's rate would be 10/179 and the packs would hold 5.5 kg.)
    li = kept["elements"]["Li"]
    assert li["recycled_kg"] == pytest.approx(10.0, rel=1e-12) and li["element_kg"] == pytest.approx(98.0)
    assert li["post_consumer"] == pytest.approx(10 / 98, rel=1e-12) and li["pre_consumer"] == 0
    _same(kept, q.recycled_content(model_id="EM-NMC811-82", year=2024, incremental=False))
    _same(q.recycled_content(pack_id="P1"), q.recycled_content(pack_id="P1", incremental=False))


def test_the_pre_and_post_consumer_split_by_hand(store: Any) -> None:
    """docs/circular.md "Recycled content split by origin": one cathode plant in 2024 takes 80 kg primary Li, 14 kg
    Li recovered from used batteries (post-consumer) and 6 kg from manufacturing scrap (pre-consumer), 18 kg primary
    Co and 2 kg scrap Co, and makes cathode of 98 kg Li and 19.6 kg Co (2 % lost); one pack plant makes two packs of
    it. By hand: Li post 14 / 98 = 14.29 %, pre 6 / 98 = 6.12 %, whole 20 / 98 = 20.41 %; Co post 0 %, pre and whole
    2 / 19.6 = 10.20 % — the passport fields of the (model, plant, year) group, from the kept sums and in full."""
    register_participants(ParticipantService(store), demo_signers())
    from batteryloop.sim import pilot
    from batteryloop.sim.supply_chain import CAM_KR, MINE_CD, MINE_CL
    from batteryloop.trace.canonical import GENESIS, canonical_json, sha256_hex

    signers = demo_signers()
    heads: dict[str, str] = {}
    events: list[dict[str, Any]] = []

    def ev(eid: str, kind: str, actor: str, at: str, site: str, inputs: list[Any], outputs: list[Any],
           data: dict[str, Any] | None = None) -> None:
        chain = sorted({*(i["lot"] for i in inputs), *(o["lot"] for o in outputs)})
        body = {"actor": actor, "data": data or {}, "id": eid, "inputs": inputs, "kind": kind, "occurred_at": at,
                "outputs": outputs, "place": {"country": "KR", "site": site},
                "prev": {s: heads.get(s, GENESIS) for s in chain}, "subjects": []}
        h = sha256_hex(canonical_json(body))
        for s in chain:
            heads[s] = h
        events.append({**body, "signature": signers[actor].sign_hash(h)})

    def source(eid: str, actor: str, lot: str, el: str, kg: float, mass: float, origin: str, site: str) -> None:
        o = {"country": "KR", "site": site, "type": origin}
        if origin != "primary":
            o["certified_by"] = actor
        waste = [] if origin == "primary" else [{"lot": _waste(ev, lot, el, kg, mass, origin == "post_consumer"),
                                                  "mass_kg": mass}]
        ev(eid, "extraction" if origin == "primary" else "material_recovery", actor, f"2024-01-0{eid[-1]}T00:00:00.000000Z",
           site, waste, [{"elements_kg": {el: kg}, "kind": "material", "lot": lot, "mass_kg": mass,
                       "material": f"{el} salt", "origin": o}])

    source("e1", MINE_CL, "li-prim", "Li", 80.0, 426.0, "primary", "Atacama")
    source("e2", pilot.RECYCLER_EU, "li-post", "Li", 14.0, 75.0, "post_consumer", "Magdeburg hydromet")
    source("e3", pilot.RECYCLER_KR, "li-pre", "Li", 6.0, 32.0, "pre_consumer", "Ochang scrap line")
    source("e4", MINE_CD, "co-prim", "Co", 18.0, 86.0, "primary", "Kolwezi")
    source("e5", pilot.RECYCLER_KR, "co-pre", "Co", 2.0, 10.0, "pre_consumer", "Ochang scrap line")
    ev("e6", "cathode_production", CAM_KR, "2024-02-01T00:00:00.000000Z", "Gwangyang", [
        {"lot": "li-prim", "mass_kg": 426.0}, {"lot": "li-post", "mass_kg": 75.0}, {"lot": "li-pre", "mass_kg": 32.0},
        {"lot": "co-prim", "mass_kg": 86.0}, {"lot": "co-pre", "mass_kg": 10.0}], [
        {"elements_kg": {"Li": 98.0, "Co": 19.6}, "kind": "material", "lot": "cam", "mass_kg": 600.0,
         "material": "NMC"}], {"max_loss_pct": 2.0})
    ev("e7", "pack_assembly", pilot.AUTOMAKER, "2024-06-01T00:00:00.000000Z", "Wolfsburg", [{"lot": "cam", "mass_kg": 600.0}], [
        {"elements_kg": {"Li": 49.0, "Co": 9.8}, "kind": "pack", "lot": p, "mass_kg": 300.0, "model_id": "EM-NMC811-82"}
        for p in ("P1", "P2")])
    rep = Ledger(store).ingest(events, workers=1)
    assert rep.ok, rep.error
    q = TraceQueries(store)
    hand = {"allocation_rule": "mass_balance",
            "lithium_pct": round(100 * 20 / 98, 2), "lithium_pre_consumer_pct": round(100 * 6 / 98, 2),
            "lithium_post_consumer_pct": round(100 * 14 / 98, 2),
            "cobalt_pct": round(100 * 2 / 19.6, 2), "cobalt_pre_consumer_pct": round(100 * 2 / 19.6, 2),
            "cobalt_post_consumer_pct": 0.0}
    assert hand["lithium_pct"] == 20.41 and hand["lithium_pre_consumer_pct"] == 6.12 and hand["cobalt_pct"] == 10.2
    for incremental in (True, False):
        groups = q.recycled_content_groups(year=2024, incremental=incremental)
        assert [(g["model_id"], g["plant"], g["year"], g["packs"]) for g in groups] == [
            ("EM-NMC811-82", "Wolfsburg", 2024, ["P1", "P2"])]
        assert groups[0]["fields"] == hand, incremental
    assert q.recycled_content_groups(year=2023) == []
    # the whole table agrees (kept sums and full pass), with each metal's split
    kept, full = q.recycled_content_table(), q.recycled_content_table(incremental=False)
    _same(kept, full)
    li = kept["rows"][0]["elements"]["Li"]
    assert (li["pre_consumer"], li["post_consumer"]) == (pytest.approx(6 / 98), pytest.approx(14 / 98))


def test_a_lot_reprocessed_in_part_inside_its_account_keeps_the_credit_of_what_it_shipped(store: Any) -> None:
    """Review finding F3: re-processing 2 % of a cathode lot within its own account made the whole lot an
    intermediate, so the 98 % already shipped lost its credit (NMC811 Co 8.97 → 2.55 %). By hand: the cathode
    plant's account 2024 takes 10 kg recovered Li among 100; its lot "cam" (550 kg, 100 kg Li) goes 539 kg to the
    pack plant and 11 kg (2 %) into "cam-re" (2 kg Li) inside the account. Final: 98 % of cam (98 kg Li) and cam-re
    (2 kg): rate 10/100; the pack's 98 kg Li hold 9.8 kg recycled, 10 % (before: 0, the credit all on cam-re)."""
    register_participants(ParticipantService(store), demo_signers())
    from batteryloop.sim import pilot
    from batteryloop.sim.supply_chain import CAM_KR, MINE_CL
    from batteryloop.trace.canonical import GENESIS, canonical_json, sha256_hex

    signers = demo_signers()
    heads: dict[str, str] = {}
    events: list[dict[str, Any]] = []

    def ev(eid: str, kind: str, actor: str, at: str, site: str, inputs: list[Any], outputs: list[Any]) -> None:
        chain = sorted({*(i["lot"] for i in inputs), *(o["lot"] for o in outputs)})
        body = {"actor": actor, "data": {}, "id": eid, "inputs": inputs, "kind": kind, "occurred_at": at,
                "outputs": outputs, "place": {"country": "KR", "site": site},
                "prev": {s: heads.get(s, GENESIS) for s in chain}, "subjects": []}
        h = sha256_hex(canonical_json(body))
        for s in chain:
            heads[s] = h
        events.append({**body, "signature": signers[actor].sign_hash(h)})

    ev("e1", "extraction", MINE_CL, "2024-01-02T00:00:00.000000Z", "Atacama", [], [
        {"elements_kg": {"Li": 90.0}, "kind": "material", "lot": "li-prim", "mass_kg": 500.0,
         "material": "lithium carbonate", "origin": {"country": "CL", "site": "Atacama", "type": "primary"}}])
    ev("e2", "material_recovery", pilot.RECYCLER_EU, "2024-01-03T00:00:00.000000Z", "Hydromet", [
        {"lot": _waste(ev, "li-rec", "Li", 10.0, 60.0, True), "mass_kg": 60.0}], [
        {"elements_kg": {"Li": 10.0}, "kind": "material", "lot": "li-rec", "mass_kg": 60.0,
         "origin": {"certified_by": pilot.RECYCLER_EU, "country": "DE", "site": "Hydromet", "type": "post_consumer"}}])
    ev("e3", "cathode_production", CAM_KR, "2024-02-01T00:00:00.000000Z", "Gwangyang", [
        {"lot": "li-prim", "mass_kg": 500.0}, {"lot": "li-rec", "mass_kg": 60.0}], [
        {"elements_kg": {"Li": 100.0}, "kind": "material", "lot": "cam", "mass_kg": 550.0}])
    ev("e4", "pack_assembly", pilot.AUTOMAKER, "2024-03-01T00:00:00.000000Z", "Wolfsburg", [
        {"lot": "cam", "mass_kg": 539.0}], [
        {"elements_kg": {"Li": 98.0}, "kind": "pack", "lot": "P1", "mass_kg": 539.0, "model_id": "EM-NMC811-82"}])
    ev("e5", "cathode_production", CAM_KR, "2024-06-01T00:00:00.000000Z", "Gwangyang", [
        {"lot": "cam", "mass_kg": 11.0}], [
        {"elements_kg": {"Li": 2.0}, "kind": "material", "lot": "cam-re", "mass_kg": 11.0}])
    ledger, q, summary = Ledger(store), TraceQueries(store), MassBalanceSummary(store)
    for i in range(0, len(events), 3):  # refreshed in steps: the re-processing arrives after the shipment
        assert ledger.ingest(events[i:i + 3], workers=1).ok
        summary.refresh()
    kept = q.recycled_content(model_id="EM-NMC811-82", year=2024)
    li = kept["elements"]["Li"]
    assert li["recycled_kg"] == pytest.approx(9.8, rel=1e-12) and li["post_consumer"] == pytest.approx(0.1, rel=1e-12)
    _same(kept, q.recycled_content(model_id="EM-NMC811-82", year=2024, incremental=False))
    _same(q.recycled_content(pack_id="P1"), q.recycled_content(pack_id="P1", incremental=False))


def _sums(store: Any) -> list[Any]:
    """Every kept sum as stored (JSON text: floats to the last bit) and the mark."""
    with store.read() as conn:
        return [conn.execute(select(t).order_by(*t.primary_key.columns)).all()
                for t in (tt.trace_mb_flows, tt.trace_mb_demand, tt.trace_mb_outputs, tt.trace_mb_intermediate,
                          tt.trace_mb_mark)]


@pytest.fixture
def ledger_of(store: Any, monkeypatch: Any) -> tuple[list[dict[str, Any]], Ledger]:
    """A registry ledger (material flows, recycling back into cathodes) and batches of 40 events."""
    from batteryloop.trace import mb_summary

    monkeypatch.setattr(mb_summary, "BATCH", 40)
    register_participants(ParticipantService(store), demo_signers())
    return _wire(120), Ledger(store)


def _losing_to(monkeypatch: Any, loser: MassBalanceSummary, winner: MassBalanceSummary, times: int) -> None:
    """``loser``'s next ``times`` folds each lose the race: ``winner`` writes one batch between the fold and its
    write (the mark moves under it)."""
    fold, left = loser._fold, [times]

    def fold_then_winner_writes(conn: Any, mark: Any) -> Any:
        out = fold(conn, mark)
        if left[0] > 0:
            left[0] -= 1
            winner._refresh_once()
        return out

    monkeypatch.setattr(loser, "_fold", fold_then_winner_writes)


def test_a_refresh_that_lost_the_race_folds_again_from_the_new_mark(store: Any, ledger_of: Any, monkeypatch: Any) -> None:
    """Two refreshes at once (the pilot's worker behind the ledger and its main process; two API workers): each
    folds outside the write lock; the one whose write finds the mark moved folds again from there — no batch
    counted twice or lost: the figures are the full recomputation's."""
    wire, ledger = ledger_of
    assert ledger.ingest(wire, workers=1).ok
    a, b = MassBalanceSummary(store), MassBalanceSummary(store)
    refused: list[bool] = []
    write = a._write_if_unmoved
    _losing_to(monkeypatch, a, b, 2)

    def write_noting(conn: Any, mark: Any, f: Any) -> bool:
        ok = write(conn, mark, f)
        refused.append(not ok)
        return ok

    monkeypatch.setattr(a, "_write_if_unmoved", write_noting)
    a.refresh()
    assert refused[:2] == [True, True] and not any(refused[2:])
    assert MassBalanceSummary(store).refresh() == 0
    _check_all(TraceQueries(store), store)


def test_a_refresh_that_keeps_losing_folds_under_the_lock(store: Any, ledger_of: Any, monkeypatch: Any) -> None:
    from batteryloop.trace import mb_summary

    wire, ledger = ledger_of
    assert ledger.ingest(wire, workers=1).ok
    a, b = MassBalanceSummary(store), MassBalanceSummary(store)
    under_lock: list[int] = []
    batch = a._refresh_batch
    _losing_to(monkeypatch, a, b, mb_summary.OPTIMISTIC_TRIES)

    def noting(conn: Any) -> int:
        under_lock.append(1)
        return batch(conn)

    monkeypatch.setattr(a, "_refresh_batch", noting)
    assert a._refresh_once() == mb_summary.BATCH  # three folds lost to b's three batches, the fourth under the lock
    assert under_lock == [1]
    with store.read() as conn:
        assert mb_summary.repo.read_mark(conn) == 4 * mb_summary.BATCH
    MassBalanceSummary(store).refresh()
    _check_all(TraceQueries(store), store)


def test_whole_batches_cut_the_ledger_as_the_callers_refreshes_do(tmp_path: Any, monkeypatch: Any) -> None:
    """The worker behind the ledger folds whole batches only, whenever it runs; the caller refreshes at its own
    points. The sums stored are then the same to the last bit as when the caller alone refreshes: the same
    batches, added in the same order."""
    from batteryloop.store.db import Store
    from batteryloop.trace import mb_summary

    monkeypatch.setattr(mb_summary, "BATCH", 40)
    wire = _wire(120)
    stores = []
    for name, worker in (("alone", False), ("with-worker", True)):
        st = Store(f"sqlite:///{tmp_path}/{name}.db")
        st.upgrade()
        register_participants(ParticipantService(st), demo_signers())
        ledger, s = Ledger(st), MassBalanceSummary(st)
        cuts = [0, 55, 130, 171, len(wire)]  # the caller refreshes after the 2nd and 4th part
        for k, (lo, hi) in enumerate(zip(cuts, cuts[1:])):
            for i in range(lo, hi, 7):  # the worker runs after every few events
                assert ledger.ingest(wire[i:min(i + 7, hi)], workers=1).ok
                if worker:
                    n = s.refresh(whole_batches_only=True)
                    assert n % mb_summary.BATCH == 0
            if k % 2:
                s.refresh()
        stores.append(st)
    assert _sums(stores[0]) == _sums(stores[1])
    with stores[1].read() as conn:
        assert mb_summary.repo.read_mark(conn) == len(wire)


def test_a_refresh_in_the_background_that_keeps_losing_gives_up(store: Any, ledger_of: Any, monkeypatch: Any) -> None:
    """Review finding: the worker's refresh (whole batches only) that lost three races fell back to folding under
    the lock — holding the pilot's writes up for a whole fold from a low-priority process, and folding whatever
    followed the mark, a tail too (a batch the caller's refreshes would not cut). It gives up instead."""
    from batteryloop.trace import mb_summary

    wire, ledger = ledger_of
    assert ledger.ingest(wire, workers=1).ok
    worker, caller = MassBalanceSummary(store), MassBalanceSummary(store)
    _losing_to(monkeypatch, worker, caller, mb_summary.OPTIMISTIC_TRIES + 1)  # it would lose a fourth time too

    def never(conn: Any) -> int:
        raise AssertionError("folded under the lock")

    monkeypatch.setattr(worker, "_refresh_batch", never)
    assert worker.refresh(whole_batches_only=True) == 0
    with store.read() as conn:
        assert mb_summary.repo.read_mark(conn) == 3 * mb_summary.BATCH  # the caller's three batches, no more
    MassBalanceSummary(store).refresh()
    _check_all(TraceQueries(store), store)


def test_refreshes_in_threads_while_the_ledger_grows(store: Any, monkeypatch: Any) -> None:
    """Three refreshes at once in a loop (two whole-batch ones, as the pilot's worker; one full) while the ledger
    is appended: no batch counted twice or lost, on either store."""
    from batteryloop.trace import mb_summary

    monkeypatch.setattr(mb_summary, "BATCH", 7)
    register_participants(ParticipantService(store), demo_signers())
    wire, ledger = _wire(120), Ledger(store)
    stop, errors, folded = threading.Event(), [], []

    def spin(whole: bool) -> None:
        s = MassBalanceSummary(store)
        try:
            while not stop.is_set():
                folded.append(s.refresh(whole_batches_only=whole))
        except Exception as exc:  # noqa: BLE001 — reported below
            errors.append(exc)

    threads = [threading.Thread(target=spin, args=(w,)) for w in (True, True, False)]
    for t in threads:
        t.start()
    try:
        for i in range(0, len(wire), 11):
            assert ledger.ingest(wire[i:i + 11], workers=1).ok
    finally:
        stop.set()
        for t in threads:
            t.join(60)
    assert not errors, errors
    assert sum(folded) + MassBalanceSummary(store).refresh() == len(wire)  # each event folded once
    _check_all(TraceQueries(store), store)


def test_two_first_refreshes_at_once_on_postgresql(pg_store: Any, monkeypatch: Any) -> None:
    """No mark row yet: two refreshes both see none and both make it. On PostgreSQL (READ COMMITTED) the second
    one's write may even read the first one's sums — its insert of the mark then fails and the whole transaction
    is rolled back (IntegrityError, caught: folded again from the first one's mark). SQLite's writers take the
    lock at BEGIN: the second waits, then finds the mark moved (``test_a_refresh_that_lost_the_race…``)."""
    from batteryloop.trace import mb_summary

    store = pg_store
    monkeypatch.setattr(mb_summary, "BATCH", 40)
    register_participants(ParticipantService(store), demo_signers())
    wire, ledger = _wire(120), Ledger(store)
    assert ledger.ingest(wire, workers=1).ok
    a, b = MassBalanceSummary(store), MassBalanceSummary(store)
    real, me, raced = mb_summary.repo.lock_mark, threading.get_ident(), []

    def lock_mark(conn: Any) -> Any:
        got = real(conn)  # a: no row to lock
        if threading.get_ident() == me and not raced:
            raced.append(1)
            t = threading.Thread(target=lambda: raced.append(b._refresh_once()))
            t.start()  # b folds, writes its sums and the mark, and commits before a goes on
            t.join(30)
            assert not t.is_alive()
        return got

    monkeypatch.setattr(mb_summary.repo, "lock_mark", lock_mark)
    assert a._refresh_once() == mb_summary.BATCH and raced == [1, mb_summary.BATCH]
    with store.read() as conn:
        assert mb_summary.repo.read_mark(conn) == 2 * mb_summary.BATCH
    MassBalanceSummary(store).refresh()
    _check_all(TraceQueries(store), store)
