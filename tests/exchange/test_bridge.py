"""The Catena-X ↔ Ouranos bridge end to end, over HTTP on loopback, with its confidentiality rules."""

from __future__ import annotations

import json
import re
from datetime import date
from typing import Any

import httpx
import pytest

from batteryloop.access import Caller
from batteryloop.services import build_services
from batteryloop.config import Settings
from batteryloop.exchange.bridge import import_supplier_footprint, pack_carbon_footprint, request_trade
from batteryloop.exchange.commitments import Opening, audit, commit, verify_statement
from batteryloop.exchange.errors import ExchangeError
from batteryloop.participants import Role

from .conftest import ADMIN, AUTOMAKER_BPN, CELL_TRACE, CELLMAKER_OPERATOR, OURANOS_KEY

PACK_TRACE = "0c1d2e3f-0000-4000-8000-00000000a001"
CELL_AT_AUTOMAKER = "0c1d2e3f-0000-4000-8000-00000000a002"
# the cell maker's confidential components (its suppliers, volumes, per-component footprints), per kWh of cells
COMPONENTS = [
    {"stage": "pre", "supplier": "Kansai Cathode Materials KK", "volume_t": 1840.0, "ghg_kgco2e": 38.42117},
    {"stage": "pre", "supplier": "Hokkaido Graphite Refining", "volume_t": 960.0, "ghg_kgco2e": 6.50001},
    {"stage": "pre", "process": "own electrode preparation", "ghg_kgco2e": 2.07882},
    {"stage": "main", "process": "cell assembly and formation, Himeji", "energy_mwh": 51234.0, "ghg_kgco2e": 9.86543},
    {"stage": "main", "supplier": "Setouchi Separator Co", "volume_t": 120.0, "ghg_kgco2e": 1.13457},
]
CONFIDENTIAL = ["Kansai Cathode", "Hokkaido Graphite", "Setouchi Separator", "1840", "51234", "38.42117", "6.50001",
                "9.86543", "Himeji"]


def _leaks(secret: str, text: str) -> bool:
    """Whether ``secret`` appears in ``text`` as itself: a figure not as part of a longer number (a page's
    timestamp ``…T05:40:39.184033Z`` holds "1840" among its microseconds — no leak), a name anywhere."""
    if secret.replace(".", "").isdigit():
        return re.search(r"(?<!\d)" + re.escape(secret) + r"(?!\d)", text) is not None
    return secret in text


AUTOMAKER_AMOUNT = 77.77  # the automaker's activity amount for the cell part: must never reach the cell maker


def _ouranos(node: Any, method: str, target: str, body: Any = None, **params: str) -> httpx.Response:
    return httpx.request(method, node.base_url + "/api/v1/datatransport", params={"dataTarget": target, **params},
                         json=body, headers={"apiKey": OURANOS_KEY, "Authorization": f"Bearer {ADMIN}"})


@pytest.fixture(scope="module")
def bridged(space: dict[str, Any]) -> dict[str, Any]:
    a, c = space["automaker"], space["cellmaker"]
    # the automaker's own parts structure (Ouranos records on its node): the amount stays here
    a.ouranos.put_parts_structure(AUTOMAKER_BPN, {
        "parentPartsModel": {"traceId": PACK_TRACE, "operatorId": AUTOMAKER_BPN, "partsName": "EM pack 82 kWh",
                             "plantId": None, "supportPartsName": None, "terminatedFlag": False,
                             "amountRequired": None, "amountRequiredUnit": None},
        "childrenPartsModel": [{"traceId": CELL_AT_AUTOMAKER, "operatorId": AUTOMAKER_BPN,
                                "partsName": "NMC811 pouch cells", "plantId": None, "supportPartsName": None,
                                "terminatedFlag": False, "amountRequired": AUTOMAKER_AMOUNT,
                                "amountRequiredUnit": "kilowatt-hour"}]})
    # the cell maker registers its part, its CFP (kg CO2e per kWh of cell capacity) and a commitment
    r = _ouranos(c, "PUT", "parts", {"traceId": CELL_TRACE, "operatorId": CELLMAKER_OPERATOR,
                                     "partsName": "NMC811 pouch cell 60Ah", "plantId": None, "supportPartsName": None,
                                     "terminatedFlag": False, "amountRequired": None, "amountRequiredUnit": None})
    assert r.status_code == 201, r.text
    pre_own, pre_comp = 2.07882, 38.42117 + 6.50001
    main_own, main_comp = 9.86543, 1.13457
    dqr = {"TeR": 1.5, "GeR": 1.8, "TiR": 1.2}
    entries = [{"cfpId": None, "traceId": CELL_TRACE, "ghgEmission": v, "ghgDeclaredUnit": "kgCO2e/kilowatt-hour",
                "cfpType": t, "dqrType": "x", "dqrValue": dqr}
               for t, v in (("preProduction", pre_own), ("preComponent", pre_comp), ("mainProduction", main_own),
                            ("mainComponent", main_comp))]
    r = _ouranos(c, "PUT", "cfp", entries)
    assert r.status_code == 201, r.text
    statement, opening, _ = commit(c.identity, subject=CELL_TRACE, unit="kgCO2e/kilowatt-hour", components=COMPONENTS)
    c.ouranos.put_commitment(CELLMAKER_OPERATOR, CELL_TRACE, statement, opening.as_json())
    # the automaker's trade request, authenticated by its Catena-X credentials (recognised in Ouranos)
    trade = request_trade(a, c.base_url, supplier_operator_id=CELLMAKER_OPERATOR,
                          downstream_trace_id=CELL_AT_AUTOMAKER, api_key=OURANOS_KEY, due=date(2026, 12, 31),
                          message="CFP for the 82 kWh pack please")
    tid = trade["tradeModel"]["tradeId"]
    # the cell maker answers with its part
    r = _ouranos(c, "PUT", "tradeResponse", None, tradeId=tid, traceId=CELL_TRACE)
    assert r.status_code == 201, r.text
    assert r.json()["partsModel"]["amountRequired"] is None
    return {"trade_id": tid}


def test_supplier_never_receives_downstream_amounts(space: dict[str, Any], bridged: dict[str, Any]) -> None:
    c = space["cellmaker"]
    from sqlalchemy import select

    from batteryloop.store.exchange_tables import exchange_negotiations, exchange_ouranos, exchange_transfers

    with c.store.read() as conn:
        dump = json.dumps([list(map(str, r)) for t in (exchange_ouranos, exchange_negotiations, exchange_transfers)
                           for r in conn.execute(select(t)).all()])
    assert str(AUTOMAKER_AMOUNT) not in dump and "EM pack" not in dump and "pouch cells" not in dump
    st = _ouranos(c, "GET", "status").json()
    assert st and st[0]["requestStatus"]["cfpResponseStatus"] == "COMPLETED"


def test_bridge_brings_certified_aggregate_into_passport(space: dict[str, Any], bridged: dict[str, Any]) -> None:
    a = space["automaker"]
    fp = import_supplier_footprint(a, space["cellmaker"].dsp_url, "urn:ouranos:cfp:" + CELL_TRACE)
    assert fp.pre_production == pytest.approx(47.0, abs=1e-4)
    assert fp.main_production == pytest.approx(11.0, abs=1e-4)
    assert fp.certifications[0]["ground"] == "agreement:cx-accepts-ouranos"
    assert fp.certifications[0]["certificateId"] == "CFP-2025-0042"
    # the automaker's passport: its battery model's carbon footprint now includes the supplier's figures
    svc = build_services(Settings(database_url=a.store.url, public_base_url=a.base_url, issuing_agency_code="BL",
                                  admin_token="x"), a.store, migrate=False)
    from tests.conftest import seed_pilot

    seed_pilot(svc)
    model_id = "EM-NMC811-82"
    cf = pack_carbon_footprint(fp, cells_capacity_kwh=82.0, usable_energy_kwh=77.0, vehicle_category="M1",
                               warranty_years=8, own_stages_kgco2e={"raw_material": 310.0, "main_production": 150.0,
                                                                  "distribution": 40.0, "end_of_life": 95.0})
    total_energy = 77.0 * 60 * 8
    assert cf["raw_material_kgco2e_per_kwh"] == pytest.approx((310 + 47.0 * 82) / total_energy, abs=1e-4)
    caller = Caller(AUTOMAKER_BPN, frozenset({Role.MANUFACTURER}))
    # the old performance class was computed for the old figure: remove it (merge patch null) with the update
    svc.passports.update_model(model_id, {"carbon_footprint": {**cf, "performance_class": None}}, caller, reason=f"supplier CFP via {fp.agreement_id}")
    public = svc.passports.get_model(model_id, Caller())
    assert public["access_tiers"] == ["public"]
    stored = public["data"]["carbon_footprint"]
    assert {k: stored[k] for k in cf} == cf and "performance_class" not in stored


def test_no_confidential_field_reaches_the_automaker(space: dict[str, Any], bridged: dict[str, Any]) -> None:
    a, c = space["automaker"], space["cellmaker"]
    _, _, data = a.fetch(c.dsp_url, "urn:ouranos:cfp:" + CELL_TRACE)
    seen = json.dumps(data) + json.dumps(a.request_catalog(c.dsp_url))
    import base64

    for tok in [data["commitment"], *data["certifications"]]:
        seen += base64.urlsafe_b64decode(tok.split(".")[1] + "==").decode()
    for secret in CONFIDENTIAL:
        assert secret not in seen, secret
    assert {e["cfpType"] for e in data["cfp"]} == {"preProductionResponse", "mainProductionResponse"}
    # nor through the Ouranos API with its own presentation: only the aggregated responses
    r = httpx.get(c.base_url + "/api/v1/datatransport", params={"dataTarget": "cfp", "traceIds": CELL_TRACE},
                  headers={"apiKey": OURANOS_KEY, **a.auth_headers(c.did)})
    assert r.status_code == 200 and {e["cfpType"] for e in r.json()} == {"preProductionResponse",
                                                                          "mainProductionResponse"}
    # and the opening dataset is not even in the automaker's catalog
    assert "urn:ouranos:audit:" + CELL_TRACE not in {d["@id"] for d in a.request_catalog(c.dsp_url)["dataset"]}
    with pytest.raises(ExchangeError):
        a.negotiate(c.dsp_url, "urn:ouranos:audit:" + CELL_TRACE, {"@id": "x", "@type": "Offer",
                                                                    "permission": [{"action": "use"}]})


def test_party_without_trade_gets_nothing(space: dict[str, Any], bridged: dict[str, Any]) -> None:
    # the recycler's Catena-X dismantler credential is not in the Ouranos ← Catena-X agreement: refused outright
    with pytest.raises(ExchangeError, match="not covered by recognition agreement ouranos-accepts-cx"):
        space["recycler"].request_catalog(space["cellmaker"].dsp_url)
    r = space["auditor"]  # recognised member with a framework agreement, but no trade with the cell maker
    with pytest.raises(ExchangeError, match="no answered trade request"):
        r.fetch(space["cellmaker"].dsp_url, "urn:ouranos:cfp:" + CELL_TRACE)
    resp = httpx.get(space["cellmaker"].base_url + "/api/v1/datatransport",
                     params={"dataTarget": "cfp", "traceIds": CELL_TRACE},
                     headers={"apiKey": OURANOS_KEY, **r.auth_headers(space["cellmaker"].did)})
    assert resp.status_code == 404 and resp.json()["code"] == "[dataspace] NotFound"


def test_auditor_verifies_the_sum(space: dict[str, Any], bridged: dict[str, Any]) -> None:
    aud, c = space["auditor"], space["cellmaker"]
    # the auditor needs an answered trade? No: the opening dataset is granted by BPN; the auditor verifies
    _, _, data = aud.fetch(c.dsp_url, "urn:ouranos:audit:" + CELL_TRACE)
    statement = verify_statement(data["statement"], aud.resolver)
    report = audit(statement, Opening.from_json(data["opening"]))
    assert report.ok and report.sum_micro == 58_000_000


def test_supplier_may_refuse_disclosure(space: dict[str, Any], bridged: dict[str, Any]) -> None:
    a, c = space["automaker"], space["cellmaker"]
    entries = c.ouranos.cfp(CELLMAKER_OPERATOR, [CELL_TRACE])
    c.ouranos.put_cfp(CELLMAKER_OPERATOR, entries, disclose=False)
    try:
        fp = import_supplier_footprint(a, c.dsp_url, "urn:ouranos:cfp:" + CELL_TRACE)
        assert fp.pre_production is None and fp.main_production is None
        with pytest.raises(ExchangeError, match="did not disclose"):
            pack_carbon_footprint(fp, cells_capacity_kwh=82, usable_energy_kwh=77, vehicle_category="M1",
                                  warranty_years=8, own_stages_kgco2e={})
    finally:
        c.ouranos.put_cfp(CELLMAKER_OPERATOR, entries, disclose=True)


def test_ouranos_api_rules(space: dict[str, Any], bridged: dict[str, Any]) -> None:
    c = space["cellmaker"]
    bad = _ouranos(c, "PUT", "cfp", [{"cfpId": None, "traceId": CELL_TRACE, "ghgEmission": 1,
                                      "ghgDeclaredUnit": "kgCO2e/kilowatt-hour", "cfpType": "preProduction",
                                      "dqrValue": {"TeR": 1, "GeR": 1, "TiR": 1}}])
    assert bad.status_code == 400 and "preComponent" in bad.json()["message"]
    assert _ouranos(c, "GET", "hoge").json()["message"].startswith("Invalid request parameters, dataTarget")
    nokey = httpx.get(c.base_url + "/api/v1/datatransport", params={"dataTarget": "parts"},
                      headers={"Authorization": f"Bearer {ADMIN}"})
    assert nokey.status_code == 401
    # a downstream cannot write trade requests in another operator's name
    r = httpx.put(c.base_url + "/api/v1/datatransport", params={"dataTarget": "tradeRequest"},
                  json={"tradeModel": {"downstreamOperatorId": "BPNL000000000XXX", "downstreamTraceId": "t",
                                       "upstreamOperatorId": CELLMAKER_OPERATOR},
                        "statusModel": {"requestType": "CFP", "responseDueDate": "2026-12-31"}},
                  headers={"apiKey": OURANOS_KEY, **space["automaker"].auth_headers(c.did)})
    assert r.status_code == 403


from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

PARTIES = ["automaker", "recycler", "auditor", "anonymous", "forged"]
ENDPOINTS = [
    ("POST", "/dsp/catalog/request"), ("GET", "/dsp/catalog/datasets/urn:ouranos:cfp:" + CELL_TRACE),
    ("GET", "/dsp/catalog/datasets/urn:ouranos:audit:" + CELL_TRACE), ("GET", "/api/v1/datatransport"),
    ("GET", "/data/urn:uuid:whatever"), ("GET", "/dashboard"), ("GET", "/.well-known/did.json"),
    ("POST", "/dsp/negotiations/request"), ("POST", "/dsp/transfers/request"),
]
TARGETS = ["cfp", "parts", "partsStructure", "tradeRequest", "status", "cfpCertification", "hoge"]
FILTERS = [[], [{"kind": "commitment_opening"}], [{"keyword": "audit"}], [{"keyword": "Kansai Cathode"}],
           [{"id": "urn:ouranos:audit:" + CELL_TRACE}]]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(party=st.sampled_from(PARTIES), endpoint=st.sampled_from(ENDPOINTS), target=st.sampled_from(TARGETS),
       api_key=st.booleans(), flt=st.sampled_from(FILTERS))
def test_property_no_confidential_field_without_contract(space: dict[str, Any], bridged: dict[str, Any], party: str,
                                                         endpoint: tuple[str, str], target: str, api_key: bool,
                                                         flt: list[Any]) -> None:
    """Whatever a party without a grant asks the cell maker, no supplier name, volume or component figure comes back."""
    c = space["cellmaker"]
    headers: dict[str, str] = {"apiKey": OURANOS_KEY} if api_key else {}
    if party in ("automaker", "recycler", "auditor"):
        headers.update(space[party].auth_headers(c.did))
    elif party == "forged":
        from batteryloop.exchange.credentials import present
        from batteryloop.exchange.did import Identity

        a = space["automaker"]
        headers["Authorization"] = "Bearer " + present(Identity(a.did, "x", space["recycler"].identity.signer),
                                                       a.credentials, audience=c.did)
    method, path = endpoint
    body = {"@context": ["https://w3id.org/dspace/2025/1/context.jsonld"], "@type": "CatalogRequestMessage",
            "filter": flt} if "catalog" in path else {}
    r = httpx.request(method, c.base_url + path, headers=headers, json=body if method == "POST" else None,
                      params={"dataTarget": target, "traceIds": CELL_TRACE, "traceId": CELL_TRACE}
                      if "datatransport" in path else None)
    text = r.text
    if party != "auditor":  # the auditor is the one party granted the opening (by its own contract only)
        for secret in CONFIDENTIAL:
            assert not _leaks(secret, text), (party, endpoint, target, secret)
        if path == "/dsp/catalog/request":  # no filter lists the auditors-only dataset to anyone else
            assert "urn:ouranos:audit:" not in text, (party, flt)
    else:
        assert "\"salts\"" not in text and "value_micro" not in text  # the opening travels only by contract
