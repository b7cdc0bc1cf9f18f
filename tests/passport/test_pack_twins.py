"""Issuing a passport registers its pack's shell descriptor in the Digital Twin Registry, in the same
transaction, and passport changes the descriptor carries keep it in step (passport/pack_twins.py).

The ids expected are written out by hand (UUIDv5 of "part:" + the passport id in the project's namespace; the
shell id ``urn:batteryloop:<id>:aas``); who sees what follows the Tractus-X rules as docs/exchange.md states
them, not the implementation.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from batteryloop.passport.identifiers import PASSPORT_NS
from batteryloop.sim import pilot
from batteryloop.store import twins as repo

pytestmark = pytest.mark.any_store
OP, SECOND_LIFE, RECYCLER, BAAS = pilot.AUTOMAKER, pilot.SECOND_LIFE, pilot.RECYCLER_EU, pilot.BAAS
V3 = "/api/v3"


def b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def q(**pairs: str) -> list[tuple[str, str]]:
    return [("assetIds", b64(json.dumps({"name": k, "value": v}))) for k, v in pairs.items()]


def gid(pid: str) -> str:
    return f"urn:uuid:{uuid.uuid5(PASSPORT_NS, 'part:' + pid)}"


def shell(pid: str) -> str:
    return f"urn:batteryloop:{pid}:aas"


@pytest.fixture(scope="module")
def node(module_store: Any) -> Iterator[dict[str, Any]]:
    """One node for the module (SQLite, or PostgreSQL in the PostgreSQL pass); each test issues its own packs."""
    from batteryloop.server import create_app
    from tests.conftest import make_services, seed_pilot

    svc = make_services(module_store)
    seeded = seed_pilot(svc)
    with TestClient(create_app(services=svc)) as c:
        yield {"c": c, "svc": svc, "callers": seeded["callers"], "tokens": seeded["tokens"]}


def H(node: dict[str, Any], who: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {node['tokens'][who]}"}


def _shells(node: dict[str, Any]) -> dict[str, repo.ShellRow]:
    """The registry's rows, derived pack twins built as the registry reads them."""
    from batteryloop.passport.pack_twins import expand

    with node["svc"].store.read() as conn:
        return {r.shell_id: r for r in expand(conn, repo.page_shells(conn, limit=10_000))}


def _issue(node: dict[str, Any], n: int, seed: int = 3, owner: str | None = None) -> list[str]:
    recs = list(pilot.generate_batteries(n, seed=seed))
    for r in recs:
        r.pop("owner_id", None)
        if owner:
            r["owner_id"] = owner
    rep = node["svc"].passports.import_passports(recs, node["callers"][OP])
    assert not rep.errors, rep.errors
    return sorted(rep.ids)


def test_issue_registers_the_descriptor_with_the_one_global_asset_id(node: dict[str, Any]) -> None:
    svc, c = node["svc"], node["c"]
    pid = _issue(node, 3, owner=BAAS)[1]
    rec = svc.passports.get_record(pid)
    rows = _shells(node)
    assert {shell(p) for p in svc.passports.iter_ids()} == set(rows)  # one per pack, nothing else
    row = rows[shell(pid)]
    assert (row.owner_id, row.passport_id, row.global_asset_id) == (OP, pid, gid(pid))
    # the operator (the descriptor's owner) reads it whole, through the registry API
    d = c.get(f"{V3}/shell-descriptors/{b64(shell(pid))}", headers=H(node, OP)).json()
    assert d["globalAssetId"] == gid(pid) and d["assetKind"] == "Instance"
    ids = {s["name"]: s["value"] for s in d["specificAssetIds"]}
    assert ids == {"manufacturerPartId": rec.model_id, "digitalTwinType": "PartInstance",
                   "partInstanceId": rec.data["serial_number"], "batteryPassportId": pid}
    # one submodel descriptor per AAS submodel, each pointing at the node's AAS API, and the AAS API's shell
    # names the same global asset id; so do the Catena-X SerialPart and the QR code's link
    sms = {sm["idShort"]: sm for sm in d["submodelDescriptors"]}
    assert len(sms) == 8 and "TechnicalData" in sms
    href = sms["TechnicalData"]["endpoints"][0]["protocolInformation"]["href"]
    assert href == f"http://testserver/aas/submodels/{b64(f'urn:batteryloop:{pid}:submodel:technical_data')}"
    aas = c.get(d["endpoints"][0]["protocolInformation"]["href"].removeprefix("http://testserver"), headers=H(node, OP))
    assert aas.status_code == 200 and aas.json()["assetInformation"]["globalAssetId"] == gid(pid)
    assert c.get(href.removeprefix("http://testserver"), headers=H(node, OP)).status_code == 200
    serial_part = svc.passports.export(pid, frozenset(svc.passports.tiers_for(rec, node["callers"][OP])))
    from batteryloop import formats

    assert formats.export_view("catenax-serial-part", serial_part).payload["globalAssetId"] == gid(pid)
    assert formats.export_view("catenax-bom-as-built", serial_part).payload["catenaXId"] == gid(pid)
    link = c.get(f"/api/v1/passports/{pid}").json()["web_link"]
    assert link == f"http://testserver/p/{pid}"  # the QR code's link: the passport id, whose asset id is gid(pid)
    # anyone finds the shell by the global asset id (Tractus-X); the operator also by serial number
    found = c.get(f"{V3}/lookup/shells", params=q(globalAssetId=gid(pid))).json()["result"]
    assert found == [shell(pid)]
    by_serial = c.get(f"{V3}/lookup/shells", params=q(partInstanceId=rec.data["serial_number"]), headers=H(node, OP))
    assert by_serial.json()["result"] == [shell(pid)]


def test_visibility_rules_apply_to_registered_descriptors(node: dict[str, Any]) -> None:
    c = node["c"]
    a, b = _issue(node, 2, seed=4, owner=BAAS)
    serial = node["svc"].passports.get_record(a).data["serial_number"]
    # the battery's owner is named in the serial number's and passport id's externalSubjectId
    mine = c.get(f"{V3}/shell-descriptors/{b64(shell(a))}", headers=H(node, BAAS)).json()
    assert {s["name"] for s in mine["specificAssetIds"]} == {"manufacturerPartId", "digitalTwinType",
                                                             "partInstanceId", "batteryPassportId"}
    assert c.get(f"{V3}/lookup/shells", params=q(partInstanceId=serial),
                 headers=H(node, BAAS)).json()["result"] == [shell(a)]
    # a stranger sees the shell cut to its public ids, and its lookup by serial number finds nothing
    cut = c.get(f"{V3}/shell-descriptors/{b64(shell(a))}", headers=H(node, RECYCLER)).json()
    assert sorted(cut) == ["id", "specificAssetIds", "submodelDescriptors"]
    assert {s["name"] for s in cut["specificAssetIds"]} == {"manufacturerPartId", "digitalTwinType"}
    assert c.get(f"{V3}/lookup/shells", params=q(partInstanceId=serial),
                 headers=H(node, RECYCLER)).json()["result"] == []
    # and it may not change it; the owner of the battery neither (the operator owns the descriptor)
    for who in (RECYCLER, BAAS):
        r = c.delete(f"{V3}/shell-descriptors/{b64(shell(b))}", headers=H(node, who))
        assert r.status_code == 403, r.text
    # a pack without another owner: its serial number and passport id are the operator's alone
    (solo,) = _issue(node, 1, seed=6)
    d = c.get(f"{V3}/shell-descriptors/{b64(shell(solo))}", headers=H(node, OP)).json()
    assert [s.get("externalSubjectId") for s in d["specificAssetIds"] if s["name"] == "partInstanceId"] == [None]
    assert c.get(f"{V3}/lookup/shells", params=q(batteryPassportId=solo),
                 headers=H(node, BAAS)).json()["result"] == []
    # the data plane's check finds the pack's submodel endpoint among every pack's (each names this host)
    sm = f"http://testserver/aas/submodels/{b64(f'urn:batteryloop:{a}:submodel:technical_data')}"
    auth = f"{V3}/submodel-descriptor/authorized"
    assert c.post(auth, json={"submodelEndpointUrl": sm + "/$value"}, headers=H(node, BAAS)).status_code == 200
    assert c.post(auth, json={"submodelEndpointUrl": sm[:-2] + "/$value"}, headers=H(node, BAAS)).status_code == 403


def test_a_refused_issue_leaves_no_descriptor(node: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    svc = node["svc"].passports
    recs = list(pilot.generate_batteries(3, seed=8))
    before = _shells(node)
    n = svc.count()["passports"]
    bad = [*recs[:2], {**recs[2], "mass_kg": -1}]
    rep = svc.import_passports(bad, node["callers"][OP])
    assert rep.errors and rep.stored == 0
    assert _shells(node) == before
    # a failure while registering rolls the passports back too: nothing half-written
    from batteryloop.passport import pack_twins

    def broken(*_: Any, **__: Any) -> None:
        raise RuntimeError("registry write failed")

    monkeypatch.setattr(pack_twins.repo, "insert_pack_shells", broken)
    with pytest.raises(RuntimeError):
        svc.import_passports(recs, node["callers"][OP])
    assert svc.count()["passports"] == n and _shells(node) == before
    monkeypatch.undo()
    ids = svc.import_passports(recs, node["callers"][OP]).ids
    assert set(_shells(node)) == set(before) | {shell(p) for p in ids}


def test_changes_keep_the_descriptor_in_step(node: dict[str, Any]) -> None:
    svc, c, callers = node["svc"], node["c"], node["callers"]
    a, b, d = _issue(node, 3, seed=11)
    serial = svc.passports.get_record(a).data["serial_number"]
    # the operator adds an asset id of its own: the derived pack twin is stored whole from then on (as any
    # descriptor written through the API), and a later change keeps the id
    assert _shells(node)[shell(a)].pack_base == "http://testserver"
    added = c.post(f"{V3}/lookup/shells/{b64(shell(a))}", json=[{"name": "vin", "value": "WVWZZZ1JZXW000001"}],
                   headers=H(node, OP))
    assert added.status_code == 201, added.text
    assert _shells(node)[shell(a)].pack_base is None and _shells(node)[shell(b)].pack_base is not None
    # the battery gets an owner: it now finds its pack by serial number (one update, then a batch of updates)
    svc.passports.update_passport(a, {"owner_id": BAAS}, callers[OP])
    assert c.get(f"{V3}/lookup/shells", params=q(partInstanceId=serial),
                 headers=H(node, BAAS)).json()["result"] == [shell(a)]
    names = [s["name"] for s in c.get(f"{V3}/shell-descriptors/{b64(shell(a))}", headers=H(node, OP)).json()[
        "specificAssetIds"]]
    assert names == ["manufacturerPartId", "digitalTwinType", "partInstanceId", "batteryPassportId", "vin"]
    svc.passports.update_passports({a: {"owner_id": None}, b: {"owner_id": BAAS}}, callers[OP])
    assert c.get(f"{V3}/lookup/shells", params=q(partInstanceId=serial),
                 headers=H(node, BAAS)).json()["result"] == []
    assert c.get(f"{V3}/lookup/shells", params=q(batteryPassportId=b),
                 headers=H(node, BAAS)).json()["result"] == [shell(b)]
    # a change the descriptor does not carry leaves it as it was (same stored text)
    before = _shells(node)[shell(b)]
    svc.passports.update_passport(b, {"usage": {"deep_discharge_events": 2}}, callers[OP])
    assert _shells(node)[shell(b)] == before
    # repurposing issues a successor: its own descriptor, owned by its new operator; the old one stays
    node["svc"].delegations.grant(d, SECOND_LIFE, ["passport.status.repurpose"], callers[OP])
    new = svc.passports.change_status(d, "repurpose", callers[SECOND_LIFE])["passport_id"]
    rows = _shells(node)
    assert rows[shell(new)].owner_id == SECOND_LIFE and rows[shell(new)].global_asset_id == gid(new)
    assert rows[shell(d)].owner_id == OP
    got = c.get(f"{V3}/shell-descriptors/{b64(shell(new))}", headers=H(node, SECOND_LIFE)).json()
    assert {s["name"]: s["value"] for s in got["specificAssetIds"]}["batteryPassportId"] == new
    # recycling archives the passport: the descriptor (ids, who sees them) does not change
    node["svc"].delegations.grant(new, RECYCLER, ["passport.status.recycle"], callers[SECOND_LIFE])
    kept = _shells(node)[shell(new)]
    svc.passports.change_status(new, "recycle", callers[RECYCLER])
    assert svc.passports.get_record(new).archived and _shells(node)[shell(new)] == kept


def test_backfill_registers_the_packs_issued_before(node: dict[str, Any], tmp_path: Any) -> None:
    from sqlalchemy import delete

    from batteryloop.passport.pack_twins import backfill

    svc = node["svc"]
    ids = _issue(node, 4, seed=12, owner=BAAS)
    with svc.store.write() as conn:  # a store from before packs were registered on issue
        conn.execute(delete(repo.dtr_asset_ids))
        conn.execute(delete(repo.dtr_shells))
    r = node["c"].post(f"{V3}/shell-descriptors", headers=H(node, RECYCLER), json={
        "id": "urn:example:foreign", "specificAssetIds": [{"name": "partInstanceId", "value": "X"}]})
    assert r.status_code == 201, r.text
    every = list(svc.passports.iter_ids())
    # as a user runs it: ``batteryloop registry backfill`` on the node's store, for its public base URL
    assert f"registered {len(every)} pack descriptor(s)" in _backfill_command(svc.store.url, tmp_path)
    rows = _shells(node)
    assert set(rows) == {*(shell(p) for p in every), "urn:example:foreign"}
    assert all(rows[shell(p)].owner_id == OP and rows[shell(p)].global_asset_id == gid(p) for p in ids)
    assert backfill(svc.store, svc.passports.base_url) == 0  # once is enough
    assert "registered 0 pack descriptor(s)" in _backfill_command(svc.store.url, tmp_path)
    # the descriptor is the one issuing registers
    from batteryloop.passport.pack_twins import pack_descriptor

    rec = svc.passports.get_record(ids[0])
    assert rows[shell(ids[0])].descriptor == pack_descriptor(
        {"id": rec.id, "serial_number": rec.data["serial_number"], "model_id": rec.model_id,
         "economic_operator_id": rec.economic_operator_id, "owner_id": rec.owner_id}, "http://testserver")



def _backfill_command(url: str, tmp: Any) -> str:
    from typer.testing import CliRunner

    from batteryloop.cli import app

    env = {"BATTERYLOOP_DATABASE_URL": url, "BATTERYLOOP_VAR_DIR": str(tmp / "var"),
           "BATTERYLOOP_PUBLIC_BASE_URL": "http://testserver"}
    res = CliRunner().invoke(app, ["registry", "backfill"], env=env, catch_exceptions=False)
    assert res.exit_code == 0, res.stderr
    return res.stdout + res.stderr


def test_a_descriptor_squatting_a_packs_shell_id_gives_way_on_issue(node: dict[str, Any]) -> None:
    """Someone registers a descriptor under the shell id a pack will have before the pack is issued; issuing
    replaces it with the pack's own (the shell id is the AAS API's shell of the pack), in the same transaction."""
    rec = dict(next(iter(pilot.generate_batteries(1, seed=21))), serial_number="SQUAT-0001")
    rec.pop("owner_id", None)
    pid = f"BL.{OP}.SQUAT-0001"
    squat = {"id": shell(pid), "specificAssetIds": [{"name": "partInstanceId", "value": "SQUAT-0001"}]}
    assert node["c"].post(f"{V3}/shell-descriptors", json=squat, headers=H(node, RECYCLER)).status_code == 201
    assert _shells(node)[shell(pid)].owner_id == RECYCLER
    assert node["svc"].passports.import_passports([rec], node["callers"][OP]).ids == [pid]
    row = _shells(node)[shell(pid)]
    assert (row.owner_id, row.passport_id, row.global_asset_id) == (OP, pid, gid(pid))
    from sqlalchemy import select

    with node["svc"].store.read() as conn:  # and the squatter's asset ids went with it: the pack's one is left
        seqs = conn.execute(select(repo.dtr_asset_ids.c.shell_seq).where(
            repo.dtr_asset_ids.c.value == "SQUAT-0001")).scalars().all()
    assert seqs == [row.seq]


def _reads(node: dict[str, Any], pids: list[str]) -> dict[str, Any]:
    """Everything a reader gets from the registry about these packs, for each kind of caller: each shell, its
    submodel descriptors and asset links, every page of the list, lookups by each asset id and global asset
    id (GET and shellsByAssetLink), and the data plane's endpoint check."""
    c, svc = node["c"], node["svc"]
    callers: dict[str, dict[str, str]] = {
        "anonymous": {}, **{who: H(node, who) for who in (OP, BAAS, RECYCLER, SECOND_LIFE)},
        "connector for the recycler": {"Authorization": "Bearer admin-secret-token", "Edc-Bpn": RECYCLER}}
    out: dict[str, Any] = {}
    for name, h in callers.items():
        got: dict[str, Any] = {}
        for pid in pids:
            rec = svc.passports.get_record(pid)
            url = f"{V3}/shell-descriptors/{b64(shell(pid))}"
            got[f"get {pid}"] = (r := c.get(url, headers=h)).status_code, r.json()
            got[f"submodels {pid}"] = c.get(url + "/submodel-descriptors", params={"limit": 3}, headers=h).json()
            got[f"links {pid}"] = c.get(f"{V3}/lookup/shells/{b64(shell(pid))}", headers=h).json()
            for k, v in (("partInstanceId", rec.data["serial_number"]), ("batteryPassportId", pid),
                         ("manufacturerPartId", rec.model_id), ("globalAssetId", gid(pid))):
                got[f"lookup {k} {pid}"] = c.get(f"{V3}/lookup/shells", params=q(**{k: v}), headers=h).json()
            got[f"by link {pid}"] = c.post(f"{V3}/lookup/shellsByAssetLink", headers=h, json=[
                {"name": "batteryPassportId", "value": pid}, {"name": "digitalTwinType", "value": "PartInstance"}]
            ).json()
            sm = f"http://testserver/aas/submodels/{b64(f'urn:batteryloop:{pid}:submodel:technical_data')}"
            got[f"authorized {pid}"] = c.post(f"{V3}/submodel-descriptor/authorized", headers=h,
                                              json={"submodelEndpointUrl": sm + "/$value"}).status_code
        pages, cursor = [], None
        while True:
            page = c.get(f"{V3}/shell-descriptors", params={"limit": 7, **({"cursor": cursor} if cursor else {})},
                         headers=h).json()
            pages.append(page)
            cursor = (page.get("paging_metadata") or {}).get("cursor")
            if not cursor:
                break
        got["list"] = pages
        out[name] = got
    return _untimed(out)


def _untimed(x: Any) -> Any:
    """``x`` without the times of its error messages (a message's time is the request's, not the registry's)."""
    if isinstance(x, dict):
        return {k: _untimed(v) for k, v in x.items() if not (k == "timestamp" and "messageType" in x)}
    if isinstance(x, list | tuple):
        return [_untimed(v) for v in x]
    return x


def test_a_reader_cannot_tell_derived_pack_twins_from_stored_descriptors(node: dict[str, Any]) -> None:
    """The node's packs are stored slim (derived pack twins) and built on read. For original, repurposed and
    remanufactured packs, with and without an owner and after owner changes, under an access rule too: every
    registry answer is the same JSON as with the descriptors stored whole the old way (``pack_descriptor`` of
    the passport, as issuing stored it before and ``refresh_packs`` kept it in step)."""
    from batteryloop.passport.pack_twins import pack_descriptor
    from batteryloop.store.tables import passports as passports_t

    svc, c, callers = node["svc"], node["c"], node["callers"]
    plain, owned, moved, old = _issue(node, 4, seed=21)
    (legacy,) = _issue(node, 1, seed=22, owner=BAAS)
    # one pack stored whole from its issue (as before): the old refresh keeps it in step through the changes
    with svc.store.write() as conn:
        (row,) = repo.shells_of_passports(conn, [legacy])
        p = dict(conn.execute(passports_t.select().where(passports_t.c.id == legacy)).one()._mapping)
        repo.update_shell(conn, row.seq, owner_id=row.owner_id, passport_id=legacy,
                          descriptor=pack_descriptor(p, "http://testserver"))
    svc.passports.update_passports({owned: {"owner_id": BAAS}, moved: {"owner_id": BAAS}, legacy: {"owner_id": None}},
                                   callers[OP])
    svc.passports.update_passport(moved, {"owner_id": RECYCLER}, callers[OP])
    svc.delegations.grant(old, SECOND_LIFE, ["passport.status.repurpose"], callers[OP])
    repurposed = svc.passports.change_status(old, "repurpose", callers[SECOND_LIFE])["passport_id"]
    svc.delegations.grant(plain, pilot.REPAIRER, ["passport.status.remanufacture"], callers[OP])
    reman = svc.passports.change_status(plain, "remanufacture", callers[pilot.REPAIRER])["passport_id"]
    pids = [plain, owned, moved, old, legacy, repurposed, reman]
    # the second-life operator governs its shells by an access rule for the recycler (Tractus-X granular access)
    rule = {"policyType": "AAS", "policy": {"accessRules": [
        {"attribute": "bpn", "operator": "eq", "value": RECYCLER},
        {"attribute": "mandatorySpecificAssetIds", "operator": "includes",
         "values": [{"attribute": "digitalTwinType", "operator": "eq", "value": "PartInstance"}]},
        {"attribute": "visibleSpecificAssetIdNames", "operator": "includes",
         "values": [{"attribute": "name", "operator": "eq", "value": "partInstanceId"}]},
        {"attribute": "visibleSemanticIds", "operator": "includes", "values": [
            {"attribute": "modelUrn", "operator": "eq",
             "value": "urn:samm:io.admin-shell.idta.batterypass.digital_nameplate:1.0.0#NameplateBattery"}]}]}}
    made = c.post(f"{V3}/access-controls/rules", json=rule, headers=H(node, SECOND_LIFE))
    assert made.status_code == 201, made.text
    try:
        with svc.store.read() as conn:
            rows = {r.passport_id: r for r in repo.shells_of_passports(conn, pids)}
            stored = {r.passport_id: conn.execute(repo.dtr_shells.select().where(repo.dtr_shells.c.seq == r.seq)
                                                  ).one().descriptor for r in rows.values()}
        assert {p for p, r in rows.items() if r.pack_base is not None} == set(pids) - {legacy}
        assert all(len(stored[p]) < 60 for p in pids if p != legacy)  # the marker only, not ~5.5 kB
        slim = _reads(node, pids)
        # the readers see what they should (so the comparison below compares something)
        assert slim[RECYCLER][f"get {moved}"][0] == 200 and slim[RECYCLER][f"get {owned}"][1].keys() == {
            "id", "specificAssetIds", "submodelDescriptors"}
        assert slim[RECYCLER][f"lookup partInstanceId {moved}"]["result"] == [shell(moved)]
        assert slim[RECYCLER][f"lookup partInstanceId {owned}"]["result"] == []
        assert len(slim[RECYCLER][f"get {repurposed}"][1]["submodelDescriptors"]) == 1  # by the rule
        assert slim[BAAS][f"authorized {owned}"] == 200 and slim[RECYCLER][f"authorized {repurposed}"] == 403
        assert slim[OP][f"get {reman}"][1].keys() == {"id", "specificAssetIds", "submodelDescriptors"}
        # now store every one whole, the old way, in place (same rows, same creation times) and read again
        with svc.store.write() as conn:
            packs = {p: dict(conn.execute(passports_t.select().where(passports_t.c.id == p)).one()._mapping)
                     for p in pids}
            assert rows[legacy].descriptor == pack_descriptor(packs[legacy], "http://testserver")  # old refresh
            for p in pids:
                repo.update_shell(conn, rows[p].seq, owner_id=rows[p].owner_id, passport_id=p,
                                  descriptor=pack_descriptor(packs[p], "http://testserver"))
        with svc.store.read() as conn:
            assert all(r.pack_base is None for r in repo.shells_of_passports(conn, pids))
        assert _reads(node, pids) == slim
    finally:
        c.delete(f"{V3}/access-controls/rules/{made.json()['id']}", headers=H(node, SECOND_LIFE))


def _pairs(conn: Any, seqs: Any) -> dict[int, list[tuple[str, str]]]:
    """The stored asset-id rows of these shells, read from the table."""
    t = repo.dtr_asset_ids
    out: dict[int, list[tuple[str, str]]] = {}
    for r in conn.execute(t.select().where(t.c.shell_seq.in_(list(seqs)))):
        out.setdefault(r.shell_seq, []).append((r.name, r.value))
    return {k: sorted(v) for k, v in out.items()}


def test_a_refresh_counts_and_rewrites_only_the_descriptors_that_changed(node: dict[str, Any]) -> None:
    """``refresh_packs`` on packs whose derived twins are in step with their passports changes nothing and says
    so (before the fix it rewrote every derived twin's columns and asset ids and counted each as changed); a pack
    whose row differs from its twin (here its serial number, as a store changed by hand would give it) is
    rewritten — its lookup asset ids follow — and counted alone."""
    from batteryloop.passport.pack_twins import refresh_packs

    svc = node["svc"]
    a, b = _issue(node, 2, seed=23)
    base = svc.passports.base_url
    with svc.store.write() as conn:
        rows = repo.pack_rows(conn, [a, b])
        seqs = {r.passport_id: r.seq for r in repo.shells_of_passports(conn, [a, b])}
        held = _pairs(conn, seqs.values())
        assert refresh_packs(conn, list(rows.values()), base) == 0
        assert _pairs(conn, seqs.values()) == held
        other = {**rows[a], "serial_number": rows[a]["serial_number"] + "-X"}
        assert refresh_packs(conn, [other, rows[b]], base) == 1
        pairs = _pairs(conn, seqs.values())
        assert ("partInstanceId", other["serial_number"]) in pairs[seqs[a]] and pairs[seqs[b]] == held[seqs[b]]
        assert refresh_packs(conn, [rows[a], rows[b]], base) == 1  # back in step with the passport
        assert _pairs(conn, seqs.values()) == held
