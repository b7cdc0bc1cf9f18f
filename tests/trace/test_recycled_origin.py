"""Art. 8 recycled content starts at a recovery: who may produce lots of recycled origin, from what.

Review finding F1: the cathode supplier (role supplier, not recycler) posted a ``material_recovery`` with no
inputs, 10 t of "post-consumer" Li ``certified_by`` a recycler that never signed; it was stored, verified and
raised an automaker's recycled-content figures. A lot of recycled origin is now certified by the recycler that
recovers it (the event's actor, with the recycler role) and recovered from waste the event consumes, per
element no more than that waste brought — at admission and in the replay of ``verify_policy``.
"""

from __future__ import annotations

from typing import Any

import pytest

from batteryloop.errors import InvalidData
from batteryloop.sim import pilot
from batteryloop.sim import supply_chain as sim
from batteryloop.trace.client import ChainWriter
from batteryloop.trace.ledger import Ledger

from .test_mutation_ledger import _slip_in
from .test_queries import ev, out, waste_events

REC = pilot.RECYCLER_EU


def _origin(typ: str, certifier: str = REC) -> dict[str, Any]:
    return {"type": typ, "country": "DE", "site": "Magdeburg", "certified_by": certifier}


def _recovery(n: int, actor: str, inputs: list[dict[str, Any]], li_kg: float, typ: str = "post_consumer",
              certifier: str | None = None) -> dict[str, Any]:
    return ev(n, "material_recovery", actor, "DE", "Magdeburg", inputs=inputs,
              outputs=[out(f"rec-{n}", "material", li_kg / 0.2, {"Li": li_kg},
                           _origin(typ, certifier or actor))])


def _refused(ledger: Ledger, w: ChainWriter, event: dict[str, Any]) -> dict[str, Any]:
    with pytest.raises(InvalidData) as e:
        ledger.submit(w.wire(event))
    assert e.value.extra["event_id"] == event["id"]
    with pytest.raises(Exception):
        ledger.get_event(event["id"])  # nothing stored
    return e.value.errors[0]  # type: ignore[no-any-return]


def test_a_supplier_cannot_mint_recycled_lots_from_nothing(ledger: Ledger, signers) -> None:  # type: ignore[no-untyped-def]
    """The review's case: CK6 (supplier) names the Korean recycler as certifier, no inputs."""
    w = ChainWriter(signers)
    err = _refused(ledger, w, _recovery(1, sim.CAM_KR, [], 10_000.0, certifier=pilot.RECYCLER_KR))
    assert (err["field"], err["rule"], err["value"]) == ("outputs[0].origin.certified_by", "certified_by_actor",
                                                         pilot.RECYCLER_KR)
    assert f"set certified_by to {sim.CAM_KR}" in err["message"] and f"have {pilot.RECYCLER_KR} record" in err["message"]
    # certifying itself does not help: it is no recycler
    err = _refused(ledger, w, _recovery(2, sim.CAM_KR, [], 10_000.0, typ="pre_consumer"))
    assert (err["field"], err["rule"]) == ("outputs[0].origin.certified_by", "certifier_is_recycler")


def test_a_recycler_recovers_from_waste_it_consumes(ledger: Ledger, signers) -> None:  # type: ignore[no-untyped-def]
    w = ChainWriter(signers)
    assert ledger.ingest([w.wire(e) for e in waste_events("used-mod", 100, {"Li": 20}) + waste_events(
        "rejects", 100, {"Li": 20}, kind="cell_batch", tag="r")]).ok
    assert ledger.ingest([w.wire(ev(9, "extraction", sim.MINE_CL, "CL", "Atacama", outputs=[
        out("prim", "material", 100, {"Li": 18.8}, {"type": "primary", "country": "CL", "site": "Atacama"})]))]).ok
    # nothing consumed
    err = _refused(ledger, w, _recovery(1, REC, [], 1.0))
    assert (err["field"], err["rule"]) == ("inputs", "recycled_from_waste")
    assert "consumes no black_mass or module or pack lot" in err["message"]
    # primary material only
    err = _refused(ledger, w, _recovery(2, REC, [{"lot": "prim", "mass_kg": 10}], 1.0))
    assert (err["field"], err["rule"]) == ("inputs", "recycled_from_waste")
    # used modules are no manufacturing scrap, rejected cells no used batteries
    err = _refused(ledger, w, _recovery(3, REC, [{"lot": "used-mod", "mass_kg": 10}], 1.0, typ="pre_consumer"))
    assert (err["field"], err["rule"]) == ("inputs", "recycled_from_waste") and "pre_consumer" in err["message"]
    err = _refused(ledger, w, _recovery(4, REC, [{"lot": "rejects", "mass_kg": 10}], 1.0))
    assert (err["field"], err["rule"]) == ("inputs", "recycled_from_waste")
    # 10 kg of the used module bring 2 kg Li; primary Li beside it is no recycled Li
    err = _refused(ledger, w, _recovery(5, REC, [{"lot": "used-mod", "mass_kg": 10}, {"lot": "prim", "mass_kg": 50}], 3.0))
    assert (err["field"], err["rule"], err["value"]) == ("outputs.elements_kg.Li", "recycled_from_waste", 3.0)
    assert "waste consumed brought 2 kg" in err["message"]
    # the honest ones are stored: 2 kg Li from 10 kg of used module (reagent-free here), pre-consumer from rejects
    w = ChainWriter(signers, ledger.heads(["used-mod", "rejects"]))  # the refused ones moved the writer's heads
    assert ledger.submit(w.wire(_recovery(6, REC, [{"lot": "used-mod", "mass_kg": 10}], 2.0))).status == "stored"
    assert ledger.submit(w.wire(_recovery(7, pilot.RECYCLER_KR, [{"lot": "rejects", "mass_kg": 10}], 1.9,
                                          typ="pre_consumer"))).status == "stored"
    assert ledger.verify_policy().ok


def test_a_leach_liquor_made_from_black_mass_counts_as_waste(ledger: Ledger, signers) -> None:  # type: ignore[no-untyped-def]
    """The pilot's post-consumer path: pack → black mass → leach liquor (a material) → salts with reagents."""
    w = ChainWriter(signers)
    assert ledger.ingest([w.wire(e) for e in waste_events("mod", 100, {"Li": 20})]).ok
    evs = [ev(1, "recycling", REC, "DE", "Magdeburg", data={"process": "hydrometallurgical"},
              inputs=[{"lot": "mod", "mass_kg": 100}], outputs=[out("bm", "black_mass", 90, {"Li": 19})]),
           ev(2, "recycling", REC, "DE", "Magdeburg", data={"process": "hydrometallurgical"},
              inputs=[{"lot": "bm", "mass_kg": 90}], outputs=[out("liquor", "material", 50, {"Li": 18})]),
           ev(3, "extraction", sim.REFINER_CN, "CN", "Jiangxi", outputs=[
               out("reagent", "material", 60, {}, {"type": "primary", "country": "CN", "site": "Jiangxi"})])]
    assert ledger.ingest([w.wire(e) for e in evs]).ok
    ok = ev(4, "material_recovery", REC, "DE", "Magdeburg",
            inputs=[{"lot": "liquor", "mass_kg": 50}, {"lot": "reagent", "mass_kg": 60}],
            outputs=[out("salt", "material", 95, {"Li": 17.9}, _origin("post_consumer"))])
    assert ledger.submit(w.wire(ok)).status == "stored"
    assert ledger.verify_policy().ok


def test_an_extraction_produces_no_waste(ledger: Ledger, signers) -> None:  # type: ignore[no-untyped-def]
    """Else black mass "mined" as primary could be recovered as post-consumer."""
    with pytest.raises(InvalidData) as e:
        ChainWriter(signers).wire(ev(1, "extraction", sim.MINE_CL, "CL", "Atacama", outputs=[
            out("bm", "black_mass", 100, {"Li": 10}, {"type": "primary", "country": "CL", "site": "Atacama"})]))
    assert e.value.errors[0]["rule"] == "extraction_kinds"


def test_verify_policy_names_a_minting_event_in_the_store(ledger: Ledger, signers, store) -> None:  # type: ignore[no-untyped-def]
    """An event that slipped in before the rule (or by a direct write): `trace verify` fails naming it."""
    w = ChainWriter(signers)
    assert ledger.submit(w.wire(ev(1, "extraction", sim.MINE_CL, "CL", "Atacama", outputs=[
        out("ore", "ore", 100, {"Li": 2}, {"type": "primary", "country": "CL", "site": "Atacama"})]))).status == "stored"
    assert ledger.verify_policy().ok
    _slip_in(store, w.sign(_recovery(2, sim.CAM_KR, [], 10_000.0, certifier=pilot.RECYCLER_KR)), 2)
    _slip_in(store, w.sign(_recovery(3, REC, [], 5.0)), 3)
    rep = ledger.verify_policy()
    assert [(p.event_id, p.rule) for p in rep.problems] == [("e02", "policy_certified_by_actor"),
                                                            ("e03", "policy_recycled_from_waste")]
    assert not rep.ok


def test_the_pilots_scrap_is_a_lot_the_recovery_consumes(ledger: Ledger, signers) -> None:  # type: ignore[no-untyped-def]
    """The pilot's pre-consumer salts came from a recovery with no inputs (51.6 kg scrap Li in 2017 against
    5.6 kg the cell plants recorded as lost). Now each cell batch's electrode scrap is a ``scrap`` lot of its
    ``cell_production``, and the scrap line's recovery consumes those lots: 95 % of their Li, Ni and Co."""
    import datetime as dt
    import random

    from batteryloop.sim.supply import SCRAP_FRACTION, Clock, MaterialChain, pack_materials

    class Wire:
        def __init__(self) -> None:
            self.w = ChainWriter(signers)

        def sign(self, data: dict[str, Any]) -> dict[str, Any]:
            return self.w.wire(data)

    chain = MaterialChain(Wire(), seed=3)
    at = Clock(dt.datetime(2024, 3, 1, tzinfo=dt.UTC), random.Random(1))
    model = {"model_id": "EM-NMC811-82", "chemistry": "NMC811", "cell_maker": pilot.CELL_KR}
    per = pack_materials("NMC811", 82.0)
    evs = list(chain.make_packs(model, per, [(f"PK-{i}", "DE", "Zwickau") for i in range(30)], at))
    evs += list(chain.recover_scrap(at))
    assert ledger.ingest(evs).ok
    cells = [e for e in evs if e["kind"] == "cell_production"]
    scrap = {o["lot"]: o for e in cells for o in e["outputs"] if o["kind"] == "scrap"}
    assert len(scrap) == len(cells) == 2  # 25 + 5 packs
    rec = [e for e in evs if e["kind"] == "material_recovery"]
    assert len(rec) == 1 and rec[0]["actor"] == pilot.RECYCLER_KR
    assert {i["lot"] for i in rec[0]["inputs"] if i["lot"] in scrap} == set(scrap)  # every scrap lot, whole
    assert all(i["mass_kg"] == scrap[i["lot"]]["mass_kg"] for i in rec[0]["inputs"] if i["lot"] in scrap)
    li_scrap = sum(o["elements_kg"]["Li"] for o in scrap.values())
    assert li_scrap == pytest.approx(per.cathode_elements_kg["Li"] * 30 * SCRAP_FRACTION, rel=1e-6)
    li_out = sum(o["elements_kg"].get("Li", 0) for o in rec[0]["outputs"])
    assert li_out == pytest.approx(0.95 * li_scrap, rel=1e-6)
    assert all(o["origin"]["type"] == "pre_consumer" for o in rec[0]["outputs"])
    assert ledger.verify_policy().ok
