"""The ledger through HTTP and the command line: signed events in, verification, confidential queries."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from batteryloop.sim import pilot
from batteryloop.trace.client import ChainWriter
from batteryloop.sim.supply_chain import attach_demo_keys, demo_signers


def H(client: Any, who: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {client.tokens[who]}"}


def _pack(client: Any, seed: int) -> str:
    return client.post("/api/v1/passports", json=next(pilot.generate_batteries(1, seed=seed)),
                       headers=H(client, pilot.AUTOMAKER)).json()["passport_id"]


def test_signed_events_through_the_api(client: Any) -> None:
    signers = demo_signers()
    attach_demo_keys(client.services.store, signers)
    pid = _pack(client, 91)
    w = ChainWriter({pilot.AUTOMAKER: signers[pilot.AUTOMAKER]})
    base = {"kind": "soh_update", "actor": pilot.AUTOMAKER, "place": {"country": "DE", "site": "BMS"},
            "subjects": [pid]}
    e1 = w.wire({**base, "id": "ev-soh-1", "occurred_at": "2026-05-01T00:00:00Z", "data": {"soh_capacity_pct": 95.0}})
    r = client.post("/api/v1/trace/events", json=e1, headers=H(client, pilot.AUTOMAKER))
    assert r.status_code == 201 and r.json()["status"] == "stored"
    # the same id and content again: a no-op; someone else submitting the automaker's event: refused
    assert client.post("/api/v1/trace/events", json=e1, headers=H(client, pilot.AUTOMAKER)).json()["status"] == "duplicate"
    assert client.post("/api/v1/trace/events", json=e1, headers=H(client, pilot.RECYCLER_EU)).status_code in (403, 422)
    # a forged signature is refused, naming the event
    e2 = w.wire({**base, "id": "ev-soh-2", "occurred_at": "2026-06-01T00:00:00Z", "data": {"soh_capacity_pct": 94.0}})
    forged = dict(e2, data={"soh_capacity_pct": 99.0})
    r = client.post("/api/v1/trace/events", json=forged, headers=H(client, pilot.AUTOMAKER))
    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"
    # a batch (JSON lines) is all or nothing
    e3 = w.wire({**base, "id": "ev-soh-3", "occurred_at": "2026-07-01T00:00:00Z", "data": {"soh_capacity_pct": 93.0}})
    bad = dict(w.wire({**base, "id": "ev-soh-4", "occurred_at": "2026-08-01T00:00:00Z",
                       "data": {"soh_capacity_pct": 92.0}}), actor=pilot.RECYCLER_EU)
    body = "\n".join(json.dumps(e) for e in (e2, e3, bad))
    r = client.post("/api/v1/trace/batches", content=body, headers=H(client, pilot.AUTOMAKER))
    assert r.status_code == 422 and "nothing stored" in r.json()["detail"]
    body = "\n".join(json.dumps(e) for e in (e2, e3))
    r = client.post("/api/v1/trace/batches", content=body, headers=H(client, pilot.AUTOMAKER))
    assert r.status_code == 201 and r.json()["stored"] == 2
    v = client.get("/api/v1/trace/verify", params={"subject": pid}, headers=H(client, pilot.AUTOMAKER)).json()
    assert v["ok"] and v["events_checked"] == 3
    # whole-ledger checks and recalls are for authorities; the event itself for its actor
    assert client.get("/api/v1/trace/verify", headers=H(client, pilot.AUTOMAKER)).status_code == 403
    assert client.get("/api/v1/trace/verify", headers=H(client, pilot.AUTHORITY)).json()["ok"]
    assert client.get("/api/v1/trace/events/ev-soh-1", headers=H(client, pilot.RECYCLER_EU)).status_code == 403
    assert client.get("/api/v1/trace/events/ev-soh-1", headers=H(client, pilot.AUTOMAKER)).status_code == 200
    assert client.get("/api/v1/trace/outflows", headers=H(client, pilot.RECYCLER_EU)).status_code == 403
    assert client.get("/api/v1/trace/outflows").status_code == 401


def test_state_of_health_becomes_a_signed_ledger_event(client: Any, data_dir: Path) -> None:
    signers = demo_signers()
    attach_demo_keys(client.services.store, signers)
    from tests.lab import lab_passport

    pid = lab_passport(client, client.tokens[pilot.AUTOMAKER], 92)
    f = data_dir / "cyclers" / "PreDiag_000229_000229_truncated.034"
    files = {"files": (f.name, f.read_bytes())}
    # without the operator's key on this node: stored in the passport, and the answer says how to sign it
    r = client.post(f"/api/v1/passports/{pid}/state-of-health", params={"rated_capacity_ah": 5.0}, files=files,
                    headers=H(client, pilot.AUTOMAKER)).json()
    assert r["ledger"]["recorded"] is False and "POST /api/v1/trace/events" in r["ledger"]["reason"]
    client.services.keys.save(signers[pilot.AUTOMAKER])
    r = client.post(f"/api/v1/passports/{pid}/state-of-health", params={"rated_capacity_ah": 5.0}, files=files,
                    headers=H(client, pilot.AUTOMAKER)).json()
    assert r["ledger"]["recorded"] is True
    chain = client.services.trace.chain(pid)
    assert chain[-1]["event"]["kind"] == "soh_update"
    assert abs(chain[-1]["event"]["data"]["soh_capacity_pct"] - r["state_of_health"]["soh_capacity_pct"]) < 1e-3
    assert client.services.trace.verify(subject=pid).ok


def test_demo_ledger_and_trace_cli(tmp_path: Path) -> None:
    from tests.test_cli import run

    run(tmp_path, "demo", "--packs", "30", "--no-serve")
    v = json.loads(run(tmp_path, "trace", "verify", "--derived").stdout)
    assert v["ok"] and v["events_checked"] > 30 and v["derived"]["ok"]
    pid = f"BL.{pilot.AUTOMAKER}." + next(pilot.generate_batteries(1, seed=42))["serial_number"]
    lin = json.loads(run(tmp_path, "trace", "lineage", pid).stdout)
    assert lin["pack"] == pid and lin["lots"]
    assert json.loads(run(tmp_path, "trace", "outflows").stdout) is not None
    p = run(tmp_path, "trace", "lineage", "BL.NO.SUCH", ok=False)
    assert p.returncode == 2
    # the pilot wrote each year's recycled content into its packs' passports: applying it again changes nothing
    last = dt.date.today().year - 1
    rc = json.loads(run(tmp_path, "trace", "apply-recycled-content", "--year", str(last), "--as", pilot.AUTOMAKER).stdout)
    assert rc["groups"] and rc["versions"] == 0 and sum(g["unchanged"] for g in rc["groups"]) > 0
    p = run(tmp_path, "trace", "apply-recycled-content", "--year", str(last), "--as", pilot.RECYCLER_EU, ok=False)
    assert p.returncode == 2 and "passport.update" in p.stderr + p.stdout


def test_lineage_on_passport_page_and_recycled_content_into_passports(client: Any) -> None:
    from batteryloop.sim.supply_chain import record_pilot

    pids = [_pack(client, 93 + i) for i in range(6)]
    nmc = [p for p in pids if ".NMC811-" in p or ".NCA-" in p]
    model = {".NMC811-": "EM-NMC811-82", ".NCA-": "EM-NCA-75"}
    rep = record_pilot(client.services.store, packs=[(p, next(v for k, v in model.items() if k in p)) for p in nmc])
    assert rep.ok
    pid = nmc[0]
    # the operator sees where each element came from, and the responsible-sourcing flags
    client.cookies.set("batteryloop_token", client.tokens[pilot.AUTOMAKER])
    page = client.get(f"/p/{pid}").text
    client.cookies.set("batteryloop_token", client.tokens[pilot.RECYCLER_EU])
    other = client.get(f"/p/{pid}").text
    client.cookies.clear()
    assert "Supply chain (confidential" in page and 'id="origin-shares"' in page
    assert "Supply chain (confidential" not in other and "origin-shares" not in other
    lin = client.get(f"/api/v1/trace/packs/{pid}/lineage", headers=H(client, pilot.AUTOMAKER)).json()
    assert all(abs(sum(shares.values()) - 1) < 1e-3 for shares in lin["origin_share"].values())
    assert client.get(f"/api/v1/trace/packs/{pid}/lineage", headers=H(client, pilot.RECYCLER_EU)).status_code == 403
    # each pack's recycled content comes from the ledger's balance of its model, plant and year (Art. 8); its
    # economic operator applies it; a recycler, operator of none of these passports, is refused as a whole
    year = int(client.services.trace.chain(pid)[-1]["event"]["occurred_at"][:4])
    r = client.post("/api/v1/trace/recycled-content/apply", params={"year": year, "model_id": "EM-NMC811-82"},
                    headers=H(client, pilot.RECYCLER_EU))
    assert r.status_code == 403 and "passport.update" in r.json()["detail"]
    # review finding F6: the refusal named another company's passport and its operator, and a year without
    # packs answered 404: now one generic refusal either way, naming no passport and no other party
    detail = r.json()["detail"]
    assert pid not in detail and "BL." not in detail and pilot.AUTOMAKER not in detail
    none = client.post("/api/v1/trace/recycled-content/apply", params={"year": 1990, "model_id": "EM-NMC811-82"},
                       headers=H(client, pilot.RECYCLER_EU))
    assert (none.status_code, none.json()["detail"]) == (403, detail)
    assert client.post("/api/v1/trace/recycled-content/apply", params={"year": 1990},
                       headers=H(client, pilot.RECYCLER_EU)).json()["detail"] == detail
    assert client.post("/api/v1/trace/recycled-content/apply",
                       params={"year": year, "model_id": "EM-NMC811-82"}).status_code == 401
    before = client.get(f"/api/v1/passports/{pid}", headers=H(client, pilot.AUTOMAKER)).json()["version"]
    r = client.post("/api/v1/trace/recycled-content/apply", params={"year": year, "model_id": "EM-NMC811-82"},
                    headers=H(client, pilot.AUTOMAKER))
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["versions"] == sum(g["updated"] for g in out["groups"]) >= 1
    view = client.get(f"/api/v1/passports/{pid}", headers=H(client, pilot.AUTOMAKER)).json()
    site = client.services.trace.queries._graph().lots[pid].site  # the plant the ledger says built the pack
    group = next(g for g in out["groups"] if g["plant"] == site)
    expected = client.services.trace.passport_recycled_content(model_id="EM-NMC811-82", year=year, plant=group["plant"],
                                                               split=True)  # each share split pre-/post-consumer
    assert view["battery"]["recycled_content"] == expected == group["recycled_content"]
    assert view["version"] == before + 1
    # the operator's answer counts its own passports; the authority's every group whole
    assert all(set(g) >= {"packs", "updated", "unchanged", "read_only"} and "not_permitted" not in g
               for g in out["groups"]) and out["groups_not_yours"] == 0
    # the same balance again: nothing changed, no new version
    again = client.post("/api/v1/trace/recycled-content/apply", params={"year": year, "model_id": "EM-NMC811-82"},
                        headers=H(client, pilot.AUTOMAKER)).json()
    assert again["versions"] == 0 and all(g["updated"] == 0 for g in again["groups"])
    # no packs of that model that year: a 404 that names model and year to the authorities (the operator itself
    # gets the generic refusal: passports it may update there are none)
    r = client.post("/api/v1/trace/recycled-content/apply", params={"year": 1990, "model_id": "EM-NMC811-82"},
                    headers=H(client, pilot.AUTHORITY))
    assert r.status_code == 404 and "EM-NMC811-82" in r.json()["detail"] and "1990" in r.json()["detail"]
    r = client.post("/api/v1/trace/recycled-content/apply", params={"year": 1990, "model_id": "EM-NMC811-82"},
                    headers=H(client, pilot.AUTOMAKER))
    assert (r.status_code, r.json()["detail"]) == (403, detail)


def test_bom_as_built_export_uses_the_ledger_tree(client: Any) -> None:
    from batteryloop.sim.supply_chain import record_pilot

    pid = _pack(client, 101)
    model = "EM-NMC811-82" if ".NMC811-" in pid else "EM-NCA-75" if ".NCA-" in pid else None
    if model is None:
        pid = _pack(client, 100)
        model = "EM-NMC811-82" if ".NMC811-" in pid else "EM-NCA-75"
    assert record_pilot(client.services.store, packs=[(pid, model)]).ok
    r = client.get(f"/api/v1/passports/{pid}/export", params={"format": "catenax-bom-as-built"},
                   headers=H(client, pilot.AUTOMAKER))
    # the children come from the ledger: here the cell maker is a Korean company without a Catena-X BPNL,
    # which Catena-X cannot name, and the refusal says so (field, rule, value)
    assert r.status_code == 422, r.text
    err = r.json()["errors"][0]
    assert err["field"].startswith("as_built[") and err["rule"] == "catenax:bpnl" and pilot.CELL_KR in r.text


def test_a_late_transformation_marks_applied_years_stale(client: Any) -> None:
    """Review finding F2: an ordinary cathode batch recorded late for a year whose recycled content was applied
    silently changed the figures passports declare, and re-applying one year left the later ones stale. The
    ledger now marks that year and every later applied one stale; applying names the stale years, and a year
    applied whole (every group, every passport) is current again."""
    from batteryloop.access import Caller
    from batteryloop.sim.supply_chain import CAM_KR, MINE_CL, record_pilot

    s = client.services
    pids = [_pack(client, 193 + i) for i in range(4)]
    model = {".NMC811-": "EM-NMC811-82", ".NCA-": "EM-NCA-75"}
    nmc = [p for p in pids if any(k in p for k in model)]
    assert record_pilot(s.store, packs=[(p, next(v for k, v in model.items() if k in p)) for p in nmc]).ok
    year = int(s.trace.chain(nmc[0])[-1]["event"]["occurred_at"][:4])
    admin = Caller(is_admin=True)
    signers = demo_signers()
    w = ChainWriter(signers)

    def late(n: int, at: str, kind: str = "cathode_production") -> None:
        salt = f"late-salt-{n}"
        evs = [{"id": f"late-{n}-x", "kind": "extraction", "actor": MINE_CL, "occurred_at": at,
                "place": {"country": "CL", "site": "Atacama"},
                "outputs": [{"lot": salt, "kind": "material", "mass_kg": 5000.0, "elements_kg": {"Li": 940.0},
                             "origin": {"type": "primary", "country": "CL", "site": "Atacama"}}]},
               {"id": f"late-{n}", "kind": kind, "actor": CAM_KR, "occurred_at": at,
                "place": {"country": "KR", "site": "Gwangyang CAM plant"},
                "inputs": [{"lot": salt, "mass_kg": 5000.0}],
                "outputs": [{"lot": f"late-cam-{n}", "kind": "material", "mass_kg": 5000.0,
                             "elements_kg": {"Li": 940.0}}]}]
        assert s.trace.ledger.ingest([w.wire(e) for e in evs]).ok

    late(1, f"{year}-01-02T00:00:00Z")  # a year not applied yet: nothing is stale
    assert s.trace.stale_recycled_content_years() == []
    first = s.trace.apply_recycled_content(year, admin)
    assert first["versions"] >= 1 and first["stale_years"] == [] == s.trace.stale_recycled_content_years()
    late(2, f"{year}-01-02T00:00:00Z")  # back-dated into the applied year
    stale = s.trace.stale_recycled_content_years()
    assert [(x["year"], x["event_id"]) for x in stale] == [(year, "late-2")] and stale[0]["since"]
    # the operator re-applies its model: the changed groups are written (new versions), the year stays named
    again = s.trace.apply_recycled_content(year, client_caller(s, pilot.AUTOMAKER), model_id="EM-NMC811-82")
    assert sum(g["updated"] for g in again["groups"]) >= 1, again["groups"]
    assert [x["year"] for x in again["stale_years"]] == [year]
    whole = s.trace.apply_recycled_content(year, admin)
    assert whole["stale_years"] == [] == s.trace.stale_recycled_content_years()
    # a late event earlier than an applied year marks it too (its lots feed the later years' accounts)
    late(3, f"{year - 1}-06-01T00:00:00Z")
    assert [x["year"] for x in s.trace.stale_recycled_content_years()] == [year]


def test_an_event_admitted_while_an_apply_runs_leaves_the_year_stale(client: Any) -> None:
    """Review 13b: an apply cleared the stale mark a late event set while it ran (after it read the ledger's
    groups, before it recorded the year): the year's figures were declared current without that event. The
    mark now names the last late event, and an apply clears only marks of events stored before it began. The
    stale years are also in the recycled-content GET answer (year and since, read-only)."""
    from batteryloop.access import Caller
    from batteryloop.sim.supply_chain import CAM_KR, MINE_CL, record_pilot

    s = client.services
    pids = [_pack(client, 211 + i) for i in range(3)]
    model = {".NMC811-": "EM-NMC811-82", ".NCA-": "EM-NCA-75"}
    nmc = [p for p in pids if any(k in p for k in model)]
    assert record_pilot(s.store, packs=[(p, next(v for k, v in model.items() if k in p)) for p in nmc]).ok
    year = int(s.trace.chain(nmc[0])[-1]["event"]["occurred_at"][:4])
    admin = Caller(is_admin=True)
    w = ChainWriter(demo_signers())

    def late(n: int) -> None:
        at, salt = f"{year}-01-02T00:00:00Z", f"race-salt-{n}"
        assert s.trace.ledger.ingest([w.wire(e) for e in [
            {"id": f"race-{n}-x", "kind": "extraction", "actor": MINE_CL, "occurred_at": at,
             "place": {"country": "CL", "site": "Atacama"},
             "outputs": [{"lot": salt, "kind": "material", "mass_kg": 500.0, "elements_kg": {"Li": 94.0},
                          "origin": {"type": "primary", "country": "CL", "site": "Atacama"}}]},
            {"id": f"race-{n}", "kind": "cathode_production", "actor": CAM_KR, "occurred_at": at,
             "place": {"country": "KR", "site": "Gwangyang CAM plant"}, "inputs": [{"lot": salt, "mass_kg": 500.0}],
             "outputs": [{"lot": f"race-cam-{n}", "kind": "material", "mass_kg": 500.0, "elements_kg": {"Li": 94.0}}]}]]).ok

    assert s.trace.apply_recycled_content(year, admin)["stale_years"] == []
    late(1)  # stale, before the apply below begins
    groups = s.trace.recycled_content_groups

    def groups_then_a_late_event(*a: Any, **kw: Any) -> Any:
        out = groups(*a, **kw)
        late(2)  # admitted after the apply read the ledger, before it records the year
        return out

    s.trace.recycled_content_groups = groups_then_a_late_event  # type: ignore[method-assign]
    try:
        rep = s.trace.apply_recycled_content(year, admin)
    finally:
        del s.trace.recycled_content_groups
    assert [(x["year"], x["event_id"]) for x in rep["stale_years"]] == [(year, "race-2")]
    got = client.get("/api/v1/trace/recycled-content", params={"model_id": "EM-NMC811-82", "year": year},
                     headers=H(client, pilot.AUTOMAKER))
    assert got.status_code == 200 and [x["year"] for x in got.json()["stale_years"]] == [year]
    assert "event_id" not in got.json()["stale_years"][0]
    # applied again, with nothing admitted meanwhile: current
    assert s.trace.apply_recycled_content(year, admin)["stale_years"] == []
    got = client.get("/api/v1/trace/recycled-content", params={"model_id": "EM-NMC811-82", "year": year},
                     headers=H(client, pilot.AUTOMAKER))
    assert got.json()["stale_years"] == []


def test_each_operator_applies_its_own_and_the_last_one_clears_the_year(client: Any) -> None:
    """Review 13b: a stale year could be cleared only by the admin when passports of two operators were made in
    it (each operator's apply left the other's not permitted). A year applied whole is current again once every
    passport its groups cover holds the current figure: the automaker's apply leaves it stale (the cell maker's
    passport lacks the figure), the cell maker's then clears it."""
    from batteryloop.access import Caller
    from batteryloop.sim.supply_chain import CAM_KR, MINE_CL, record_pilot

    s = client.services
    model = {".NMC811-": "EM-NMC811-82", ".NCA-": "EM-NCA-75"}
    mine = [p for p in (_pack(client, 231 + i) for i in range(4)) if any(k in p for k in model)]
    other = None
    for seed in range(300, 340):  # a pack of one of those models whose passport the cell maker operates
        b = next(pilot.generate_batteries(1, seed=seed))
        if b["model_id"] in model.values():
            b = {**b, "economic_operator_id": pilot.CELL_CN, "serial_number": f"CN-{seed}"}
            r = client.post("/api/v1/passports", json=b, headers=H(client, pilot.CELL_CN))
            assert r.status_code == 201, r.text
            other = r.json()["passport_id"]
            break
    assert mine and other
    assert record_pilot(s.store, packs=[(p, next(v for k, v in model.items() if k in p)) for p in mine]).ok
    year = int(s.trace.chain(mine[0])[-1]["event"]["occurred_at"][:4])
    w = ChainWriter(demo_signers())
    at = f"{year}-01-02T00:00:00Z"
    # the cell maker assembles its pack (in its own namespace) the same year, of primary material
    assert s.trace.ledger.ingest([w.wire(e) for e in [
        {"id": "cn-x", "kind": "extraction", "actor": MINE_CL, "occurred_at": at, "place": {"country": "CL", "site": "Atacama"},
         "outputs": [{"lot": "cn-mat", "kind": "material", "mass_kg": 400.0, "elements_kg": {"Li": 10.0},
                      "origin": {"type": "primary", "country": "CL", "site": "Atacama"}}]},
        {"id": "cn-pack", "kind": "pack_assembly", "actor": pilot.CELL_CN, "occurred_at": f"{year}-06-01T00:00:00Z",
         "place": {"country": "CN", "site": "Lanzhou pack plant"}, "inputs": [{"lot": "cn-mat", "mass_kg": 400.0}],
         "outputs": [{"lot": other, "kind": "pack", "mass_kg": 400.0, "elements_kg": {"Li": 10.0},
                      "model_id": b["model_id"]}]}]]).ok
    assert s.trace.apply_recycled_content(year, Caller(is_admin=True))["stale_years"] == []
    # the cell maker's passport then holds another figure (its own entry): it does not hold the year's
    rc = {"allocation_rule": "mass_balance", "lithium_pct": 1.0, "lithium_pre_consumer_pct": 0.5,
          "lithium_post_consumer_pct": 0.5}
    r = client.patch(f"/api/v1/passports/{other}", json={"recycled_content": rc}, headers=H(client, pilot.CELL_CN))
    assert r.status_code == 200, r.text
    assert s.trace.ledger.ingest([w.wire(e) for e in [
        {"id": "op-x", "kind": "extraction", "actor": MINE_CL, "occurred_at": at, "place": {"country": "CL", "site": "Atacama"},
         "outputs": [{"lot": "op-salt", "kind": "material", "mass_kg": 5000.0, "elements_kg": {"Li": 940.0},
                      "origin": {"type": "primary", "country": "CL", "site": "Atacama"}}]},
        {"id": "op-late", "kind": "cathode_production", "actor": CAM_KR, "occurred_at": at,
         "place": {"country": "KR", "site": "Gwangyang CAM plant"}, "inputs": [{"lot": "op-salt", "mass_kg": 5000.0}],
         "outputs": [{"lot": "op-cam", "kind": "material", "mass_kg": 5000.0, "elements_kg": {"Li": 940.0}}]}]]).ok
    assert [x["year"] for x in s.trace.stale_recycled_content_years()] == [year]
    first = s.trace.apply_recycled_content(year, client_caller(s, pilot.AUTOMAKER))
    assert sum(g["not_permitted"] for g in first["groups"]) == 1
    assert [x["year"] for x in first["stale_years"]] == [year]  # the cell maker's passport lacks the figure
    last = s.trace.apply_recycled_content(year, client_caller(s, pilot.CELL_CN))
    assert sum(g["updated"] for g in last["groups"]) == 1
    assert last["stale_years"] == [] == s.trace.stale_recycled_content_years()


def client_caller(s: Any, pid: str) -> Any:
    from batteryloop.access import Caller
    from batteryloop.participants import Role

    p = s.participants.get(pid)
    return Caller(p["id"], frozenset(Role(r) for r in p["roles"]))
