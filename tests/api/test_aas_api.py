"""The AAS API (IDTA-01002 Part 2) under /aas, on a live node with demo passports.

The official IDTA test engine (``aas-test-engines``) checks the node's two read profiles in full; the
tests below it check what the engine does not: the cut per reader, the Part 2 error body, the paging,
the filters and the audit record.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from batteryloop.access import Caller
from batteryloop.sim import pilot

PASSPORTS = 3
OP = pilot.AUTOMAKER


def b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A node with the pilot's participants and three passports, served by uvicorn on a free loopback port."""
    from batteryloop.server import create_app
    from batteryloop.store.db import Store
    from tests.api.http_served import http_served
    from tests.conftest import make_services, seed_pilot

    store = Store(f"sqlite:///{tmp_path_factory.mktemp('aas')}/aas.db")
    store.upgrade()
    svc = make_services(store)
    seeded = seed_pilot(svc)
    report = svc.passports.import_passports(pilot.generate_batteries(PASSPORTS, seed=16), seeded["callers"][OP])
    with http_served(create_app(services=svc)) as base, httpx.Client(base_url=base + "/aas", timeout=60) as client:
        yield {"url": base + "/aas", "client": client, "svc": svc, "ids": sorted(report.ids),
               "tokens": seeded["tokens"]}
    store.dispose()


def H(node: dict[str, Any], who: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {node['tokens'][who]}"}


def shell_id(pid: str) -> str:
    return f"urn:batteryloop:{pid}:aas"


def sm_id(pid: str, part: str) -> str:
    return f"urn:batteryloop:{pid}:submodel:{part}"


def message(r: httpx.Response) -> str:
    """The text of a Part 2 Result body (and that it is one)."""
    assert r.headers["content-type"].startswith("application/json"), r.headers["content-type"]
    body = r.json()
    assert set(body) == {"messages"} and len(body["messages"]) == 1, body
    m = body["messages"][0]
    assert m["code"] == str(r.status_code) and m["messageType"] == "Error" and m["timestamp"]
    return str(m["text"])


# ------------------------------------------------------------------------------- the official engine
SUITES = {  # suite → operations it checks (with the reachability check and the summary)
    "AssetAdministrationShellRepositoryServiceSpecification": 25,
    "SubmodelRepositoryServiceSpecification": 23,
}


@pytest.mark.slow
@pytest.mark.parametrize("suite", list(SUITES))
def test_the_official_test_engine_passes_in_full(node: dict[str, Any], suite: str) -> None:
    from aas_test_engines import api, config, http
    from aas_test_engines.result import Level

    name = next(s for s in api.supported_versions()["3.0"] if f"/{suite}/" in s)
    start = time.perf_counter()
    result, counts = api.execute_tests(http.HttpClient(node["url"]), config.CheckApiConfig(suite=name))
    failed: list[str] = []

    def walk(r: Any, path: list[str]) -> None:
        if r.level in (Level.ERROR, Level.CRITICAL) and not r.sub_results:
            failed.append(" > ".join([*path[-3:], r.message])[:400])
        for sub in r.sub_results:
            walk(sub, [*path, r.message.strip()])

    walk(result, [])
    operations = [r for r in result.sub_results if r.message.startswith("Checking ")]
    negative = counts.invalid_rejected + counts.invalid_accepted
    positive = counts.valid_accepted + counts.valid_rejected
    print(f"\n{suite}: {len(operations)} operations, negative {counts.invalid_rejected}/{negative}, "
          f"positive {counts.valid_accepted}/{positive} ({time.perf_counter() - start:.1f} s)")
    assert not failed, "\n".join(failed)
    assert result.ok()
    assert len(operations) == SUITES[suite]
    assert counts.invalid_accepted == 0 and counts.valid_rejected == 0
    assert negative >= 30 and positive >= 70  # the engine 1.0.3 runs 32-34 and 74-78


# ------------------------------------------------------------------------------- the cut per reader
def test_each_reader_sees_the_shell_cut_to_its_tiers(node: dict[str, Any]) -> None:
    c, pid = node["client"], node["ids"][0]
    anonymous = c.get(f"/shells/{b64(shell_id(pid))}").json()
    operator = c.get(f"/shells/{b64(shell_id(pid))}", headers=H(node, OP)).json()
    recycler = c.get(f"/shells/{b64(shell_id(pid))}", headers=H(node, pilot.RECYCLER_EU)).json()
    refs = {who: [r["keys"][0]["value"] for r in s["submodels"]] for who, s in
            (("anonymous", anonymous), ("operator", operator), ("recycler", recycler))}
    # the product condition (state of health) is legitimate-interest data: not even referenced to the public
    assert sm_id(pid, "product_condition") not in refs["anonymous"]
    assert sm_id(pid, "product_condition") in refs["operator"] and sm_id(pid, "product_condition") in refs["recycler"]
    assert len(refs["operator"]) == len(refs["anonymous"]) + 1
    hidden = c.get(f"/submodels/{b64(sm_id(pid, 'product_condition'))}")
    assert hidden.status_code == 404 and "not in your access tiers" in message(hidden)
    assert c.get(f"/submodels/{b64(sm_id(pid, 'product_condition'))}", headers=H(node, OP)).status_code == 200
    # a submodel both see: values above the public tier are empty for the public, set for the operator
    path = "/submodel-elements/TechnicalPropertyAreas.PowerCapability.PowerFade/$value"
    url = f"/submodels/{b64(sm_id(pid, 'technical_data'))}{path}"
    assert c.get(url).json() == {"PowerFade": None}
    assert isinstance(c.get(url, headers=H(node, OP)).json()["PowerFade"], float)
    # the public sees the same values as the passport API shows it
    public_view = node["svc"].passports.get_view(pid, Caller())
    nameplate = c.get(f"/submodels/{b64(sm_id(pid, 'digital_nameplate'))}/$value").json()
    assert nameplate["SerialNumber"] == public_view["battery"]["serial_number"]
    assert "state_of_health" not in public_view["battery"]


def test_a_read_above_the_public_tier_is_audited_on_the_aas_channel(node: dict[str, Any]) -> None:
    c, pid = node["client"], node["ids"][1]
    r = c.get(f"/submodels/{b64(sm_id(pid, 'product_condition'))}/$value", headers=H(node, pilot.RECYCLER_EU))
    assert r.status_code == 200
    svc = node["svc"]
    entries = svc.audit.query(svc.participants.authenticate(node["tokens"][OP]), passport_id=pid,
                              actor=pilot.RECYCLER_EU)
    assert any(e["channel"] == "aas" for e in entries), entries


# ------------------------------------------------------------------------------- errors
@pytest.mark.parametrize(("path", "status", "words"), [
    ("/shells/not!base64", 400, "aasIdentifier 'not!base64' is not base64url"),
    ("/shells/" + b64("urn:other:1"), 404, "shell ids here are urn:batteryloop:<passport id>:aas"),
    ("/shells/" + b64("urn:batteryloop:NOPE:aas"), 404, "no passport 'NOPE'"),
    ("/submodels/" + b64("urn:batteryloop:NOPE:submodel:circularity"), 404, "no passport 'NOPE'"),
    ("/submodels/" + b64("urn:batteryloop:X:submodel:engine"), 404, "part one of dpp_metadata"),
    ("/submodels/gA", 400, "does not decode to UTF-8"),
    ("/shells?cursor=bm9wZQ", 400, "cursor 'bm9wZQ' is not one this server issued"),
    ("/shells?cursor=%25%25", 400, "is not one this server issued"),
    ("/shells?limit=0", 400, "limit"),
    ("/shells?assetIds=" + b64("not json"), 400, "assetIds"),
    ("/submodels?level=shallow", 400, "level"),
    ("/submodels?semanticId=***", 400, "semanticId"),
    ("/nothing-here", 404, "no AAS operation at this path"),
    ("/shells/" + b64(shell_id("X")) + "/nothing", 404, "no AAS operation at this path"),
])
def test_errors_are_part2_results_naming_what_is_wrong(node: dict[str, Any], path: str, status: int,
                                                        words: str) -> None:
    r = node["client"].get(path)
    assert r.status_code == status, r.text
    assert words in message(r)


def test_element_errors_and_writes(node: dict[str, Any]) -> None:
    c, pid = node["client"], node["ids"][0]
    base = f"/submodels/{b64(sm_id(pid, 'technical_data'))}/submodel-elements"
    bad = c.get(f"{base}/Technical..Areas")
    assert bad.status_code == 400 and "is not an idShortPath" in message(bad)
    missing = c.get(f"{base}/TechnicalPropertyAreas.Nope")
    assert missing.status_code == 404 and "no element 'Nope' in TechnicalPropertyAreas" in message(missing)
    not_list = c.get(f"{base}/TechnicalPropertyAreas[0]")
    assert not_list.status_code == 404 and "is not a list" in message(not_list)
    leaf = c.get(f"{base}/GeneralInformation.ManufacturerName/$path")
    assert leaf.status_code == 400 and "is a Property" in message(leaf)
    # the read profile has no writes: 405 with the methods allowed, as a Part 2 Result
    for method in ("POST", "PUT", "DELETE", "PATCH"):
        r = c.request(method, f"/shells/{b64(shell_id(pid))}", json={}, headers=H(node, OP))
        assert r.status_code == 405 and r.headers["allow"] == "GET", (method, r.text)
        assert "read profile (SSP-002)" in message(r)
    wrong_token = c.get("/shells", headers={"Authorization": "Bearer blt_wrong"})
    assert wrong_token.status_code == 401 and "bearer token" in message(wrong_token)
    # bad input never crashes: a fuzz of ids, paths and cursors gives 4xx only
    for junk in ("=", "====", "a", "_-_-", "%00", "a..b", b64("\x00"), b64("urn:batteryloop::aas"), "x" * 3000):
        for path in (f"/shells/{junk}", f"/submodels/{junk}/$value", f"{base}/{junk}", f"/shells?cursor={junk}",
                     f"/submodels/$path?cursor={junk}", f"/shells?assetIds={junk}"):
            r = c.get(path)
            assert 400 <= r.status_code < 500, (path, r.status_code, r.text[:200])


# ------------------------------------------------------------------------------- paging and filters
def _walk(c: httpx.Client, path: str, limit: int, **kw: Any) -> tuple[list[Any], int]:
    out, pages, cursor = [], 0, None
    while True:
        params = {"limit": limit, **({"cursor": cursor} if cursor else {})}
        body = c.get(path, params=params, **kw).json()
        assert set(body) == {"paging_metadata", "result"} and len(body["result"]) <= limit
        out += body["result"]
        pages += 1
        cursor = body["paging_metadata"].get("cursor")
        if not cursor:
            return out, pages


def test_paging_walks_every_list_once(node: dict[str, Any]) -> None:
    c, ids = node["client"], node["ids"]
    shells, pages = _walk(c, "/shells", 2)
    assert [s["id"] for s in shells] == [shell_id(p) for p in ids] and pages == 2
    everything = c.get("/submodels").json()
    assert "cursor" not in everything["paging_metadata"] and len(everything["result"]) == 7 * len(ids)
    submodels, pages = _walk(c, "/submodels", 5)
    assert [s["id"] for s in submodels] == [s["id"] for s in everything["result"]] and pages == 5
    mine, _ = _walk(c, "/submodels/$reference", 4, headers=H(node, OP))
    assert len(mine) == 8 * len(ids)  # the operator holds the product condition too
    paths, _ = _walk(c, "/submodels/$path", 7)
    assert paths == [p for s in everything["result"] for p in c.get(f"/submodels/{b64(s['id'])}/$path").json()]
    sm = f"/submodels/{b64(sm_id(ids[0], 'technical_data'))}"
    elements, _ = _walk(c, sm + "/submodel-elements", 1)
    assert [e["idShort"] for e in elements] == [e["idShort"] for e in c.get(sm).json()["submodelElements"]]
    refs, _ = _walk(c, f"/shells/{b64(shell_id(ids[0]))}/submodel-refs", 3)
    assert refs == c.get(f"/shells/{b64(shell_id(ids[0]))}").json()["submodels"]


def test_filters(node: dict[str, Any]) -> None:
    c, ids = node["client"], node["ids"]
    first = c.get(f"/shells/{b64(shell_id(ids[0]))}").json()["assetInformation"]

    def shells(**params: Any) -> list[str]:
        r = c.get("/shells", params=params)
        assert r.status_code == 200, r.text
        return [s["id"] for s in r.json()["result"]]

    def asset(name: str, value: str) -> str:
        return b64(f'{{"name": "{name}", "value": "{value}"}}')

    assert shells(assetIds=asset("globalAssetId", first["globalAssetId"])) == [shell_id(ids[0])]
    serial = next(a["value"] for a in first["specificAssetIds"] if a["name"] == "partInstanceId")
    assert shells(assetIds=asset("partInstanceId", serial)) == [shell_id(ids[0])]
    model = next(a["value"] for a in first["specificAssetIds"] if a["name"] == "manufacturerPartId")
    assert shell_id(ids[0]) in shells(assetIds=[asset("manufacturerPartId", model), asset("partInstanceId", serial)])
    assert shells(assetIds=[asset("partInstanceId", serial), asset("partInstanceId", "other")]) == []
    assert shells(assetIds=asset("vin", "x")) == [] and shells(idShort="Other") == []
    assert shells(idShort="BatteryPassport") == [shell_id(p) for p in ids]
    urn = "urn:samm:io.admin-shell.idta.batterypass.circularity:1.0.0#CircularityBattery"
    by_semantic = c.get("/submodels", params={"semanticId": b64(urn)}).json()["result"]
    assert [s["id"] for s in by_semantic] == [sm_id(p, "circularity") for p in ids]
    by_id_short = c.get("/submodels/$reference", params={"idShort": "Circularity"}).json()["result"]
    assert [r["keys"][0]["value"] for r in by_id_short] == [sm_id(p, "circularity") for p in ids]


# ------------------------------------------------------------------------------- forms
def test_content_modifiers_and_serialization(node: dict[str, Any]) -> None:
    c, pid = node["client"], node["ids"][0]
    sm = f"/submodels/{b64(sm_id(pid, 'material_composition'))}"
    full = c.get(sm, headers=H(node, OP)).json()
    assert full["semanticId"]["keys"][0]["value"].endswith("#MaterialCompositionBattery")
    meta = c.get(sm + "/$metadata", headers=H(node, OP)).json()
    assert "submodelElements" not in meta and meta["id"] == full["id"]
    assert c.get(sm + "/$reference").json() == {"type": "ModelReference",
                                                  "keys": [{"type": "Submodel", "value": full["id"]}]}
    core = c.get(sm, params={"level": "core"}, headers=H(node, OP)).json()
    assert [e["idShort"] for e in core["submodelElements"]] == [e["idShort"] for e in full["submodelElements"]]
    assert all("value" not in e for e in core["submodelElements"]
               if e["modelType"] in ("SubmodelElementCollection", "SubmodelElementList"))
    value = c.get(sm + "/$value", headers=H(node, OP)).json()
    assert set(value) == {e["idShort"] for e in full["submodelElements"]}
    first = value["HazardousSubstances"][0]
    el = c.get(sm + "/submodel-elements/HazardousSubstances[0].HazardousSubstanceName/$value",
               headers=H(node, OP)).json()
    assert el == {"HazardousSubstanceName": first["HazardousSubstanceName"]}
    ref = c.get(sm + "/submodel-elements/HazardousSubstances[0]/$reference", headers=H(node, OP)).json()
    assert [k["type"] for k in ref["keys"]] == ["Submodel", "SubmodelElementList", "SubmodelElementCollection"]
    paths = c.get(sm + "/submodel-elements/HazardousSubstances/$path", params={"level": "core"},
                  headers=H(node, OP)).json()
    assert paths[:2] == ["HazardousSubstances", "HazardousSubstances[0]"] and all(
        p.count("[") == 1 and "." not in p for p in paths[1:])
    env = c.get("/serialization", params={"aasIds": b64(shell_id(pid))}).json()
    assert [s["id"] for s in env["assetAdministrationShells"]] == [shell_id(pid)]
    assert len(env["submodels"]) == 7  # the public reader's
    alone = c.get("/serialization", params={"submodelIds": b64(sm_id(pid, "circularity"))}).json()
    assert "assetAdministrationShells" not in alone and [s["id"] for s in alone["submodels"]] == [sm_id(pid, "circularity")]
    assert c.get("/description").json()["profiles"][0].endswith("AssetAdministrationShellRepositoryServiceSpecification/SSP-002")


def test_a_new_version_is_served_at_once(node: dict[str, Any]) -> None:
    """The cache is keyed by the passport's version: a change through the passport API shows in the next read."""
    c, pid = node["client"], node["ids"][2]
    url = f"/submodels/{b64(sm_id(pid, 'product_condition'))}/$value"
    before = c.get(url, headers=H(node, OP)).text
    assert "111.1" not in before
    r = httpx.patch(node["url"].removesuffix("/aas") + f"/api/v1/passports/{pid}", headers=H(node, OP),
                    json={"state_of_health": {"remaining_capacity_ah": 111.1}}, timeout=60)
    assert r.status_code == 200, r.text
    after = c.get(url, headers=H(node, OP)).text
    assert "111.1" in after and after != before
