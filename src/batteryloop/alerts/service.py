"""Alert use cases on the store: create rules, evaluate them, deliver and record, list what a caller may read.

Who may do what is the policy point's (:mod:`batteryloop.access`): ``alert.rule.manage`` — a participant its
own rules (the node admin any); ``alert.read`` — an alert about a pack to that pack's economic operator and
the authorities (and the node admin). A rule watches its owner's packs (those it is the economic operator
of); a rule of the node admin or of an authority watches every pack.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from ..access import Caller, Resource, authorize, decide, oversees
from ..errors import InvalidData, NotFound
from ..store import alerts as repo
from ..store.db import Store, utcnow_iso
from ..store.passports import current_passports
from .delivery import Outcome, PrivateTarget, email_message, post_webhook, public_addresses
from .rules import KINDS, PackFacts, RuleIn, outflow_firings, parse_rule, safety_firings, soh_firings

MAX_ROUNDS = 5  # delivery rounds (each with its retries) before an alert is left undelivered
MAX_RULES_PER_OWNER = 100  # a participant's rules (each stores its own alerts: storage grows with rules × packs)
DELIVERY_BUDGET_S = 20.0  # one evaluation delivers for at most this long; the rest wait for the next evaluation
MAX_DELIVERIES_PER_CALL = 500


def _owner(caller: Caller) -> str:
    return caller.participant_id or "admin"


class AlertService:
    def __init__(self, store: Store, *, trace: Any = None, base_url: str = "http://127.0.0.1:8000",
                 post: Callable[..., Outcome] = post_webhook, allow_private_targets: bool = False,
                 delivery_budget_s: float = DELIVERY_BUDGET_S) -> None:
        self.store = store
        self.delivery_budget_s = delivery_budget_s
        self.trace = trace
        self.base_url = base_url.rstrip("/")
        self.post = post
        # a participant's webhook must not make the node call its own network (loopback, private, link-local
        # addresses); a node whose receivers live there says so (BATTERYLOOP_ALERT_PRIVATE_WEBHOOKS=1)
        self.allow_private_targets = allow_private_targets

    # ------------------------------------------------------------------------------------------ rules
    def create_rule(self, caller: Caller, data: dict[str, Any] | RuleIn) -> dict[str, Any]:
        owner = _owner(caller)
        authorize(caller, "alert.rule.manage", Resource("alert_rule", participant=caller.participant_id))
        rule = data if isinstance(data, RuleIn) else parse_rule(data)
        if rule.channel == "webhook" and not self.allow_private_targets:
            refuse_private_target(rule.target)

        def write(conn: Any) -> int:
            have = len(repo.rules(conn, owner_id=owner))
            if have >= MAX_RULES_PER_OWNER:
                raise InvalidData(
                    f"rules: {owner} has {have} alert rules, the most a participant may keep "
                    f"({MAX_RULES_PER_OWNER}); widen an existing rule or deactivate one", [{
                        "field": "rules", "rule": "maximum", "value": have,
                        "message": f"rules: at most {MAX_RULES_PER_OWNER} a participant"}])
            return repo.insert_rule(conn, owner_id=owner, name=rule.name, kind=rule.kind, params=rule.params,
                                    channel=rule.channel, target=rule.target, secret=rule.secret,
                                    created_at=utcnow_iso())

        rid = self.store.run_write(write)
        return self.rule(caller, rid)

    def rule(self, caller: Caller, rule_id: int) -> dict[str, Any]:
        with self.store.read() as conn:
            r = repo.rule(conn, rule_id)
        if r is None or not self._may_manage(caller, r):
            raise NotFound(f"no alert rule {rule_id} of yours")
        return _public_rule(r)

    def rules(self, caller: Caller) -> list[dict[str, Any]]:
        with self.store.read() as conn:
            rows = repo.rules(conn, owner_id=None if caller.is_admin else _owner(caller))
        return [_public_rule(r) for r in rows if self._may_manage(caller, r)]

    @staticmethod
    def _may_manage(caller: Caller, r: dict[str, Any]) -> bool:
        owner = None if r["owner_id"] == "admin" else r["owner_id"]
        return bool(decide(caller, "alert.rule.manage", Resource("alert_rule", str(r["id"]), participant=owner)))

    # ------------------------------------------------------------------------------------- evaluation
    def evaluate(self, caller: Caller, *, rule_id: int | None = None, deliver: bool = True) -> dict[str, Any]:
        """Evaluate the caller's rules (the node admin: every rule) over the store; store each new firing once;
        deliver the undelivered. Returns counts per rule and the new alerts' ids."""
        t0 = time.perf_counter()
        with self.store.read() as conn:
            rules = [r for r in repo.rules(conn, active_only=True) if self._may_manage(caller, r)]
            packs = {r.id: PackFacts.from_passport(r.id, r.economic_operator_id, r.status, r.data)
                     for r in current_passports(conn)}
        if rule_id is not None:
            rules = [r for r in rules if r["id"] == rule_id]
            if not rules:
                raise NotFound(f"no active alert rule {rule_id} of yours")
        findings: list[dict[str, Any]] | None = None
        out: dict[str, Any] = {"rules": [], "new_alerts": [],
                               "deliveries": {"delivered": 0, "failed": 0, "stored": 0, "pending": 0}}
        budget = _Budget(time.monotonic() + self.delivery_budget_s, MAX_DELIVERIES_PER_CALL)
        for r in rules:
            wide = r["owner_id"] == "admin" or self._owner_oversees(r["owner_id"])  # every pack, else the owner's
            scope = list(packs.values()) if wide else [p for p in packs.values() if p.operator_id == r["owner_id"]]
            if r["kind"] == "outflow":
                if findings is None:
                    findings = self.trace.outflows(limit=None)["findings"] if self.trace is not None else []
                mine = findings if wide else \
                    [f for f in findings if (packs.get(str(f.get("pack"))) or _NOBODY).operator_id == r["owner_id"]]
                firings = outflow_firings(r["params"], mine, packs)
            elif r["kind"] == "soh_below":
                firings = soh_firings(r["params"], scope)
            else:
                firings = safety_firings(r["params"], scope)
            new = self.store.run_write(lambda conn, r=r, firings=firings: self._store(conn, r, firings))
            out["new_alerts"] += new
            out["rules"].append({"rule_id": r["id"], "name": r["name"], "kind": r["kind"], "findings": len(firings),
                                 "new_alerts": len(new)})
            if deliver:
                for status in self._deliver_pending(r, budget):
                    out["deliveries"][status] += 1
        out["duration_s"] = round(time.perf_counter() - t0, 3)
        return out

    def _owner_oversees(self, owner_id: str) -> bool:
        """Whether the rule's owner reads across the ledger (an authority): the policy point decides."""
        from ..participants import Role
        from ..store.participants import find_participant

        with self.store.read() as conn:
            p = find_participant(conn, owner_id)
        if p is None:
            return False
        return oversees(Caller(owner_id, frozenset(Role(x) for x in p["roles"])))

    @staticmethod
    def _store(conn: Any, r: dict[str, Any], firings: list[Any]) -> list[int]:
        known = repo.known_keys(conn, r["id"])
        now = utcnow_iso()
        new = []
        for f in firings:
            if f.dedupe_key in known:
                continue
            aid = repo.insert_alert(conn, rule_id=r["id"], dedupe_key=f.dedupe_key, kind=f.kind, pack_id=f.pack_id,
                                    operator_id=f.operator_id, model_id=f.model_id, title=f.title, message=f.message,
                                    data=f.data, created_at=now)
            if aid is not None:
                known.add(f.dedupe_key)
                new.append(aid)
        return new

    def _deliver_pending(self, r: dict[str, Any], budget: _Budget | None = None) -> list[str]:
        """Deliver the rule's undelivered alerts, within ``budget`` (time and count for the whole evaluation):
        what is left, and the rest of a webhook's alerts once one failed in this evaluation (its receiver is down:
        each further try would wait out the timeouts again), stays undelivered, counted ``pending``, for the next
        evaluation."""
        with self.store.read() as conn:
            ids = repo.undelivered(conn, r["id"], MAX_ROUNDS)
            pending = [repo.alert(conn, i) for i in ids]
        statuses = []
        host = urlsplit(self.base_url).hostname or "localhost"
        down = False
        for a in pending:
            if a is None:
                continue
            if down or (budget is not None and not budget.take()):
                statuses.append("pending")
                continue
            payload = self.payload(r, a)
            if r["channel"] == "webhook":
                res = self._post(r, payload)
            else:
                msg = email_message(payload, to=r["target"], sender=f"batteryloop alerts <alerts@{host}>", domain=host)
                res = Outcome("stored", 1, message=msg.as_string())
            self.store.run_write(lambda conn, a=a, res=res: repo.insert_delivery(
                conn, alert_id=a["id"], channel=r["channel"], target=r["target"], status=res.status,
                attempts=res.attempts, response_status=res.response_status, error=res.error, message=res.message,
                created_at=utcnow_iso()))
            statuses.append(res.status)
            down = r["channel"] == "webhook" and res.status == "failed"
        return statuses

    def _post(self, r: dict[str, Any], payload: dict[str, Any]) -> Outcome:
        """Deliver to the rule's webhook; unless private targets are allowed, only to an address checked public
        now (the name is resolved again at each delivery and the connection goes to the address checked)."""
        if self.allow_private_targets:
            return self.post(r["target"], r["secret"] or "", payload)
        u = urlsplit(r["target"])
        try:
            addr = public_addresses(u.hostname or "", u.port)[0]
        except (ValueError, OSError) as exc:  # a private address (PrivateTarget), a bad port, no such name
            return Outcome("failed", 0, error=f"not sent: {exc}"[:300])
        return self.post(r["target"], r["secret"] or "", payload, connect_to=addr)

    def payload(self, r: dict[str, Any], a: dict[str, Any]) -> dict[str, Any]:
        return {"alert": {k: a[k] for k in ("id", "kind", "pack_id", "operator_id", "model_id", "title", "message",
                                            "data", "created_at", "dedupe_key")},
                "rule": {"id": r["id"], "name": r["name"], "kind": r["kind"], "owner_id": r["owner_id"]},
                "pack_url": f"{self.base_url}/p/{a['pack_id']}", "node": self.base_url}

    # ------------------------------------------------------------------------------------------ reading
    def alerts(self, caller: Caller, *, pack_id: str | None = None, model_id: str | None = None,
               kind: str | None = None, year: int | None = None, limit: int = 200) -> list[dict[str, Any]]:
        """The alerts the caller may read (about its own packs; every pack for authorities and the admin),
        fired in ``year`` (UTC) when given, newest first, each with its deliveries (an e-mail's message included). A delivery of a rule the caller
        does not manage (an authority's or the node admin's rule about the caller's pack) shows its outcome but
        not where it went: target, message and error are None (a webhook URL can carry its receiver's token)."""
        if caller.anonymous:
            authorize(caller, "alert.read", Resource("alert"))
        if kind is not None and kind not in KINDS:
            from ..errors import InvalidData

            raise InvalidData(f"kind {kind!r} is not an alert kind ({', '.join(KINDS)})",
                              [{"field": "kind", "message": "unknown alert kind", "value": kind}])
        every = bool(decide(caller, "alert.read", Resource("alert", operator=None)))  # holds without a relation
        with self.store.read() as conn:
            rows = repo.list_alerts(conn, operator_id=caller.participant_id, all_operators=every, pack_id=pack_id,
                                    model_id=model_id, kind=kind, year=year,
                                    limit=max(1, min(limit, 1000)))
            dl = repo.deliveries(conn, [a["id"] for a in rows])
            rules = {r["id"]: r for r in repo.rules(conn)}
        out = []
        for a in rows:
            if not decide(caller, "alert.read", Resource("alert", str(a["id"]), operator=a["operator_id"])):
                continue
            ds = dl.get(a["id"], [])
            if not self._may_manage(caller, rules[a["rule_id"]]):  # another's rule: its receiver is not shown
                ds = [{**d, **dict.fromkeys(_RULE_OWNERS_ONLY)} for d in ds]
            out.append({**a, "deliveries": ds})
        return out


_NOBODY = PackFacts("", None, None, None)
#: what a delivery shows only to those who manage its rule
_RULE_OWNERS_ONLY = ("target", "message", "error")


class _Budget:
    """What one evaluation may still deliver: until ``deadline`` (monotonic seconds) and ``left`` deliveries."""

    def __init__(self, deadline: float, left: int) -> None:
        self.deadline, self.left = deadline, left

    def take(self) -> bool:
        if self.left <= 0 or time.monotonic() >= self.deadline:
            return False
        self.left -= 1
        return True


def refuse_private_target(url: str) -> None:
    """InvalidData when the webhook URL names this machine or a private network: ``localhost`` names, and any
    name or address literal that resolves to a non-public address (:func:`.delivery.public_addresses`). A name
    that does not resolve now is accepted: each delivery checks again before it connects."""
    import socket

    from ..errors import InvalidData

    u = urlsplit(url)
    host = (u.hostname or "").rstrip(".").lower()
    try:
        if host == "localhost" or host.endswith(".localhost"):
            raise PrivateTarget(f"{host} is this node's own or a private network")
        public_addresses(host, u.port)
    except PrivateTarget as exc:
        raise InvalidData(f"target: {exc}; webhooks go to public receivers "
                          "(a node whose receivers are private sets BATTERYLOOP_ALERT_PRIVATE_WEBHOOKS=1)",
                          [{"field": "target", "message": "private or loopback host", "value": url[:200]}]) from None
    except (socket.gaierror, UnicodeError, ValueError):
        pass


def _public_rule(r: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in r.items() if k != "secret"} | {"secret_set": bool(r.get("secret"))}
