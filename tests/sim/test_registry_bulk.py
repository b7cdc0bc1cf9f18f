"""The bulk registry generator (bench/registry_scale.py) writes exactly the rows the ledger and the passport
service would have stored: its events go through the real ledger (schema, signature, custody rules, chains,
mass balance) and every table the ledger derives is compared row by row with the generated one."""

from __future__ import annotations

import orjson
from sqlalchemy import insert, select

from batteryloop.access import Caller
from batteryloop.identity import ParticipantService
from batteryloop.participants import Role
from batteryloop.passport.service import PassportService
from batteryloop.passport.versions import StoredVersion, verify_chain
from batteryloop.sim import pilot
from batteryloop.sim.registry_bulk import COLUMNS, RegistryGenerator
from batteryloop.sim.supply_chain import demo_signers, register_participants
from batteryloop.store import trace_tables as tt
from batteryloop.store.tables import passport_versions, passports
from batteryloop.trace.ledger import Ledger


def _generate(n: int, **kw) -> dict[str, list[tuple]]:  # type: ignore[no-untyped-def]
    rows: dict[str, list[tuple]] = {t: [] for t in COLUMNS}
    for chunk in RegistryGenerator(n, check=True, **kw).chunks():
        for t, r in chunk.rows.items():
            rows[t] += r
    return rows


def test_generated_rows_are_what_the_ledger_stores(sqlite_store) -> None:  # type: ignore[no-untyped-def]
    store = sqlite_store
    register_participants(ParticipantService(store), demo_signers())
    svc = PassportService(store, base_url="http://testserver", issuing_agency_code="BL")
    op = Caller(pilot.AUTOMAKER, frozenset({Role.MANUFACTURER}))
    for m in pilot.battery_models():
        svc.create_model(m, op)
    # 200 packs over 8 model-years, the older half retired at 60 %: recycling runs and their recovered lots
    # feed later cathodes
    gen = _generate(200, packs_per_batch=10, eol_share=0.6, chunk_passports=50)
    kinds = {r[3] for r in gen["trace_events"]}
    assert {"extraction", "refining", "cathode_production", "cell_production", "pack_assembly", "passport_issued",
            "installation", "soh_update", "retirement_test", "change_of_owner", "recycling",
            "material_recovery"} <= kinds
    recycled_in = {i["lot"] for r in gen["trace_events"] if r[3] == "cathode_production"
                   for i in orjson.loads(r[8])["inputs"]}
    assert any(x.startswith("rec-") for x in recycled_in), "recovered material never went back into a cathode"
    assert 4.0 <= len(gen["trace_events"]) / 200 <= 6.0

    with store.write() as conn:
        conn.execute(insert(passports), [dict(zip(COLUMNS["passports"], r)) for r in gen["passports"]])
        conn.execute(insert(passport_versions), [dict(zip(COLUMNS["passport_versions"], r))
                                                 for r in gen["passport_versions"]])
    wire = [{**orjson.loads(r[8]), "signature": r[9]} for r in gen["trace_events"]]
    ledger = Ledger(store)
    rep = ledger.ingest(wire, workers=1)
    assert rep.ok, rep.error
    assert rep.stored == len(wire)

    def table(t, cols):  # type: ignore[no-untyped-def]
        with store.read() as conn:
            return sorted(tuple(r) for r in conn.execute(select(*[t.c[c] for c in cols])))

    ev_cols = ("id", "hash", "kind", "actor", "occurred_at", "country", "body", "signature")
    assert table(tt.trace_events, ev_cols) == sorted(tuple(r[COLUMNS["trace_events"].index(c)] for c in ev_cols)
                                                     for r in gen["trace_events"])
    for t in (tt.trace_chain, tt.trace_lots, tt.trace_lot_edges, tt.trace_pack_sources, tt.trace_custody):
        assert table(t, COLUMNS[t.name]) == sorted(gen[t.name]), t.name
    for check in (ledger.verify_store(full_schema=True), ledger.verify_policy(), ledger.verify_derived()):
        assert check.ok, check.problems[:3]
    # recall's jumps over packs (migration 0014), written by the ledger's appends, are what the lot edges and pack
    # sources give (the migration's fill, trace_reach.rebuild) and what verify_derived recomputes from the events
    from batteryloop.store import trace_reach

    with store.read() as conn:
        kept = trace_reach.stored(conn)
    assert any(k == "black_mass" for _, _, k in kept), "no recycled pack: nothing for the jumps to carry"
    with store.write() as conn:
        trace_reach.rebuild(conn)
        assert trace_reach.stored(conn) == kept
        gone = min(kept)
        conn.execute(tt.trace_recall_jumps.delete().where(tt.trace_recall_jumps.c.target_id == gone[0],
                                                          tt.trace_recall_jumps.c.source_id == gone[1]))
    check = ledger.verify_derived()
    assert [(p.rule, p.message.split(" ")[0]) for p in check.problems] == [("derived_missing", "trace_recall_jumps")]
    # a late pack's lineage stops at the recovered lots it contains (sources), not climbing through the recycling
    # run to the black mass and the earlier packs behind it; its origin shares add up to the whole element
    from batteryloop.store import trace_queries
    from batteryloop.trace.queries import TraceQueries

    late = max((r for r in gen["trace_lots"] if r[1] == "pack"), key=lambda r: r[14])[0]
    with store.read() as conn:
        up = trace_queries.upstream_lots(conn, late)
    assert any(r[6] == "post_consumer" for r in up), "the late pack should contain recovered material"
    assert not [r[0] for r in up if r[1] in ("black_mass", "pack") and r[0] != late]
    lin = TraceQueries(store).lineage(late)
    for el, shares in lin["origin_share"].items():
        assert abs(sum(shares.values()) - 1.0) < 1e-6, (el, shares)
    assert any(k.endswith(":post_consumer") for k in lin["origin_share"]["Li"])
    # the passports read back through the service, their version hashes verify
    view = svc.get_view(gen["passports"][0][0], Caller(None, frozenset()))
    assert view["passport_id"] == gen["passports"][0][0]
    r = gen["passport_versions"][-1]
    assert verify_chain([StoredVersion(passport_id=r[0], version=r[1], hash=r[2], prev_hash=r[3], author=r[4],
                                       reason=r[5], created_at=r[6], content=orjson.loads(r[7]))]) == []


def test_deterministic_per_seed_and_shards_disjoint() -> None:
    a = _generate(30, packs_per_batch=10)
    b = _generate(30, packs_per_batch=10)
    assert a == b
    other = {r[1] for c in RegistryGenerator(30, shard=1, packs_per_batch=10).chunks() for r in c.rows["trace_events"]}
    assert not other & {r[1] for r in a["trace_events"]}
