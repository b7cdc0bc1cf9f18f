"""Alerts on a crafted store: each rule kind fires on the pack it should and on no other, once per finding (a
second evaluation stores nothing new), a webhook reaches a local receiver that checks the HMAC-SHA256 signature
with its own copy of the secret (hashlib/hmac, not our signing code), a forged signature is refused, a failing
receiver is retried and the outcome recorded, an e-mail is a parseable RFC 5322 message, and an operator reads
only the alerts about its own packs (the policy point's ``alert.read``)."""

from __future__ import annotations

import copy
import datetime as dt
import email
import email.policy
import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest

from batteryloop.access import Caller
from batteryloop.alerts import SIGNATURE_HEADER, post_webhook, signature, verify
from batteryloop.alerts.delivery import Outcome, PrivateTarget, public_addresses
from batteryloop.errors import InvalidData, Unauthorized
from batteryloop.participants import Role
from batteryloop.sim import pilot
from batteryloop.sim import supply_chain as sim
from batteryloop.sim.supply_chain import all_participants, demo_signers
from batteryloop.store.db import Store
from batteryloop.trace.client import ChainWriter
from batteryloop.trace.ledger import Ledger
from tests.conftest import make_services

SECRET = "receiver-shared-secret-0123456789"
ADMIN = Caller(is_admin=True)
T0 = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)


def _t(days: float, ms: float = 0) -> str:
    return (T0 + dt.timedelta(days=days, milliseconds=ms)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


# ------------------------------------------------------------------------------------ a local receiver
class Receiver:
    """A webhook receiver on loopback: checks the signature itself (its own HMAC over "<t>.<body>") and answers
    204 when it holds, 401 when not; ``fail_first`` answers 503 to that many requests first."""

    def __init__(self, secret: str, fail_first: int = 0) -> None:
        self.secret = secret
        self.fail_first = fail_first
        self.received: list[dict[str, Any]] = []
        outer = self

        class H(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers["Content-Length"]))
                header = self.headers.get(SIGNATURE_HEADER, "")
                parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
                mac = hmac.new(outer.secret.encode(), parts.get("t", "").encode() + b"." + body, hashlib.sha256).hexdigest()
                ok = hmac.compare_digest(mac, parts.get("v1", ""))
                outer.received.append({"body": body, "header": header, "valid": ok, "host": self.headers.get("Host")})
                if outer.fail_first > 0:
                    outer.fail_first -= 1
                    code = 503
                else:
                    code = 204 if ok else 401
                self.send_response(code)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *a: Any) -> None:
                pass

        self.server = HTTPServer(("127.0.0.1", 0), H)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver(SECRET)
    yield r
    r.close()


# ------------------------------------------------------------------------------------ the crafted store
def _record(i: int, soh: float, **usage: Any) -> dict[str, Any]:
    rec = copy.deepcopy(list(pilot.generate_batteries(i + 1, seed=5, today=dt.date(2026, 3, 1)))[i])
    rec["state_of_health"].update(soh_capacity_pct=soh, self_discharge_pct_per_month=1.5,
                                  ohmic_resistance_increase_pct=5.0)
    rec["usage"].update({"deep_discharge_events": 0, "max_operating_temperature_c": 40.0, **usage})
    return rec


@pytest.fixture(scope="module")
def crafted(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Four packs: the automaker's LOW (SoH 61 %), OK (SoH 92 %) and BAD (8 deep discharges: a blocking safety
    flag), and the BaaS operator's OTHER (SoH 55 %); a ledger in which LOW is installed in Korea and, a
    millisecond later, in the Netherlands with no shipment record (an outflow finding)."""
    path = tmp_path_factory.mktemp("alerts") / "alerts.db"
    store = Store(f"sqlite:///{path}")
    store.upgrade()
    s = make_services(store)
    signers = demo_signers()
    for p in all_participants():
        s.participants.create({**p, "public_key": signers[p["id"]].public_key_text if p["id"] in signers else None})
    callers = {p["id"]: Caller(p["id"], frozenset(Role(r) for r in p["roles"])) for p in all_participants()}
    em = callers[pilot.AUTOMAKER]
    for m in pilot.battery_models():
        s.passports.create_model(m, em)
    ids = {}
    for name, rec in (("LOW", _record(0, 61.0)), ("OK", _record(1, 92.0)), ("BAD", _record(2, 90.0, deep_discharge_events=8))):
        ids[name] = s.passports.create_passport(rec, em)["passport_id"]
    other = {**_record(3, 55.0), "economic_operator_id": pilot.BAAS}
    ids["OTHER"] = s.passports.create_passport(other, callers[pilot.BAAS])["passport_id"]
    low = ids["LOW"]
    events = [
        {"id": "ore", "kind": "extraction", "actor": sim.MINE_CL, "occurred_at": _t(0), "place": {"country": "CL", "site": "mine"},
         "outputs": [{"lot": "ore-1", "kind": "ore", "mass_kg": 1000, "elements_kg": {"Li": 10},
                      "origin": {"type": "primary", "country": "CL", "site": "mine"}}]},
        {"id": "made", "kind": "pack_assembly", "actor": pilot.AUTOMAKER, "occurred_at": _t(1), "place": {"country": "KR", "site": "plant"},
         "inputs": [{"lot": "ore-1", "mass_kg": 10}], "outputs": [{"lot": low, "kind": "pack", "mass_kg": 10}]},
        {"id": "inst-kr", "kind": "installation", "actor": pilot.AUTOMAKER, "occurred_at": _t(2), "place": {"country": "KR", "site": "s"},
         "subjects": [low], "data": {"vehicle_id": "KMH0000000000001"}},
        {"id": "inst-nl", "kind": "installation", "actor": pilot.AUTOMAKER, "occurred_at": _t(2, ms=1), "place": {"country": "NL", "site": "s"},
         "subjects": [low], "data": {"vehicle_id": "KMH0000000000001"}},
    ]
    ledger = Ledger(store)
    w = ChainWriter(signers, heads=ledger.heads([low, "ore-1"]))  # the passport's issue is on the ledger already
    rep = ledger.ingest([w.wire(e) for e in events])
    assert rep.ok, rep.error
    store.dispose()
    return {"path": path, "ids": ids, "callers": callers}


@pytest.fixture
def world(crafted: dict[str, Any], tmp_path: Any) -> Iterator[dict[str, Any]]:
    """A copy of the crafted store for one test (built once: a copy takes milliseconds)."""
    import shutil

    for suffix in ("", "-wal", "-shm"):  # the write-ahead log too, if a connection left one
        src = crafted["path"].with_name(crafted["path"].name + suffix)
        if src.exists():
            shutil.copy(src, tmp_path / f"alerts.db{suffix}")
    store = Store(f"sqlite:///{tmp_path}/alerts.db")
    s = make_services(store)
    s.alerts.allow_private_targets = True  # the test receivers listen on loopback
    yield {"s": s, "ids": crafted["ids"], "callers": crafted["callers"], "store": store}
    store.dispose()


def _no_sleep(_: float) -> None:
    pass


# ------------------------------------------------------------------------------------ the tests
def test_soh_rule_fires_once_per_pack_and_the_email_is_rfc5322(world: dict[str, Any]) -> None:
    s, ids, em = world["s"], world["ids"], world["callers"][pilot.AUTOMAKER]
    rule = s.alerts.create_rule(em, {"name": "weak packs", "kind": "soh_below", "params": {"threshold_pct": 70},
                                     "channel": "email", "target": "fleet@euromotors.example"})
    assert rule["secret_set"] is False and "secret" not in rule
    first = s.alerts.evaluate(em)
    # the automaker's rule watches its own packs: LOW (61 %) fires; OTHER (55 %) is the BaaS operator's
    assert first["rules"] == [{"rule_id": rule["id"], "name": "weak packs", "kind": "soh_below", "findings": 1,
                               "new_alerts": 1}]
    assert first["deliveries"] == {"delivered": 0, "failed": 0, "stored": 1, "pending": 0}
    again = s.alerts.evaluate(em)
    assert again["new_alerts"] == [] and again["deliveries"] == {"delivered": 0, "failed": 0, "stored": 0, "pending": 0}
    [a] = s.alerts.alerts(em)
    assert a["pack_id"] == ids["LOW"] and a["kind"] == "soh_below" and a["data"]["soh_capacity_pct"] == 61.0
    [d] = a["deliveries"]
    assert d["status"] == "stored"
    msg = email.message_from_string(d["message"], policy=email.policy.default)
    assert msg["To"] == "fleet@euromotors.example"
    assert msg["Subject"].startswith("[batteryloop alert] ") and ids["LOW"] in msg["Subject"]
    assert msg["Message-ID"].startswith("<") and msg["Date"]
    attached = [p for p in msg.iter_attachments() if p.get_content_type() == "application/json"]
    assert json.loads(attached[0].get_content())["alert"]["pack_id"] == ids["LOW"]


def test_safety_flag_webhook_is_signed_and_verified_by_the_receiver(world: dict[str, Any], receiver: Receiver) -> None:
    s, ids, em = world["s"], world["ids"], world["callers"][pilot.AUTOMAKER]
    s.alerts.post = lambda url, secret, payload: post_webhook(url, secret, payload, sleep=_no_sleep)
    s.alerts.create_rule(em, {"name": "unsafe", "kind": "safety_flag", "params": {"blocking_only": True},
                              "channel": "webhook", "target": receiver.url, "secret": SECRET})
    out = s.alerts.evaluate(em)
    assert out["deliveries"]["delivered"] == 1
    [got] = receiver.received
    assert got["valid"]
    payload = json.loads(got["body"])
    assert payload["alert"]["pack_id"] == ids["BAD"] and payload["alert"]["data"]["code"] == "deep_discharge"
    assert payload["alert"]["data"]["blocking"] is True
    [a] = s.alerts.alerts(em, kind="safety_flag")
    assert [(d["status"], d["attempts"], d["response_status"]) for d in a["deliveries"]] == [("delivered", 1, 204)]
    assert s.alerts.evaluate(em)["new_alerts"] == [] and len(receiver.received) == 1  # no duplicate, no re-send


def test_a_forged_signature_is_refused(receiver: Receiver) -> None:
    payload = {"alert": {"id": 1, "title": "t"}}
    forged = post_webhook(receiver.url, "not-the-receivers-secret-123", payload, attempts=2, sleep=_no_sleep)
    assert forged.status == "failed" and forged.attempts == 2 and forged.response_status == 401
    assert [r["valid"] for r in receiver.received] == [False, False]
    body = b'{"alert":{"id":1}}'
    now = 1_800_000_000
    good = signature(SECRET, body, now)
    assert verify(SECRET, body, good, now=now)
    assert not verify(SECRET, body.replace(b"1", b"2"), good, now=now)  # the body changed
    assert not verify("another-secret-entirely-0000", body, good, now=now)  # another key
    assert not verify(SECRET, body, good, now=now + 301)  # replayed after the tolerance
    assert not verify(SECRET, body, None) and not verify(SECRET, body, "v1=abc", now=now)


def test_a_failing_receiver_is_retried_and_the_outcome_recorded(world: dict[str, Any]) -> None:
    s, em = world["s"], world["callers"][pilot.AUTOMAKER]
    r = Receiver(SECRET, fail_first=2)
    try:
        s.alerts.post = lambda url, secret, payload: post_webhook(url, secret, payload, attempts=3, timeout_s=2, sleep=_no_sleep)
        s.alerts.create_rule(em, {"name": "weak", "kind": "soh_below", "params": {"threshold_pct": 70},
                                  "channel": "webhook", "target": r.url, "secret": SECRET})
        s.alerts.evaluate(em)
        [a] = s.alerts.alerts(em)
        assert [(d["status"], d["attempts"], d["response_status"]) for d in a["deliveries"]] == [("delivered", 3, 204)]
        assert len(r.received) == 3 and all(x["valid"] for x in r.received)
    finally:
        r.close()
    # a receiver that is gone: the round fails, is recorded, and is tried again on the next evaluation
    s.alerts.create_rule(em, {"name": "down", "kind": "soh_below", "params": {"threshold_pct": 70},
                              "channel": "webhook", "target": r.url, "secret": SECRET})
    s.alerts.evaluate(em)
    s.alerts.evaluate(em)
    down = [a for a in s.alerts.alerts(em) if a["deliveries"] and a["deliveries"][0]["status"] == "failed"]
    assert len(down) == 1 and [d["status"] for d in down[0]["deliveries"]] == ["failed", "failed"]
    assert down[0]["deliveries"][0]["error"] and down[0]["deliveries"][0]["attempts"] == 3


def test_one_evaluation_stops_delivering_to_a_receiver_that_is_down(world: dict[str, Any]) -> None:
    """Review finding: deliveries ran one after another inside the request, each waiting out its retries and
    timeouts (≈ 16.5 s an alert), so a rule firing on many packs to a dead receiver held a worker for hours. Once a
    webhook fails in an evaluation its other alerts wait, counted pending, for the next evaluation; they are not
    marked failed (no delivery round is spent on them)."""
    s = world["s"]
    calls: list[str] = []

    def dead(url: str, secret: str, payload: dict[str, Any], **_: Any) -> Outcome:
        calls.append(payload["alert"]["pack_id"])
        return Outcome("failed", 3, error="timed out")

    s.alerts.post = dead
    s.alerts.create_rule(ADMIN, {"name": "every pack", "kind": "soh_below", "params": {"threshold_pct": 100},
                                 "channel": "webhook", "target": "https://down.example/h", "secret": SECRET})
    out = s.alerts.evaluate(ADMIN)
    n = len(out["new_alerts"])
    assert n >= 2, "the rule fires on several packs"
    assert len(calls) == 1 and out["deliveries"] == {"delivered": 0, "failed": 1, "stored": 0, "pending": n - 1}
    again = s.alerts.evaluate(ADMIN)  # the next evaluation tries again, once
    assert len(calls) == 2 and again["deliveries"]["failed"] == 1 and again["deliveries"]["pending"] == n - 1
    tried = [a for a in s.alerts.alerts(ADMIN) if a["deliveries"]]
    assert len(tried) <= 2 and all(d["status"] == "failed" for a in tried for d in a["deliveries"])


def test_an_evaluation_delivers_within_its_time_budget(world: dict[str, Any]) -> None:
    s = world["s"]
    s.alerts.delivery_budget_s = 0.0  # spent before the first delivery: everything waits
    s.alerts.post = lambda *a, **k: pytest.fail("no delivery after the budget is spent")
    s.alerts.create_rule(ADMIN, {"name": "every pack", "kind": "soh_below", "params": {"threshold_pct": 100},
                                 "channel": "webhook", "target": "https://ops.example/h", "secret": SECRET})
    out = s.alerts.evaluate(ADMIN)
    assert out["deliveries"]["pending"] == len(out["new_alerts"]) >= 2


def test_a_participant_keeps_a_bounded_number_of_rules(world: dict[str, Any], monkeypatch: Any) -> None:
    from batteryloop.alerts import service

    s, em = world["s"], world["callers"][pilot.AUTOMAKER]
    monkeypatch.setattr(service, "MAX_RULES_PER_OWNER", 2)
    rule = {"name": "r", "kind": "soh_below", "params": {"threshold_pct": 70}, "channel": "email", "target": "a@b.example"}
    s.alerts.create_rule(em, rule)
    s.alerts.create_rule(em, rule)
    with pytest.raises(InvalidData) as e:
        s.alerts.create_rule(em, rule)
    assert e.value.errors[0]["field"] == "rules" and "at most 2" in e.value.errors[0]["message"]
    assert len(s.alerts.rules(em)) == 2
    s.alerts.create_rule(world["callers"][pilot.BAAS], rule)  # another participant's count is its own


def test_outflow_rule_fires_on_the_ledger_finding(world: dict[str, Any]) -> None:
    s, ids, em = world["s"], world["ids"], world["callers"][pilot.AUTOMAKER]
    s.alerts.create_rule(em, {"name": "moves", "kind": "outflow", "params": {"kinds": ["impossible_move"]},
                              "channel": "email", "target": "compliance@euromotors.example"})
    s.alerts.evaluate(em)
    [a] = s.alerts.alerts(em, kind="outflow")
    assert a["pack_id"] == ids["LOW"] and a["data"]["kind"] == "impossible_move" and a["data"]["event_id"] == "inst-nl"
    assert a["operator_id"] == pilot.AUTOMAKER
    assert s.alerts.evaluate(em)["new_alerts"] == []


def test_an_operator_reads_only_its_own_packs_alerts(world: dict[str, Any]) -> None:
    s, ids, c = world["s"], world["ids"], world["callers"]
    s.alerts.create_rule(ADMIN, {"name": "all weak", "kind": "soh_below", "params": {"threshold_pct": 70},
                                 "channel": "email", "target": "node@example.org"})
    out = s.alerts.evaluate(ADMIN)
    assert out["rules"][0]["findings"] == 2  # the admin's rule watches every pack: LOW and OTHER
    assert {a["pack_id"] for a in s.alerts.alerts(ADMIN)} == {ids["LOW"], ids["OTHER"]}
    assert {a["pack_id"] for a in s.alerts.alerts(c[pilot.AUTOMAKER])} == {ids["LOW"]}
    assert {a["pack_id"] for a in s.alerts.alerts(c[pilot.BAAS])} == {ids["OTHER"]}
    assert {a["pack_id"] for a in s.alerts.alerts(c[pilot.AUTHORITY])} == {ids["LOW"], ids["OTHER"]}
    assert s.alerts.alerts(c[pilot.RECYCLER_EU]) == []
    with pytest.raises(Unauthorized):
        s.alerts.alerts(Caller())
    # a participant's rules are its own: the BaaS operator neither sees nor evaluates the admin's rule
    assert s.alerts.rules(c[pilot.BAAS]) == []
    assert s.alerts.evaluate(c[pilot.BAAS])["rules"] == []


@pytest.mark.parametrize(("rule", "field"), [
    ({"kind": "soh_below", "params": {}, "channel": "email", "target": "a@b.example"}, "params.threshold_pct"),
    ({"kind": "soh_below", "params": {"threshold_pct": 140}, "channel": "email", "target": "a@b.example"},
     "params.threshold_pct"),
    # a code grading never raises: the rule would be stored and never fire (review finding)
    ({"kind": "safety_flag", "params": {"codes": ["NOT_A_CODE"]}, "channel": "email", "target": "a@b.example"},
     "params.codes"),
    ({"kind": "outflow", "params": {"kinds": ["teleported"]}, "channel": "email", "target": "a@b.example"}, "params.kinds"),
    ({"kind": "soh_below", "params": {"threshold_pct": 70}, "channel": "webhook", "target": "ftp://x.example/h",
      "secret": SECRET}, "target"),
    ({"kind": "soh_below", "params": {"threshold_pct": 70}, "channel": "webhook", "target": "https://x.example/h",
      "secret": "short"}, "secret"),
    ({"kind": "soh_below", "params": {"threshold_pct": 70}, "channel": "email", "target": "not an address"}, "target"),
    ({"kind": "weather", "params": {}, "channel": "email", "target": "a@b.example"}, "kind"),
])
def test_a_bad_rule_is_refused_naming_the_field(world: dict[str, Any], rule: dict[str, Any], field: str) -> None:
    s, em = world["s"], world["callers"][pilot.AUTOMAKER]
    with pytest.raises(InvalidData) as e:
        s.alerts.create_rule(em, {"name": "r", **rule})
    # the error names the field itself (review finding: the record-level checks said "(record)")
    assert e.value.errors[0]["field"] == field and e.value.errors[0]["message"].startswith(f"{field}: ")
    assert field in str(e.value.detail)
    assert s.alerts.rules(em) == []  # nothing half-written


def test_every_code_grading_raises_is_a_code_a_rule_may_name() -> None:
    """SAFETY_FLAG_CODES is the list the rules are checked against: every SafetyFlag(code=…) grading builds
    is in it, and every code in it is built somewhere."""
    import ast
    from pathlib import Path

    from batteryloop.health import grading

    tree = ast.parse(Path(grading.__file__).read_text())
    built = {kw.value.value for n in ast.walk(tree) if isinstance(n, ast.Call) and getattr(n.func, "id", "") == "SafetyFlag"
             for kw in n.keywords if kw.arg == "code" and isinstance(kw.value, ast.Constant)}
    assert built == set(grading.SAFETY_FLAG_CODES)


def test_api_and_cli(world: dict[str, Any], tmp_path: Any) -> None:
    from fastapi.testclient import TestClient
    from typer.testing import CliRunner

    from batteryloop.cli import app as cli_app
    from batteryloop.server import create_app

    s, ids = world["s"], world["ids"]
    tok_em = s.participants.issue_token(pilot.AUTOMAKER, "t")
    tok_baas = s.participants.issue_token(pilot.BAAS, "t")
    with TestClient(create_app(services=s)) as http:
        h = {"Authorization": f"Bearer {tok_em}"}
        r = http.post("/api/v1/alerts/rules", headers=h, json={"name": "weak", "kind": "soh_below",
                      "params": {"threshold_pct": 70}, "channel": "email", "target": "fleet@euromotors.example"})
        assert r.status_code == 201, r.text
        assert r.json()["owner_id"] == pilot.AUTOMAKER and "secret" not in r.json()
        bad = http.post("/api/v1/alerts/rules", headers=h, json={"name": "x", "kind": "soh_below", "params": {},
                        "channel": "email", "target": "a@b.example"})
        assert bad.status_code == 422 and "threshold_pct" in bad.text
        assert http.get("/api/v1/alerts").status_code == 401
        # the CLI evaluates as the node admin, every rule (the same store)
        env = {"BATTERYLOOP_DATABASE_URL": world["store"].url, "BATTERYLOOP_VAR_DIR": str(tmp_path)}
        res = CliRunner().invoke(cli_app, ["alerts", "evaluate"], env=env)
        assert res.exit_code == 0, res.output
        assert json.loads(res.stdout)["rules"][0]["new_alerts"] == 1
        items = http.get("/api/v1/alerts", headers=h).json()["items"]
        assert [a["pack_id"] for a in items] == [ids["LOW"]]
        assert http.get("/api/v1/alerts", headers={"Authorization": f"Bearer {tok_baas}"}).json()["items"] == []
        page = http.get("/alerts", cookies={"batteryloop_token": tok_em})
        assert page.status_code == 200 and ids["LOW"] in page.text and 'id="alerts-table"' in page.text
        assert "e-mail stored for fleet@euromotors.example" in page.text
        assert ids["LOW"] not in http.get("/alerts", cookies={"batteryloop_token": tok_baas}).text
        assert 'id="alerts-signin"' in http.get("/alerts", cookies={}).text


def test_a_webhook_to_the_nodes_own_network_is_refused(world: dict[str, Any]) -> None:
    s, em = world["s"], world["callers"][pilot.AUTOMAKER]
    s.alerts.allow_private_targets = False  # the default
    for url in ("http://127.0.0.1:8000/api/v1/participants", "http://localhost/x", "http://10.1.2.3/h",
                "http://[::1]/h", "http://169.254.169.254/latest/meta-data"):
        with pytest.raises(InvalidData, match="private network"):
            s.alerts.create_rule(em, {"name": "r", "kind": "soh_below", "params": {"threshold_pct": 70},
                                      "channel": "webhook", "target": url, "secret": SECRET})
    assert s.alerts.rules(em) == []
    ok = s.alerts.create_rule(em, {"name": "r", "kind": "soh_below", "params": {"threshold_pct": 70},
                                   "channel": "webhook", "target": "https://ops.example.com/h", "secret": SECRET})
    assert ok["target"] == "https://ops.example.com/h"



@pytest.mark.parametrize("url", [
    "http://127.1/h", "http://2130706433/h", "http://0x7f000001:8000/h", "http://0/h",  # 127.0.0.1, 0.0.0.0
    "http://localhost./h", "http://[::ffff:7f00:1]/h", "http://100.64.0.1/h", "http://224.0.0.1/h",
    # IPv6 transition addresses that carry a private IPv4 end (review finding: accepted before): NAT64 of
    # 127.0.0.1 and of 10.0.0.1, 6to4 of 127.0.0.1, IPv4-compatible ::127.0.0.1, Teredo, local-use NAT64
    "http://[64:ff9b::7f00:1]/h", "http://[64:ff9b::a00:1]/h", "http://[2002:7f00:1::]/h", "http://[::127.0.0.1]/h",
    "http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/h", "http://[64:ff9b:1::808:808]/h",
])
def test_a_private_address_in_another_spelling_is_refused(world: dict[str, Any], url: str) -> None:
    """The resolver reads 127.1, 2130706433 and 0x7f000001 as 127.0.0.1 (and httpx connects there): the check
    judges the address a target reaches, not how its literal is spelled."""
    s, em = world["s"], world["callers"][pilot.AUTOMAKER]
    s.alerts.allow_private_targets = False
    with pytest.raises(InvalidData, match="private network"):
        s.alerts.create_rule(em, {"name": "r", "kind": "soh_below", "params": {"threshold_pct": 70},
                                  "channel": "webhook", "target": url, "secret": SECRET})
    assert s.alerts.rules(em) == []


def test_a_transition_address_with_a_public_ipv4_end_is_judged_by_that_end() -> None:
    """NAT64 and 6to4 addresses reach the IPv4 address inside them: a public one is accepted and named as the
    address reached."""
    assert public_addresses("64:ff9b::808:808") == ["8.8.8.8"]
    assert public_addresses("2002:808:808::1") == ["8.8.8.8"]
    with pytest.raises(PrivateTarget, match="it reaches 10.0.0.1"):
        public_addresses("64:ff9b::a00:1")


def test_a_name_that_resolves_to_a_private_address_is_refused_at_creation_and_at_delivery(
        world: dict[str, Any], receiver: Receiver) -> None:
    import socket

    s, em = world["s"], world["callers"][pilot.AUTOMAKER]
    with pytest.raises(PrivateTarget):
        public_addresses("localhost")
    # this machine's own name (in /etc/hosts) resolves to one of its addresses
    try:
        own = socket.getaddrinfo(socket.gethostname(), None)[0][4][0]
    except OSError:
        own = None
    if own is not None:
        s.alerts.allow_private_targets = False
        with pytest.raises(InvalidData, match="private network"):
            s.alerts.create_rule(em, {"name": "r", "kind": "soh_below", "params": {"threshold_pct": 70},
                                      "channel": "webhook", "target": f"http://{socket.gethostname()}:9/h",
                                      "secret": SECRET})
    # a rule whose target became private after it was made (a node that allowed it then, a name re-pointed):
    # each delivery checks again and sends nothing
    s.alerts.allow_private_targets = True
    s.alerts.create_rule(em, {"name": "weak", "kind": "soh_below", "params": {"threshold_pct": 70},
                              "channel": "webhook", "target": receiver.url, "secret": SECRET})
    s.alerts.allow_private_targets = False
    out = s.alerts.evaluate(em)
    assert out["deliveries"] == {"delivered": 0, "failed": 1, "stored": 0, "pending": 0}
    [a] = s.alerts.alerts(em)
    [d] = a["deliveries"]
    assert (d["status"], d["attempts"], d["response_status"]) == ("failed", 0, None)
    assert d["error"].startswith("not sent: 127.0.0.1 is 127.0.0.1") and receiver.received == []


def test_a_delivery_connects_to_the_checked_address_and_follows_no_redirect(receiver: Receiver) -> None:
    """``connect_to`` pins the connection (no second name lookup to re-point) while the request still names
    the host; the receiver's own HMAC and :func:`verify` agree on the signature."""
    port = receiver.server.server_address[1]
    out = post_webhook(f"http://hooks.invalid:{port}/hook", SECRET, {"alert": {"id": 7}}, attempts=1,
                       connect_to="127.0.0.1")
    assert (out.status, out.response_status) == ("delivered", 204)
    [got] = receiver.received
    assert got["valid"] and got["host"] == f"hooks.invalid:{port}"
    t = got["header"].split(",")[0].removeprefix("t=")
    ours = hmac.new(SECRET.encode(), t.encode() + b"." + got["body"], hashlib.sha256).hexdigest()
    assert verify(SECRET, got["body"], f"t={t},v1={ours}", now=int(t))

    class Redirect(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            self.send_response(307)
            self.send_header("Location", receiver.url)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *a: Any) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Redirect)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        moved = post_webhook(f"http://127.0.0.1:{server.server_address[1]}/h", SECRET, {"alert": {"id": 8}},
                             attempts=1)
    finally:
        server.shutdown()
        server.server_close()
    assert (moved.status, moved.response_status) == ("failed", 307) and len(receiver.received) == 1


def test_another_participants_rule_shows_its_outcome_but_not_its_receiver(world: dict[str, Any],
                                                                           receiver: Receiver) -> None:
    """An authority's webhook rule fires on the automaker's pack: the automaker reads the alert and that it was
    delivered, not the authority's receiver URL (a webhook URL can carry its receiver's token) nor the answer."""
    s, ids, c = world["s"], world["ids"], world["callers"]
    s.alerts.post = lambda url, secret, payload: post_webhook(url, secret, payload, attempts=1, sleep=_no_sleep)
    url = receiver.url + "/T000/B000/receiver-token"
    s.alerts.create_rule(c[pilot.AUTHORITY], {"name": "watch", "kind": "soh_below", "params": {"threshold_pct": 70},
                                              "channel": "webhook", "target": url, "secret": SECRET})
    s.alerts.evaluate(c[pilot.AUTHORITY])
    [mine] = [a for a in s.alerts.alerts(c[pilot.AUTOMAKER]) if a["pack_id"] == ids["LOW"]]
    [d] = mine["deliveries"]
    assert (d["status"], d["attempts"], d["response_status"]) == ("delivered", 1, 204)
    assert (d["target"], d["message"], d["error"]) == (None, None, None)
    assert "receiver-token" not in json.dumps(s.alerts.alerts(c[pilot.AUTOMAKER]))
    [theirs] = [a for a in s.alerts.alerts(c[pilot.AUTHORITY]) if a["pack_id"] == ids["LOW"]]
    assert theirs["deliveries"][0]["target"] == url
    from batteryloop.web.alerts_pages import _delivery_text

    assert _delivery_text(mine["deliveries"]) == "delivered to the rule owner's receiver (1 attempt, HTTP 204)"


# ------------------------------------------------------------------------------------ concurrent firings
def test_two_transactions_firing_the_same_finding_store_it_once_and_neither_fails(store: Store) -> None:
    """Two evaluations racing on one finding: the first transaction inserts and holds its row uncommitted while
    the second inserts the same (rule, dedupe key). The second must wait, then get None (already fired) with its
    transaction still usable — a select-then-insert would see no row and then hit the unique index (an
    integrity error that aborts the whole evaluation on PostgreSQL)."""
    from batteryloop.store import alerts as repo

    store.upgrade()
    with store.write() as conn:
        rule_id = repo.insert_rule(conn, owner_id="op", name="r", kind="soh_below", params={}, channel="email",
                                   target="ops@example.org", secret=None, created_at=_t(0))
    fields = dict(rule_id=rule_id, dedupe_key="PACK-1:soh", kind="soh_below", pack_id="PACK-1", operator_id="op",
                  model_id=None, title="t", message="m", data={"soh": 0.7}, created_at=_t(1))
    second: dict[str, Any] = {}
    first_inserted = threading.Event()
    release_first = threading.Event()

    def first() -> None:
        with store.write() as conn:
            second["first_id"] = repo.insert_alert(conn, **fields)
            first_inserted.set()
            release_first.wait(10)

    def racer() -> None:
        first_inserted.wait(10)
        try:
            with store.write() as conn:
                second["id"] = repo.insert_alert(conn, **fields)
                # the transaction is still usable after the no-op insert
                second["other"] = repo.insert_alert(conn, **{**fields, "dedupe_key": "PACK-2:soh", "pack_id": "PACK-2"})
        except Exception as exc:  # noqa: BLE001 - the test reports what went wrong
            second["error"] = exc

    a, b = threading.Thread(target=first), threading.Thread(target=racer)
    a.start()
    b.start()
    first_inserted.wait(10)
    b.join(0.5)  # the racer blocks on the first's uncommitted row (PostgreSQL) or on the write lock (SQLite)
    release_first.set()
    a.join(20)
    b.join(20)
    assert "error" not in second, second.get("error")
    assert isinstance(second["first_id"], int) and second["id"] is None and isinstance(second["other"], int)
    with store.read() as conn:
        stored = repo.list_alerts(conn, all_operators=True)
    assert sorted(a["pack_id"] for a in stored) == ["PACK-1", "PACK-2"]


def test_the_year_filter_is_applied_before_the_limit(sqlite_store: Store) -> None:
    """A year's alerts are found even when more recent alerts alone fill the limit (the page used to take the
    newest 500 and then keep that year's, showing none)."""
    from batteryloop.store import alerts as repo

    with sqlite_store.write() as conn:
        rule_id = repo.insert_rule(conn, owner_id="op", name="r", kind="soh_below", params={}, channel="email",
                                   target="ops@example.org", secret=None, created_at=_t(0))
        base = dict(rule_id=rule_id, kind="soh_below", operator_id="op", model_id=None, title="t", message="m",
                    data={})
        repo.insert_alert(conn, **base, dedupe_key="old", pack_id="OLD", created_at="2026-12-31T23:59:59.999999Z")
        for i in range(5):
            repo.insert_alert(conn, **base, dedupe_key=f"new{i}", pack_id=f"NEW{i}", created_at=_t(400 + i))
    with sqlite_store.read() as conn:
        assert [a["pack_id"] for a in repo.list_alerts(conn, operator_id="op", year=2026, limit=3)] == ["OLD"]
        assert len(repo.list_alerts(conn, operator_id="op", year=2027, limit=3)) == 3
        assert repo.list_alerts(conn, operator_id="op", year=2025) == []
