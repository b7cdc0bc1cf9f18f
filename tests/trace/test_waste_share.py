"""Recycled content is recovered from what waste brought, not from what a lot made with waste holds.

Review 13b, finding 1: the rule of test_recycled_origin.py was laundered in two events — a supplier mixed 1 kg of a
used module (0.2 kg Li) with 1000 kg of primary salt into a "material" and the recycler certified 180 kg of
post-consumer Li from it (A1); the recycler ran a ``cell_production`` on primary salt and recovered pre-consumer
Li from its own cell batch (A2); a refiner output primary salt as kind ``scrap`` (A2b). The rule now counts, for a
lot made from waste, only the element mass its waste inputs brought (its lot edges × each input's waste share,
carried through as many material steps as it takes), and a lot is waste as a whole only when a manufacturer's
cell, module or pack production made it (black mass: when dismantling or recycling made it of waste).
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

REC, REC_KR = pilot.RECYCLER_EU, pilot.RECYCLER_KR
PRIMARY = {"type": "primary", "country": "CL", "site": "Atacama"}


def _origin(typ: str, certifier: str = REC) -> dict[str, Any]:
    return {"type": typ, "country": "DE", "site": "Magdeburg", "certified_by": certifier}


def _primary(w: ChainWriter, ledger: Ledger, lot: str = "prim", li: float = 188.0) -> None:  # event e00
    assert ledger.ingest([w.wire(ev(0, "extraction", sim.MINE_CL, "CL", "Atacama",
                                    outputs=[out(lot, "material", 1000, {"Li": li}, PRIMARY)]))]).ok


def _refused(ledger: Ledger, w: ChainWriter, event: dict[str, Any]) -> dict[str, Any]:
    with pytest.raises(InvalidData) as e:
        ledger.submit(w.wire(event))
    with pytest.raises(Exception):
        ledger.get_event(event["id"])  # nothing stored
    return e.value.errors[0]  # type: ignore[no-any-return]


def _mix(li_kg: float = 188.2) -> dict[str, Any]:
    """A1's first step: the refiner (a supplier) mixes 1 kg of the used module with 1000 kg of primary salt."""
    return ev(1, "refining", sim.REFINER_CN, "CN", "Jiangxi", inputs=[{"lot": "mod", "mass_kg": 1},
                                                                     {"lot": "prim", "mass_kg": 1000}],
              outputs=[out("mix", "material", 1000, {"Li": li_kg})])


def test_a_material_mixed_from_waste_and_primary_yields_only_the_wastes_share(ledger: Ledger, signers) -> None:  # type: ignore[no-untyped-def]
    w = ChainWriter(signers)
    assert ledger.ingest([w.wire(e) for e in waste_events("mod", 100, {"Li": 20})]).ok
    _primary(w, ledger)
    assert ledger.submit(w.wire(_mix())).status == "stored"
    # 1 kg of the module brought 0.2 kg Li into the mix: 180 kg is refused, naming what the waste brought
    err = _refused(ledger, w, ev(2, "material_recovery", REC, "DE", "Magdeburg", inputs=[{"lot": "mix", "mass_kg": 1000}],
                                 outputs=[out("fake", "material", 900, {"Li": 180}, _origin("post_consumer"))]))
    assert (err["field"], err["rule"], err["value"]) == ("outputs.elements_kg.Li", "recycled_from_waste", 180)
    assert "waste consumed brought 0.2 kg" in err["message"]
    # half the mix brings half of it; 0.1 kg is what may be recovered from it
    w = ChainWriter(signers, ledger.heads(["mix"]))
    err = _refused(ledger, w, ev(3, "material_recovery", REC, "DE", "Magdeburg", inputs=[{"lot": "mix", "mass_kg": 500}],
                                 outputs=[out("fake2", "material", 1, {"Li": 0.11}, _origin("post_consumer"))]))
    assert "waste consumed brought 0.1 kg" in err["message"]
    w = ChainWriter(signers, ledger.heads(["mix"]))
    assert ledger.submit(w.wire(ev(4, "material_recovery", REC, "DE", "Magdeburg", inputs=[{"lot": "mix", "mass_kg": 500}],
                                   outputs=[out("honest", "material", 0.5, {"Li": 0.1}, _origin("post_consumer"))]))
                         ).status == "stored"
    assert ledger.verify_policy().ok


def test_verify_policy_names_a_laundering_recovery_in_the_store(ledger: Ledger, signers, store) -> None:  # type: ignore[no-untyped-def]
    w = ChainWriter(signers)
    assert ledger.ingest([w.wire(e) for e in waste_events("mod", 100, {"Li": 20})]).ok
    _primary(w, ledger)
    assert ledger.submit(w.wire(_mix())).status == "stored"
    assert ledger.verify_policy().ok
    bad = ev(2, "material_recovery", REC, "DE", "Magdeburg", inputs=[{"lot": "mix", "mass_kg": 1000}],
             outputs=[out("fake", "material", 900, {"Li": 180}, _origin("post_consumer"))])
    _slip_in(store, w.sign(bad), 10)
    rep = ledger.verify_policy()
    assert [(p.event_id, p.rule) for p in rep.problems] == [("e02", "policy_recycled_from_waste")]
    assert "brought 0.2 kg" in rep.problems[0].message


@pytest.mark.parametrize("maker", [REC, sim.REFINER_CN])
def test_cells_or_modules_made_by_a_non_manufacturer_are_no_waste_of_their_own(ledger: Ledger, signers, maker) -> None:  # type: ignore[no-untyped-def]
    """A2: a recycler (or a refiner) "produces cells" from primary salt and recovers pre-consumer Li from them;
    the same with a module for post-consumer. Made by a manufacturer (waste_events: the Japanese cell maker),
    they are waste (test_recycled_origin.py)."""
    w = ChainWriter(signers)
    _primary(w, ledger)
    assert ledger.ingest([w.wire(e) for e in [
        ev(1, "cell_production", maker, "DE", "Magdeburg", inputs=[{"lot": "prim", "mass_kg": 500}],
           outputs=[out("cb", "cell_batch", 500, {"Li": 94})]),
        ev(2, "module_assembly", maker, "DE", "Magdeburg", inputs=[{"lot": "prim", "mass_kg": 500}],
           outputs=[out("md", "module", 500, {"Li": 94})])]]).ok
    err = _refused(ledger, w, ev(3, "material_recovery", REC, "DE", "Magdeburg", inputs=[{"lot": "cb", "mass_kg": 500}],
                                 outputs=[out("fake", "material", 400, {"Li": 90}, _origin("pre_consumer"))]))
    assert (err["field"], err["rule"]) == ("inputs", "recycled_from_waste")
    assert "pre_consumer" in err["message"] and "manufacturer" in err["message"]
    w = ChainWriter(signers, ledger.heads(["md"]))
    err = _refused(ledger, w, ev(4, "material_recovery", REC, "DE", "Magdeburg", inputs=[{"lot": "md", "mass_kg": 500}],
                                 outputs=[out("fake", "material", 400, {"Li": 90}, _origin("post_consumer"))]))
    assert (err["field"], err["rule"]) == ("inputs", "recycled_from_waste")


def test_primary_salt_labelled_scrap_or_black_mass_is_no_waste(ledger: Ledger, signers) -> None:  # type: ignore[no-untyped-def]
    """A2b: a refining outputs primary salt as kind scrap (and black mass): recovered as pre-consumer, refused."""
    w = ChainWriter(signers)
    _primary(w, ledger)
    assert ledger.submit(w.wire(ev(1, "refining", sim.REFINER_CN, "CN", "Jiangxi", inputs=[{"lot": "prim", "mass_kg": 1000}],
                                   outputs=[out("scr", "scrap", 500, {"Li": 94}), out("bm", "black_mass", 500, {"Li": 94})]))
                         ).status == "stored"
    for n, lot in ((2, "scr"), (3, "bm")):
        w = ChainWriter(signers, ledger.heads([lot]))
        err = _refused(ledger, w, ev(n, "material_recovery", REC_KR, "KR", "Ochang", inputs=[{"lot": lot, "mass_kg": 500}],
                                     outputs=[out(f"fake{n}", "material", 450, {"Li": 90}, _origin("pre_consumer", REC_KR))]))
        assert (err["field"], err["rule"]) == ("inputs", "recycled_from_waste")


def test_a_longer_hydromet_chain_carries_the_waste_share(ledger: Ledger, signers) -> None:  # type: ignore[no-untyped-def]
    """module → black mass → leach liquor → SX solution → Li2CO3: the recycler's own steps carry what the module
    brought (each step no more than its own content); primary Li added at a step is not recycled Li."""
    w = ChainWriter(signers)
    assert ledger.ingest([w.wire(e) for e in waste_events("mod", 100, {"Li": 20})]).ok
    _primary(w, ledger, li=188.0)

    def step(n: int, ins: list[dict[str, Any]], o: dict[str, Any]) -> dict[str, Any]:
        return ev(n, "recycling", REC, "DE", "Magdeburg", data={"process": "hydrometallurgical"}, inputs=ins, outputs=[o])
    assert ledger.ingest([w.wire(e) for e in [
        step(1, [{"lot": "mod", "mass_kg": 100}], out("bm", "black_mass", 90, {"Li": 19})),
        step(2, [{"lot": "bm", "mass_kg": 90}], out("liq", "material", 80, {"Li": 18.5})),
        # the SX step takes 10 kg primary salt too (1.88 kg Li): the solution holds 20 kg Li, 18.5 of it waste's
        step(3, [{"lot": "liq", "mass_kg": 80}, {"lot": "prim", "mass_kg": 10}], out("sx", "material", 90, {"Li": 20}))]]).ok
    err = _refused(ledger, w, ev(4, "material_recovery", REC, "DE", "Magdeburg", inputs=[{"lot": "sx", "mass_kg": 90}],
                                 outputs=[out("li2co3", "material", 85, {"Li": 19}, _origin("post_consumer"))]))
    assert (err["rule"], err["value"]) == ("recycled_from_waste", 19) and "brought 18.5 kg" in err["message"]
    w = ChainWriter(signers, ledger.heads(["sx"]))
    assert ledger.submit(w.wire(ev(5, "material_recovery", REC, "DE", "Magdeburg", inputs=[{"lot": "sx", "mass_kg": 90}],
                                   outputs=[out("li2co3", "material", 85, {"Li": 18.4}, _origin("post_consumer"))]))
                         ).status == "stored"
    assert ledger.verify_policy().ok


def test_the_chain_in_one_batch(ledger: Ledger, signers) -> None:  # type: ignore[no-untyped-def]
    """The lots a recovery consumes may be made in the same ingest (not in the store yet)."""
    w = ChainWriter(signers)
    assert ledger.ingest([w.wire(e) for e in waste_events("mod", 100, {"Li": 20})]).ok
    _primary(w, ledger)
    evs = [_mix(), ev(2, "material_recovery", REC, "DE", "Magdeburg", inputs=[{"lot": "mix", "mass_kg": 1000}],
                      outputs=[out("fake", "material", 900, {"Li": 180}, _origin("post_consumer"))])]
    rep = ledger.ingest([w.wire(e) for e in evs])
    assert not rep.ok and rep.error is not None and rep.error["event_id"] == "e02"
    assert rep.error["errors"][0]["rule"] == "recycled_from_waste"


def test_verify_of_one_recycled_lot_reads_the_lots_its_recovery_consumed(ledger: Ledger, signers) -> None:  # type: ignore[no-untyped-def]
    """`trace verify --subject <recycled lot>` replays only that lot's chain: the recovery's input lots (the
    used module, the leach liquor) are not in it, and are read from the store — a clean store verifies clean
    (it reported policy_recycled_from_waste on the pilot's own recoveries)."""
    w = ChainWriter(signers)
    assert ledger.ingest([w.wire(e) for e in waste_events("mod", 100, {"Li": 20})]).ok
    assert ledger.ingest([w.wire(e) for e in [
        ev(1, "recycling", REC, "DE", "Magdeburg", data={"process": "hydrometallurgical"},
           inputs=[{"lot": "mod", "mass_kg": 50}], outputs=[out("liq", "material", 40, {"Li": 9.5})]),
        ev(2, "material_recovery", REC, "DE", "Magdeburg", inputs=[{"lot": "mod", "mass_kg": 50}],
           outputs=[out("salt-a", "material", 45, {"Li": 9.9}, _origin("post_consumer"))]),
        ev(3, "material_recovery", REC, "DE", "Magdeburg", inputs=[{"lot": "liq", "mass_kg": 40}],
           outputs=[out("salt-b", "material", 38, {"Li": 9.4}, _origin("post_consumer"))])]]).ok
    for lot in ("salt-a", "salt-b"):
        rep = ledger.verify_policy(subject=lot)
        assert rep.ok and rep.events_checked == 1, [p.as_dict() for p in rep.problems]
    assert ledger.verify_policy().ok
