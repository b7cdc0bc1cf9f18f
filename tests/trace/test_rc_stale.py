"""An applied year's recycled content is marked stale by any late transformation dated in or before it.

Review 13b, finding 2: a back-dated ``recycling`` of a cathode lot (an end-of-life kind) changed the figures of
the applied years — the mass balance moves mass whatever the event's kind — but did not mark them stale.
"""

from __future__ import annotations

from batteryloop.sim import supply_chain as sim
from batteryloop.store import rc_years as rc_years_repo
from batteryloop.trace.client import ChainWriter
from batteryloop.trace.ledger import Ledger

from .test_queries import out

PRIMARY = {"type": "primary", "country": "CL", "site": "Atacama"}


def _ev(eid: str, kind: str, actor: str, at: str, **kw) -> dict:  # type: ignore[no-untyped-def]
    return {"id": eid, "kind": kind, "actor": actor, "occurred_at": at, "place": {"country": "KR", "site": "Gwangyang"}, **kw}


def test_a_late_recycling_marks_the_applied_years_stale(ledger: Ledger, signers, store) -> None:  # type: ignore[no-untyped-def]
    w = ChainWriter(signers)
    assert ledger.ingest([w.wire(e) for e in [
        _ev("x", "extraction", sim.MINE_CL, "2024-01-05T00:00:00Z", outputs=[out("salt", "material", 5000, {"Li": 940}, PRIMARY)]),
        _ev("cam", "cathode_production", sim.CAM_KR, "2024-02-01T00:00:00Z", inputs=[{"lot": "salt", "mass_kg": 5000}],
            outputs=[out("cam-lot", "material", 5000, {"Li": 940})])]]).ok
    store.run_write(lambda c: rc_years_repo.set_applied(c, [2024, 2025], "2026-01-01T00:00:00Z", ()))
    with store.read() as c:
        assert rc_years_repo.years(c) == {2024: (None, None), 2025: (None, None)}
    # the cathode maker re-processes 3000 kg of its own 2024 cathode lot in-house, back-dated into 2024
    late = _ev("late-recycling", "recycling", sim.CAM_KR, "2024-12-31T23:00:00Z", data={"process": "hydrometallurgical"},
               inputs=[{"lot": "cam-lot", "mass_kg": 3000}], outputs=[out("late-out", "material", 2970, {"Li": 558})])
    assert ledger.submit(w.wire(late)).status == "stored"
    with store.read() as c:
        got = rc_years_repo.years(c)
    assert {y: v[1] for y, v in got.items()} == {2024: "late-recycling", 2025: "late-recycling"}
    assert all(v[0] for v in got.values())
