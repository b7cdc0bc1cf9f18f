"""Dataspace Protocol 2025-1 counter-offers between real nodes on loopback, and the catalog ``filter``.

Consumer counter-offer: a ContractRequestMessage (initial, or with providerPid after an offer); provider
counter-offer: a ContractOfferMessage to the consumer's ``/negotiations/{consumerPid}/offers``. The provider
agrees to a counter-offer that keeps all its constraints (it may add some) and that the consumer satisfies,
answers a wider one with its own offer, and denies one it cannot evaluate. Every message either side sends
is checked against the official schemas here, and illegal transitions get the protocol's error object.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from batteryloop.exchange import dsp
from batteryloop.exchange.errors import ExchangeError, ProtocolError
from batteryloop.exchange.node import Node, catalog_filter
from batteryloop.exchange.odrl import narrowing_problems
from batteryloop.exchange.schemas import dsp_errors

from .conftest import usage_policy

DS = "urn:bl:doc:open"
# a usage end date: narrows the offer (the consumer promises to stop using the data then). Not
# DataUsageEndDurationDays: the Catena-X profile wants an integer there, which DSP 2025-1's RightOperand
# (string, object or array) does not allow — no DSP message can carry it.
SHORTER = {"leftOperand": "DataUsageEndDate", "operator": "eq", "rightOperand": "2099-12-31T00:00:00Z"}


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[dict[str, Any]]]:
    """Every DSP message any node in this process posts during the test."""
    out: list[dict[str, Any]] = []
    real = Node.post

    def post(self: Node, url: str, audience: str, body: dict[str, Any]) -> Any:
        out.append(copy.deepcopy(body))
        return real(self, url, audience, body)

    monkeypatch.setattr(Node, "post", post)
    yield out


def _narrower(a: Node) -> dict[str, Any]:
    """The automaker's offer for DS with one more constraint (a usage end date), under a new @id."""
    offer = copy.deepcopy(a.offer_of(a.datasets[DS]))
    offer["@id"] = "urn:uuid:counter-until-2099"
    offer["permission"][0]["constraint"][0]["and"].append(SHORTER)
    return offer


def _wider() -> dict[str, Any]:
    return {"@id": "urn:uuid:counter-wider", "@type": "Offer", "permission": [
        {"action": "use", "constraint": [{"leftOperand": "Membership", "operator": "eq", "rightOperand": "active"}]}]}


def _all_valid(sent: list[dict[str, Any]]) -> None:
    assert sent, "no message was sent"
    for m in sent:
        assert dsp_errors(m) == [], (m["@type"], dsp_errors(m))


def test_narrowing_counter_offer_is_agreed(space: dict[str, Any], sent: list[dict[str, Any]]) -> None:
    a, r = space["automaker"], space["recycler"]
    n = r.negotiate(a.dsp_url, DS, _narrower(a))
    assert n.state == "FINALIZED", n.reason
    assert SHORTER in n.agreement["permission"][0]["constraint"][0]["and"]
    prov = a.repo.negotiation_by_agreement(n.agreement_id, "provider")
    assert prov.agreement == n.agreement
    # the narrower terms are the ones in force: the transfer evaluates them (before 2099: allowed)
    t = r.transfer(a.dsp_url, n.agreement_id)
    assert r.pull(t.pid) == {"hello": "world"}
    _all_valid(sent)


def test_provider_counter_offer_then_consumer_accepts(space: dict[str, Any], sent: list[dict[str, Any]]) -> None:
    a, r = space["automaker"], space["recycler"]
    n = r.negotiate(a.dsp_url, DS, _wider())
    assert n.state == "OFFERED"
    kinds = [m["@type"] for m in sent]
    assert kinds == ["ContractRequestMessage", "ContractOfferMessage"]
    assert sent[1]["consumerPid"] == n.pid and "callbackAddress" not in sent[1]
    done = r.accept_offer(n.pid)
    assert done.state == "FINALIZED"
    assert done.agreement["permission"] == a.offer_of(a.datasets[DS])["permission"]
    assert a.repo.negotiation(n.peer_pid, "provider").state == "FINALIZED"
    _all_valid(sent)


def test_consumer_counters_the_providers_offer(space: dict[str, Any], sent: list[dict[str, Any]]) -> None:
    """REQUESTED → OFFERED → (counter) REQUESTED → OFFERED → (counter) REQUESTED → AGREED … FINALIZED."""
    a, r = space["automaker"], space["recycler"]
    n = r.negotiate(a.dsp_url, DS, _wider())
    assert n.state == "OFFERED"
    n = r.counter_offer(n.pid, _wider())  # still too wide: the provider offers its terms again
    assert n.state == "OFFERED" and a.repo.negotiation(n.peer_pid).state == "OFFERED"
    n = r.counter_offer(n.pid, _narrower(a))
    assert n.state == "FINALIZED" and SHORTER in n.agreement["permission"][0]["constraint"][0]["and"]
    counters = [m for m in sent if m["@type"] == "ContractRequestMessage" and "providerPid" in m]
    assert len(counters) == 2 and all("callbackAddress" not in m for m in counters)
    _all_valid(sent)


def test_counter_offer_with_unknown_constraint_denied(space: dict[str, Any]) -> None:
    a, r = space["automaker"], space["recycler"]
    offer = _narrower(a)
    offer["permission"][0]["constraint"][0]["and"].append({"leftOperand": "spatial", "operator": "eq",
                                                          "rightOperand": "EU"})
    with pytest.raises(ExchangeError, match="'spatial'.*cannot be evaluated") as e:
        r.negotiate(a.dsp_url, DS, offer)
    assert e.value.code == "policy_denied"
    # after an offer, the same counter-offer ends the negotiation on both sides with the reason
    n = r.negotiate(a.dsp_url, DS, _wider())
    with pytest.raises(ExchangeError, match="'spatial'.*cannot be evaluated"):
        r.counter_offer(n.pid, offer)
    assert r.repo.negotiation(n.pid).state == "TERMINATED"
    prov = a.repo.negotiation(n.peer_pid)
    assert prov.state == "TERMINATED" and "spatial" in prov.reason


def test_counter_offer_the_consumer_does_not_satisfy_denied(space: dict[str, Any]) -> None:
    """The cell maker (no framework agreement credential) narrows the offer: still denied, naming what fails."""
    a, c = space["automaker"], space["cellmaker"]
    with pytest.raises(ExchangeError, match="FrameworkAgreement") as e:
        c.negotiate(a.dsp_url, DS, _narrower(a))
    assert "policy_denied" in str(e.value)


def test_counter_offer_in_wrong_state_refused(space: dict[str, Any]) -> None:
    a, r = space["automaker"], space["recycler"]
    n = r.negotiate(a.dsp_url, DS)
    assert n.state == "FINALIZED"
    # refused locally before anything is sent …
    with pytest.raises(ProtocolError, match="not allowed in state FINALIZED"):
        r.counter_offer(n.pid, _narrower(a))
    # … and by the provider if sent anyway
    offer = {**_narrower(a), "target": DS}
    msg = dsp.msg("ContractRequestMessage", providerPid=n.peer_pid, consumerPid=n.pid, offer=offer)
    resp = r.post(f"{a.dsp_url}/negotiations/{n.peer_pid}/request", a.did, msg)
    body = resp.json()
    assert resp.status_code == 400 and body["@type"] == "ContractNegotiationError"
    assert body["code"] == "InvalidStateTransition" and body["reason"][0].endswith("allowed in: (new), OFFERED")
    assert dsp_errors(body) == []
    # a provider's counter-offer to a finalized negotiation: the consumer answers with the same error
    offer_msg = dsp.msg("ContractOfferMessage", providerPid=n.peer_pid, consumerPid=n.pid,
                        offer={**a.offer_of(a.datasets[DS]), "target": DS})
    resp = a.post(f"{r.callback_url}/negotiations/{n.pid}/offers", r.did, offer_msg)
    assert resp.status_code == 400 and resp.json()["code"] == "InvalidStateTransition"
    assert dsp_errors(resp.json()) == []
    assert r.repo.negotiation(n.pid).state == "FINALIZED"


def test_counter_offer_for_another_dataset_refused(space: dict[str, Any]) -> None:
    a, r = space["automaker"], space["recycler"]
    n = r.negotiate(a.dsp_url, DS, _wider())
    assert n.state == "OFFERED"
    offer = {**_narrower(a), "target": "urn:bl:doc:dismantling"}
    msg = dsp.msg("ContractRequestMessage", providerPid=n.peer_pid, consumerPid=n.pid, offer=offer)
    resp = r.post(f"{a.dsp_url}/negotiations/{n.peer_pid}/request", a.did, msg)
    assert resp.status_code == 400 and resp.json()["code"] == "OfferMismatch"
    # a counter-request with a callbackAddress breaks the schema's oneOf: malformed
    bad = {**msg, "offer": {**offer, "target": DS}, "callbackAddress": r.callback_url}
    resp = r.post(f"{a.dsp_url}/negotiations/{n.peer_pid}/request", a.did, bad)
    assert resp.status_code == 400 and resp.json()["code"] == "InvalidMessage"
    # someone else cannot counter on this negotiation
    c = space["cellmaker"]
    msg2 = dsp.msg("ContractRequestMessage", providerPid=n.peer_pid, consumerPid=n.pid,
                   offer={**offer, "target": DS})
    resp = c.post(f"{a.dsp_url}/negotiations/{n.peer_pid}/request", a.did, msg2)
    assert resp.status_code == 404
    assert a.repo.negotiation(n.peer_pid).state == "OFFERED"


def test_state_machine_counter_offer_transitions() -> None:
    N, R = dsp.N, dsp.Role
    assert dsp.next_negotiation_state(N.REQUESTED, "ContractOfferMessage", R.PROVIDER) == N.OFFERED
    assert dsp.next_negotiation_state(N.OFFERED, "ContractRequestMessage", R.CONSUMER) == N.REQUESTED
    for state in (N.REQUESTED, N.ACCEPTED, N.AGREED, N.VERIFIED, N.FINALIZED, N.TERMINATED):
        with pytest.raises(ProtocolError, match="InvalidStateTransition|not allowed"):
            dsp.next_negotiation_state(state, "ContractRequestMessage", R.CONSUMER)
    for state in (N.OFFERED, N.ACCEPTED, N.AGREED, N.VERIFIED, N.FINALIZED, N.TERMINATED):
        with pytest.raises(ProtocolError):
            dsp.next_negotiation_state(state, "ContractOfferMessage", R.PROVIDER)
    with pytest.raises(ProtocolError, match="does not send"):  # only the provider offers
        dsp.next_negotiation_state(N.REQUESTED, "ContractOfferMessage", R.CONSUMER)


def test_narrowing_rule() -> None:
    offered = usage_policy()
    assert narrowing_problems(offered, offered) == []
    more = copy.deepcopy(offered)
    more["permission"][0]["constraint"][0]["and"].append(SHORTER)
    assert narrowing_problems(more, offered) == []
    # same constraints written flat instead of in one 'and' chain: the same conjunction
    flat = {"permission": [{"action": "use", "constraint": offered["permission"][0]["constraint"][0]["and"]}]}
    assert narrowing_problems(flat, offered) == []
    changed = copy.deepcopy(offered)
    changed["permission"][0]["constraint"][0]["and"][2]["rightOperand"] = ["cx.other:1"]
    assert any("UsagePurpose isAnyOf" in p for p in narrowing_problems(changed, offered))
    assert narrowing_problems({"permission": [{"action": "distribute"}]}, offered) == [
        "permission 1: action 'distribute' is not offered"]
    assert narrowing_problems({}, offered) == ["the counter-offer has no permission"]
    with_prohibition = {**offered, "prohibition": [{"action": "use", "constraint": [SHORTER]}]}
    assert narrowing_problems(offered, with_prohibition) == [
        "prohibition 1 ('use') of the offer is missing or changed"]
    with_duty = copy.deepcopy(offered)
    with_duty["permission"][0]["duty"] = [{"action": "compensate"}]
    assert narrowing_problems(with_duty, offered) == [
        "permission 1 ('use') changes ['duty'] of the offered permission; only constraints may be added"]
    assert narrowing_problems(offered, with_duty) == [
        "permission 1 ('use') changes ['duty'] of the offered permission; only constraints may be added"]
    assert narrowing_problems(with_duty, with_duty) == []
    ored = {"permission": [{"action": "use", "constraint": [{"or": offered["permission"][0]["constraint"][0]["and"]}]}]}
    assert narrowing_problems(ored, offered) == ["permission 1: only 'and' constraints can be compared with the offer"]


# ------------------------------------------------------------------------------------------- catalog filter
def _ids(cat: dict[str, Any]) -> set[str]:
    return {d["@id"] for d in cat.get("dataset", [])}


def test_catalog_filter_by_id_kind_keyword(space: dict[str, Any], sent: list[dict[str, Any]]) -> None:
    a, r, c = space["automaker"], space["recycler"], space["cellmaker"]
    everything = _ids(r.request_catalog(a.dsp_url))
    assert len(everything) >= 4
    assert _ids(r.request_catalog(a.dsp_url, filter=[{"id": DS}])) == {DS}
    assert _ids(r.request_catalog(a.dsp_url, filter=[{"@id": [DS, "urn:bl:doc:expired"]}])) == {DS, "urn:bl:doc:expired"}
    assert _ids(r.request_catalog(a.dsp_url, filter=[{"kind": "document"}])) == everything
    none = r.request_catalog(a.dsp_url, filter=[{"kind": "passport"}])
    assert "dataset" not in none and dsp_errors(none) == []
    assert _ids(r.request_catalog(a.dsp_url, filter=[{"keyword": "DISMANTL"}])) == {"urn:bl:doc:dismantling"}
    # all filter objects must match
    assert _ids(r.request_catalog(a.dsp_url, filter=[{"keyword": "doc"}, {"id": DS}])) == {DS}
    # a filter never shows what the access policy hides
    assert _ids(c.request_catalog(a.dsp_url, filter=[{"keyword": "dismantl"}])) == set()
    # the kind is published as a dcat:keyword, so a consumer knows what it can filter on
    ds = r.request_catalog(a.dsp_url, filter=[{"id": DS}])["dataset"][0]
    assert ds["dcat:keyword"] == ["document"]
    _all_valid(sent)


@pytest.mark.parametrize("flt, fragment", [
    ([{"spatial": "EU"}], "unsupported key 'spatial'"),
    (["urn:bl:doc:open"], "is not a non-empty object"),
    ([{}], "is not a non-empty object"),
    ([{"kind": 3}], "expected a text or a list of texts"),
    ([{"id": []}], "expected a text or a list of texts"),
])
def test_catalog_filter_refused(space: dict[str, Any], flt: list[Any], fragment: str) -> None:
    a, r = space["automaker"], space["recycler"]
    resp = r.post(f"{a.dsp_url}/catalog/request", a.did, dsp.msg("CatalogRequestMessage", filter=flt))
    body = resp.json()
    assert resp.status_code == 400 and body["@type"] == "CatalogError" and body["code"] == "InvalidFilter"
    assert fragment in body["reason"][0] and dsp_errors(body) == []


def test_catalog_filter_predicate() -> None:
    from batteryloop.exchange.config import DatasetConfig

    d = DatasetConfig(id="urn:x:1", title="Cell CFP", kind="ouranos_cfp", keywords=["NMC811"], usage_policy={})
    assert catalog_filter(None)(d) and catalog_filter([])(d)
    assert catalog_filter([{"keyword": "nmc"}])(d) and catalog_filter([{"keyword": "cfp"}])(d)
    assert not catalog_filter([{"keyword": "lfp"}])(d)
    assert catalog_filter([{"kind": ["passport", "ouranos_cfp"]}])(d)
    assert not catalog_filter([{"kind": "ouranos_cfp", "id": "urn:x:2"}])(d)
    with pytest.raises(ProtocolError, match="list of filter objects"):
        catalog_filter({"id": "urn:x:1"})


def test_dataset_endpoint_unchanged_by_filter(space: dict[str, Any]) -> None:
    a, r = space["automaker"], space["recycler"]
    got = httpx.get(f"{a.dsp_url}/catalog/datasets/{DS}", headers=r.auth_headers(a.did))
    assert got.status_code == 200 and got.json()["@id"] == DS and dsp_errors(got.json()) == []


# ------------------------------------------------------------------------------------------- CLI
def test_cli_filter_counter_accept(space: dict[str, Any], tmp_path: Any) -> None:
    """``node catalog --filter``, ``node negotiate --offer``, ``node counter``, ``node accept`` drive your node's
    management API, which speaks DSP to the provider."""
    import json

    from typer.testing import CliRunner

    from batteryloop.cli.node import app

    from .conftest import ADMIN

    a, r = space["automaker"], space["recycler"]
    run = CliRunner()
    me = ["--node", r.base_url, "--token", ADMIN]

    out = run.invoke(app, ["catalog", a.dsp_url, *me, "--filter", json.dumps([{"id": DS}])])
    assert out.exit_code == 0, out.output
    assert _ids(json.loads(out.stdout)) == {DS}
    bad = run.invoke(app, ["catalog", a.dsp_url, *me, "--filter", '[{"colour": "red"}]'])
    assert bad.exit_code == 2 and "unsupported key 'colour'" in bad.output

    wide = tmp_path / "wide.json"
    wide.write_text(json.dumps(_wider()))
    out = run.invoke(app, ["negotiate", a.dsp_url, DS, *me, "--offer", f"@{wide}"])
    n = json.loads(out.stdout)
    assert out.exit_code == 0 and n["state"] == "OFFERED"
    assert n["offer"]["permission"] == a.offer_of(a.datasets[DS])["permission"]  # the provider's terms, to decide on
    out = run.invoke(app, ["counter", n["pid"], *me, "--offer", json.dumps(_wider())])
    assert json.loads(out.stdout)["state"] == "OFFERED"
    out = run.invoke(app, ["accept", n["pid"], *me])
    done = json.loads(out.stdout)
    assert out.exit_code == 0 and done["state"] == "FINALIZED" and done["agreement_id"]
    again = run.invoke(app, ["counter", n["pid"], *me, "--offer", json.dumps(_narrower(a))])
    assert again.exit_code == 2 and "not allowed in state FINALIZED" in again.output
