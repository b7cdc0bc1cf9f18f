"""The outside review of the trust boundary (after the policy point landed): each way around it it found,
replayed over HTTP — refused now, with the legitimate action beside it still served."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterator
from typing import Any

import pytest

from batteryloop.trace.canonical import GENESIS
from batteryloop.trace.events import seal
from tests.security.conftest import register

EM, SUP, REC, SL, REP, MS = ("BPNL00000000REM1", "BPNL00000000RSU1", "BPNL00000000RRC1", "BPNL00000000RSL1",
                             "BPNL00000000RRP1", "BPNL00000000RMS1")
ROLES = {EM: ["manufacturer"], SUP: ["supplier", "manufacturer"], REC: ["recycler"], SL: ["second_life_operator"],
         REP: ["repairer"], MS: ["authority"]}
_n = itertools.count()


class W:
    def __init__(self, client: Any) -> None:
        self.c, self.s = client, client.services
        self.keys, self.tok = register(self.s, ROLES, "review")
        from batteryloop.sim import pilot

        model = next(m for m in pilot.battery_models() if m["model_id"] == "EM-NMC811-82")
        r = client.post("/api/v1/models", json={**model, "model_id": "REV-NMC", "manufacturer_id": EM}, headers=self.h(EM))
        assert r.status_code == 201, r.text

    def h(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tok[who]}"}

    def passport(self, op: str = EM, model: str = "REV-NMC") -> str:
        r = self.c.post("/api/v1/passports", headers=self.h(op), json={
            "model_id": model, "serial_number": f"R{next(_n):05d}", "economic_operator_id": op,
            "manufacture_date": "2025-01-10", "manufacture_country": "DE", "manufacture_site": "x", "mass_kg": 450.0})
        assert r.status_code == 201, r.text
        return r.json()["passport_id"]

    def event(self, who: str, kind: str, *, subjects: list[str] = (), outputs: list[dict[str, Any]] = (),  # type: ignore[assignment]
              data: dict[str, Any] | None = None, prev: dict[str, str] | None = None, when: str | None = None) -> Any:
        chain = sorted({*subjects, *(o["lot"] for o in outputs)})
        heads = self.s.trace.ledger.heads(chain)
        at = when or (dt.datetime.now(dt.UTC) - dt.timedelta(seconds=10)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        ev = {"id": f"rev-{next(_n)}", "kind": kind, "actor": who, "occurred_at": at,
              "place": {"country": "DE", "site": "x"}, "subjects": list(subjects), "outputs": list(outputs),
              "data": data or {}, "prev": prev or heads}
        return self.c.post("/api/v1/trace/events", json=seal(ev, self.keys[who]).to_wire(), headers=self.h(who))

    def holder(self, pid: str) -> str | None:
        return self.s.trace.custody(pid)["current"]["holder"]


@pytest.fixture(scope="module")
def w(tmp_path_factory: pytest.TempPathFactory) -> Iterator[W]:
    from tests.conftest import served

    with served(tmp_path_factory, "review") as c:
        yield W(c)


def _recovered(lot: str, certifier: str = REC) -> dict[str, Any]:
    return {"lot": lot, "kind": "black_mass", "mass_kg": 1.0,
            "origin": {"type": "post_consumer", "country": "DE", "site": "x", "certified_by": certifier}}


def test_a_transformation_naming_a_pack_as_subject_is_decided_like_any_other(w: W) -> None:
    pid = w.passport()  # no ledger event yet: its operator holds it
    r = w.event(SUP, "material_recovery", subjects=[pid], outputs=[_recovered(f"bm-{pid}")])
    assert r.status_code == 403, r.text
    assert w.c.post(f"/api/v1/passports/{pid}/status", json={"event": "waste"}, headers=w.h(SUP)).status_code == 403


def test_an_output_is_never_an_existing_subject_or_someone_elses_passport_and_no_head_leaks(w: W) -> None:
    pid = w.passport()
    assert w.event(EM, "passport_issued", subjects=[pid], data={"passport_id": pid}).status_code == 201
    # (an extraction produces ore or material: the id, not the kind, is what is refused here)
    out = {"lot": pid, "kind": "material", "mass_kg": 1.0, "origin": {"type": "primary", "country": "CL", "site": "m"}}
    r = w.event(SUP, "extraction", outputs=[out], prev={pid: GENESIS})  # a stale prev: still no head in the answer
    assert r.status_code == 403 and "head_hash" not in r.text, r.text
    head = w.s.trace.ledger.heads([pid])[pid]
    assert head not in r.text
    r = w.event(EM, "extraction", outputs=[out])  # even its operator cannot produce an id that has a chain
    assert r.status_code == 422 and r.json()["errors"][0]["rule"] == "new_lot"
    assert w.holder(pid) == EM


def test_nobody_opens_an_id_in_another_companys_namespace(w: W) -> None:
    future = f"BL.{EM}.NOT-YET-ISSUED-{next(_n)}"
    r = w.event(SUP, "change_of_owner", subjects=[future], data={"to_holder": SUP})
    assert r.status_code == 403 and r.json()["errors"][0]["rule"] == "namespace", r.text
    mine = f"BL.{SUP}.MY-OWN-{next(_n)}"  # positive control: in its own namespace, the first event opens it
    assert w.event(SUP, "installation", subjects=[mine], data={"vehicle_id": "V1"}).status_code == 201


def test_a_delegate_cannot_make_itself_holder(w: W) -> None:
    pid = w.passport()
    assert w.event(EM, "installation", subjects=[pid], data={"vehicle_id": "V1"}).status_code == 201
    r = w.c.post(f"/api/v1/passports/{pid}/delegations", headers=w.h(EM),
                 json={"grantee_id": REP, "actions": ["trace.append.installation", "trace.append.soh_update"]})
    assert r.status_code == 201, r.text
    r = w.event(REP, "installation", subjects=[pid], data={"vehicle_id": "V2", "holder": REP})
    assert r.status_code == 403, r.text
    assert w.event(REP, "soh_update", subjects=[pid], data={"soh_capacity_pct": 92.0}).status_code == 201  # control
    assert w.holder(pid) == EM


def test_delegations_lapse_with_the_grantors_relation_and_are_not_inherited(w: W) -> None:
    pid = w.passport()
    assert w.event(EM, "installation", subjects=[pid], data={"vehicle_id": "V1"}).status_code == 201
    r = w.c.post(f"/api/v1/passports/{pid}/delegations", headers=w.h(EM), json={"grantee_id": EM, "actions": ["*"]})
    assert r.status_code == 422  # not to oneself
    assert w.event(EM, "change_of_owner", subjects=[pid], data={"to_holder": SL}).status_code == 201
    # the new holder delegates only what it may do itself
    r = w.c.post(f"/api/v1/passports/{pid}/delegations", headers=w.h(SL), json={"grantee_id": REC, "actions": ["*"]})
    assert r.status_code == 403
    r = w.c.post(f"/api/v1/passports/{pid}/delegations", headers=w.h(SL),
                 json={"grantee_id": REC, "actions": ["passport.status.recycle"]})
    assert r.status_code == 403  # SL is no recycler: it may not recycle, so it may not hand that on
    r = w.c.post(f"/api/v1/passports/{pid}/delegations", headers=w.h(SL),
                 json={"grantee_id": REP, "actions": ["trace.append.soh_update"]})
    assert r.status_code == 201, r.text
    assert w.event(REP, "soh_update", subjects=[pid], data={"soh_capacity_pct": 90.0}).status_code == 201
    r = w.c.post(f"/api/v1/passports/{pid}/status", json={"event": "repurpose"}, headers=w.h(SL))
    assert r.status_code == 200, r.text
    new = r.json()["passport_id"]
    # the old operator's grant on the old passport gives nothing on the new one
    assert w.c.post(f"/api/v1/passports/{new}/status", json={"event": "waste"}, headers=w.h(EM)).status_code == 403
    assert w.event(SL, "change_of_owner", subjects=[pid], data={"to_holder": EM}).status_code == 201
    # SL no longer holds the pack: the delegation it granted lapsed
    assert w.event(REP, "soh_update", subjects=[pid], data={"soh_capacity_pct": 89.0}).status_code == 403


def test_a_material_lot_is_written_on_by_its_producer_only(w: W) -> None:
    lot = f"salt-{next(_n)}"
    out = {"lot": lot, "kind": "material", "mass_kg": 10.0, "origin": {"type": "primary", "country": "CL", "site": "m"}}
    assert w.event(SUP, "extraction", outputs=[out]).status_code == 201
    r = w.event(REC, "export", subjects=[lot], data={"destination_country": "NG", "to_holder": REC})
    assert r.status_code == 403, r.text
    # and the refusal comes before the time rule, so a stranger does not learn when the lot was made
    r = w.event(REP, "annotation", subjects=[lot], data={"note": "x"}, when="2000-01-01T00:00:00.000000Z")
    assert r.status_code == 403 and "made" not in r.text
    assert w.event(SUP, "export", subjects=[lot], data={"destination_country": "KR"}).status_code == 201  # control


def test_a_passport_on_someone_elses_model_shows_no_more_of_the_model(w: W) -> None:
    pid = w.passport(op=SUP, model="REV-NMC")  # the supplier issues a passport on EM's model
    view = w.c.get(f"/api/v1/passports/{pid}", headers=w.h(SUP)).json()
    model = w.c.get("/api/v1/models/REV-NMC", headers=w.h(SUP)).json()["data"]
    assert set(view["model"]) == set(model)  # what the model itself shows the supplier: no tier more
    assert "test_reports" not in view["model"] and "detailed_composition" not in view["model"]
    own = w.c.get(f"/api/v1/passports/{w.passport()}", headers=w.h(EM)).json()["model"]
    assert "test_reports" in own  # control: the manufacturer's own passport carries its model whole
